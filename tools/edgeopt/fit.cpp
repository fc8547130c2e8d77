// edgeopt fit MODEL --device PROFILE --calib SPEC --eval SPEC [--train SPEC] [--max-latency MS]
//             [--latency-stat p50|p95] [--max-ram MB] [--max-size MB] [--max-energy MJ]
//             [--max-drop PP] [--objective accuracy|latency|size|energy] [--budget MINUTES]
//             [--threads N] [--seed N] -o OUT_DIR [--package DIR [--runtime DIR]]
// Searches the candidates of include/edgeopt/fit.h, measures them, and writes the pick, the
// frontier models and the report to OUT_DIR (docs/fit.md). Exit 0 when a model fits, 3 when none
// does (the report is still written), 2 for bad input. OUT_DIR is written by run_fit_to_folder
// (src/search/fit_folder.cpp, shared with the Python module); what stays here is the benchmark
// in a fresh process, and `--package`, which hands the pick to `edgeopt package` (the original
// model as its fallback).
#include "edgeopt/fit.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "binaries.h"
#include "command.h"
#include "edgeopt/device.h"
#include "edgeopt/error.h"
#include "edgeopt/package.h"
#include "edgeopt/recipe.h"
#include "edgeopt/report_json.h"
#ifdef EDGEOPT_TRAIN_BINARY
#include "edgeopt/fit_workers.h"
#endif

