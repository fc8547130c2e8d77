// Per-test files and model queries the tests share.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "edgeopt/ir.h"

namespace edgeopt::test {

// An empty scratch folder for the running test: under the system's temporary folder, named
// after `prefix`, the process and the test, so that ctest's parallel processes and the tests of
// one process never share one. The caller removes it (TearDown).
std::filesystem::path test_scratch_dir(const std::string& prefix);

// The scale of every per-tensor QuantizeLinear of `m`, by the name of the tensor it quantizes.
std::map<std::string, float> quantize_scales(const Model& m);

}  // namespace edgeopt::test
