// edgeopt package MODEL --device PROFILE -o DIR [--fallback MODEL2] [--runtime DIR]
//                       [--shape NAME:DIMS]... [--bench-runs N] [--json]
#include "edgeopt/package.h"

#include <iostream>
#include <memory>

#include "binaries.h"
#include "cli_checks.h"
#include "command.h"
#include "edgeopt/device.h"
#include "shape_option.h"

namespace edgeopt::cli {
namespace {

namespace fs = std::filesystem;

struct PackageArgs {
  PackageOptions options;
  std::string model, fallback, out, runtime;
  std::vector<std::string> shapes;
  double memory_limit_mb = 0;  // MB = 10^6 bytes, as fit's --max-ram
  bool json = false;
};

int run_package(PackageArgs& a) {
  PackageOptions& o = a.options;
  o.model = a.model;
  o.fallback = a.fallback;
  o.out = a.out;
  o.memory_limit_bytes = static_cast<int64_t>(a.memory_limit_mb * 1e6);
  o.runtime_dir = a.runtime.empty() ? runtime_library_dir(o.device) : fs::path(a.runtime);
  for (const std::string& s : a.shapes) o.shapes.push_back(parse_input_shape(s));
  const PackageReport r = write_package(o);
  if (a.json) {
    std::cout << r.manifest.dump(2) << "\n";
    return 0;
  }
  for (const std::string& line : r.checklist) std::cout << line << "\n";
  std::cout << "wrote " << r.dir.string() << " (CHECKLIST.md, manifest.json)\n";
  return 0;
}

CommandRegistrar reg(
    90, "package",
    "A deployable bundle for a device: model(s), runtime library, C API, example app, checklist",
    [](CLI::App& sub) {
      auto a = std::make_shared<PackageArgs>();
      sub.add_option("model", a->model, "ONNX model")->required();
      sub.add_option("--device", a->options.device,
                     "Device profile: a bundled name (host, raspberry-pi-4, ...) or a JSON file")
          ->required();
      sub.add_option("-o,--output", a->out, "Output folder (must not exist or be empty)")
          ->required();
      sub.add_option("--fallback", a->fallback,
                     "A second model the app switches to when the first fails to load or its "
                     "self-check");
      sub.add_option("--runtime", a->runtime,
                     "Folder of libedgeopt_rt.so built for the device's architecture (arm64: "
                     "default build-arm64 beside the build folder; `make runtime-arm64`)");
      sub.add_option("--memory-limit", a->memory_limit_mb,
                     "Memory (MB) the model may use, weights + activations, before the example "
                     "falls back (default: the device profile's RAM)")
          ->check(CLI::PositiveNumber);
      add_shape_option(sub, a->shapes);
      sub.add_option("--bench-runs", a->options.bench_runs, "Measured runs of the host benchmark")
          ->check(edgeopt::cli::whole(1, 100000))
          ->capture_default_str();
      sub.add_flag("--json", a->json, "Print manifest.json");
      return [=] { return run_package(*a); };
    });

}  // namespace
}  // namespace edgeopt::cli