namespace edgeopt::cli {
namespace {

namespace fs = std::filesystem;

struct FitArgs {
  std::string model, device, calib, eval, train, out, package, runtime, workers;
  std::string latency_stat = "p50", objective = "latency";
  std::optional<double> max_latency, max_ram, max_size, max_energy;
  double max_drop = 1;
  double budget = 0;
  int threads = 1, bench_rounds = 3, bench_runs = 50;
  uint64_t seed = 0;
  int64_t eval_limit = 0, calib_samples = 1000;
};

// `edgeopt bench --json --profile` of one model in a fresh process of the lean edgeopt, so its
// peak RSS is its own and libtorch is never in it.
BenchResult bench_in_child(const fs::path& model, int runs, int warmup, int threads) {
  const std::string out =
      run_capture(lean_binary(),
                  {"bench", model.string(), "--json", "--profile", "--runs", std::to_string(runs),
                   "--warmup", std::to_string(warmup), "--threads", std::to_string(threads)});
  BenchResult r;
  try {
    r = bench_from_json(nlohmann::json::parse(out));
    r.model = model.string();
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::kInternal, "bench of ", model.string(), " printed unexpected JSON: ", e.what());
  }
  return r;
}

// `--package DIR`: the pick as a bundle for the same device, the original model as its fallback,
// with what fit applied and measured as the checklist's evidence.
void package_pick(const FitArgs& a, const FitOutput& r) {
  const nlohmann::json& report = r.report;
  const std::string pick = report.at("pick").get<std::string>();
  nlohmann::json c;
  for (const auto& candidate : report.at("candidates"))
    if (candidate.at("name") == pick) c = candidate;
  PackageOptions o;
  o.model = r.dir / "model.onnx";
  o.fallback = a.model;
  o.device = a.device;
  o.out = a.package;
  o.runtime_dir = a.runtime.empty() ? runtime_library_dir(a.device) : fs::path(a.runtime);
  o.bench_runs = a.bench_runs;
  std::string steps;
  for (const auto& step : c.at("steps"))
    steps += (steps.empty() ? "" : " -> ") + step.at("name").get<std::string>();
  o.optimized_evidence =
      "fit picked " + pick + " (steps " + steps + "; " + (r.dir / "report.md").string() + ")";
  // A fresh process, as fit's own benchmarks: the peak RSS is the model's, not fit's.
  o.bench = [](const fs::path& m, int runs) { return bench_in_child(m, runs, 5, 1); };
  char top1[160];
  std::snprintf(top1, sizeof top1, "top-1 %.2f%% against the original's %.2f%% on %lld samples of ",
                100 * c.at("top1").get<double>(), 100 * report.at("baseline_top1").get<double>(),
                static_cast<long long>(c.at("eval_count").get<int64_t>()));
  o.accuracy_evidence = top1 + report.at("eval").at("spec").get<std::string>() + " (fit)";
  const PackageReport p = write_package(o);
  std::cout << "packaged " << p.dir.string() << " (CHECKLIST.md, manifest.json)\n";
}

int run_fit_command(const FitArgs& a) {
  // Fine-tuning candidates and workers need the training backend (libtorch, c10d): hand the
  // command over to edgeopt-train.
  if ((!a.train.empty() || !a.workers.empty()) && !StepRegistry::global().find("finetune")) {
    if (const auto train = train_binary()) {
      exec_with_saved_argv(*train);
      fail(ErrorKind::kInternal, "cannot start ", train->string());
    }
    fail_input(
        "fit: --train and --workers need the training backend (edgeopt-train), not "
        "built here");
  }
  FitOptions o;
  o.device = load_device_profile(a.device);
  if (!a.package.empty())  // before the search, not after it
    check_package_target(a.package, a.device,
                         a.runtime.empty() ? runtime_library_dir(a.device) : fs::path(a.runtime));
  o.limits.max_latency_ms = a.max_latency;
  o.limits.latency_p95 = a.latency_stat == "p95";
  o.limits.max_ram_mb = a.max_ram;
  o.limits.max_size_mb = a.max_size;
  o.limits.max_energy_mj = a.max_energy;
  o.limits.max_drop_pp = a.max_drop;
  o.objective = parse_fit_objective(a.objective);
  o.calib_spec = a.calib;
  o.eval_spec = a.eval;
  o.train_spec = a.train;
  o.eval_limit = a.eval_limit;
  o.calib_samples = a.calib_samples;
  o.budget_minutes = a.budget;
  o.threads = a.threads;
  o.seed = a.seed;
  o.bench_rounds = a.bench_rounds;
  o.bench_runs = a.bench_runs;
  o.bench = [&a](const fs::path& m, int runs, int warmup) {
    return bench_in_child(m, runs, warmup, a.threads);
  };
  o.log = [](const std::string& line) { std::cerr << "fit: " << line << "\n"; };
#ifdef EDGEOPT_TRAIN_BINARY
  // As long as the ranks of a data-parallel job, EDGEOPT_JOIN_TIMEOUT seconds (default 60).
  if (!a.workers.empty()) {
    const char* t = std::getenv("EDGEOPT_JOIN_TIMEOUT");
    const int timeout = t && std::atoi(t) > 0 ? std::atoi(t) : 60;
    o.workers = train::serve_fit_workers(a.workers, timeout, o.log);
  }
#endif
  const FitOutput r = run_fit_to_folder(a.model, a.out, std::move(o));

  std::cout << r.markdown << "\nwrote " << r.dir.string() << "/report.html, report.md, report.json"
            << (r.fits() ? ", model.onnx" : "") << "\n";
  if (r.fits()) {
    if (!a.package.empty()) package_pick(a, r);
    return 0;
  }
  if (!a.package.empty()) std::cerr << "fit: nothing to package\n";
  std::cerr << "fit: no candidate fits every limit\n";
  for (const auto& line : r.report.at("misses"))
    std::cerr << "fit: " << line.get<std::string>() << "\n";
  return 3;
}

CommandRegistrar reg(
    25, "fit", "Find the best model that fits a device's limits: the measured Pareto frontier",
    [](CLI::App& sub) {
      auto a = std::make_shared<FitArgs>();
      sub.add_option("model", a->model, "ONNX model")->required()->check(CLI::ExistingFile);
      sub.add_option("--device", a->device,
                     "Device profile: a bundled name (host, raspberry-pi-4, ...) or a JSON file")
          ->required();
      sub.add_option("--calib", a->calib, "Calibration data SPEC (quantized candidates)")
          ->required();
      sub.add_option("--eval", a->eval, "Labelled evaluation data SPEC")->required();
      if (StepRegistry::global().find("finetune") || train_binary()) {
        sub.add_option("--train", a->train, "Training data SPEC: fine-tuned candidates too");
        sub.add_option("--workers", a->workers,
                       "tcp://HOST:PORT: serve the builds and evaluations to `edgeopt fit-worker "
                       "tcp://HOST:PORT` processes (benchmarks stay here)");
      }
      sub.add_option("-o,--output", a->out, "Output folder")->required();
      sub.add_option("--package", a->package,
                     "Also write the pick as a deployable bundle for the device into this folder "
                     "(edgeopt package, the model as its fallback)");
      sub.add_option("--runtime", a->runtime,
                     "With --package: folder of libedgeopt_rt.so built for the device's "
                     "architecture");
      sub.add_option("--max-latency", a->max_latency, "Latency limit on the device, ms")
          ->check(CLI::PositiveNumber);
      sub.add_option("--latency-stat", a->latency_stat, "Latency statistic the limit applies to")
          ->check(CLI::IsMember({"p50", "p95"}));
      sub.add_option("--max-ram", a->max_ram, "Peak RAM limit on the device, MB")
          ->check(CLI::PositiveNumber);
      sub.add_option("--max-size", a->max_size, "Model file size limit, MB")
          ->check(CLI::PositiveNumber);
      sub.add_option("--max-energy", a->max_energy, "Energy per inference limit, mJ")
          ->check(CLI::PositiveNumber);
      sub.add_option("--max-drop", a->max_drop,
                     "Top-1 accuracy the pick may lose against the model, percentage points")
          ->check(CLI::NonNegativeNumber)
          ->capture_default_str();
      sub.add_option("--objective", a->objective, "What the pick is best at among those that fit")
          ->check(CLI::IsMember({"accuracy", "latency", "size", "energy"}))
          ->capture_default_str();
      sub.add_option("--budget", a->budget, "Wall-time bound of the search, minutes")
          ->check(CLI::PositiveNumber);
      sub.add_option("--threads", a->threads, "Threads the model runs with")
          ->check(CLI::PositiveNumber);
      sub.add_option("--seed", a->seed, "Seed of the steps that draw random numbers");
      sub.add_option("--eval-limit", a->eval_limit, "Evaluate on the first N samples only")
          ->check(CLI::NonNegativeNumber);
      sub.add_option("--calib-samples", a->calib_samples, "Calibration samples")
          ->check(CLI::PositiveNumber)
          ->capture_default_str();
      sub.add_option("--bench-rounds", a->bench_rounds,
                     "Interleaved benchmark rounds of the confirmed candidates (median)")
          ->check(CLI::PositiveNumber)
          ->capture_default_str();
      sub.add_option("--bench-runs", a->bench_runs, "Measured runs per benchmark")
          ->check(CLI::PositiveNumber)
          ->capture_default_str();
      return [a] { return run_fit_command(*a); };
    });

}  // namespace
}  // namespace edgeopt::cli
