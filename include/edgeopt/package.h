// Deployable bundles (`edgeopt package`, docs/package.md): a model, optionally a fallback
// model, the runtime library for the device's architecture with the libraries it needs, the C
// API header, an example app that builds against the bundle alone, CHECKLIST.md (the deployment
// checklist with measured evidence) and manifest.json (versions, checksums, figures).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace edgeopt {

struct PackageOptions {
  std::filesystem::path model;
  std::filesystem::path fallback;  // optional
  std::string device;              // a bundled profile name or a profile .json
  std::filesystem::path out;       // must not exist, or be an empty folder
  // The folder holding libedgeopt_rt.so built for the device's architecture.
  std::filesystem::path runtime_dir;
  int bench_runs = 20;  // measured runs of the host benchmark
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

}  // namespace edgeopt
