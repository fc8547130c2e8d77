// Deployable bundles (`edgeopt package`, docs/package.md): a model, optionally a fallback
// model, the runtime library for the device's architecture with the libraries it needs, the C
// API header, an example app that builds against the bundle alone, CHECKLIST.md (the deployment
// checklist with measured evidence) and manifest.json (versions, checksums, figures).
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "edgeopt/bench.h"
#include "edgeopt/device.h"

namespace edgeopt {

struct PackageOptions {
  std::filesystem::path model;
  std::filesystem::path fallback;  // optional
  std::string device;              // a bundled profile name or a profile .json
  std::filesystem::path out;       // must not exist, or be an empty folder
  // The folder holding libedgeopt_rt.so built for the device's architecture.
  std::filesystem::path runtime_dir;
  int bench_runs = 20;  // measured runs of the host benchmark
  // The memory the app may use for the model (its weights and activations, as the runtime counts
  // them): the example falls back when the first model needs more. 0: the profile's RAM.
  int64_t memory_limit_bytes = 0;
  // Open input dims fixed (`--shape NAME:DIMS`); the bundle then holds the model with them.
  std::vector<InputShape> shapes;
  // What was applied to the model and how its accuracy was checked, when the caller knows (`fit
  // --package` passes its pick's steps and top-1 on its evaluation data). Empty: the checklist
  // shows the model's own figures, and "not done" for accuracy.
  std::string optimized_evidence;
  std::string accuracy_evidence;
  // Benchmarks the model (runs measured runs, per-node profile, 1 thread) for the checklist's
  // host figures. Empty: bench_model in this process (whose peak RSS then counts everything the
  // process holds; `fit` passes a fresh `edgeopt bench` process).
  std::function<BenchResult(const std::filesystem::path& model, int runs)> bench;
};

struct PackageReport {
  std::filesystem::path dir;
  nlohmann::json manifest;
  std::vector<std::string> checklist;  // one line per item, "done: ..." or "not done: ..."
};

// Writes the bundle into a temporary folder beside `out` and renames it into place when every
// step passed (the example built and ran). Throws Error: invalid input (unknown profile, a model
// that does not load, an existing non-empty `out`, no runtime library for the architecture),
// unsupported (an op the device's providers lack, a missing tool), internal (the example failed).
PackageReport write_package(const PackageOptions& options);

// Throws Error (invalid input) unless `out` can receive a bundle: it does not exist (in an
// existing folder) or is an empty folder.
void check_package_output(const std::filesystem::path& out);
// That, the profile (known, of an architecture edgeopt builds for) and the runtime library in
// `runtime_dir` (there, built for it); returns the profile. write_package checks this first; a
// caller with long work before (fit --package) checks it before that work too.
DeviceProfile check_package_target(const std::filesystem::path& out, const std::string& device,
                                   const std::filesystem::path& runtime_dir);

}  // namespace edgeopt
