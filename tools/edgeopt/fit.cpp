// edgeopt fit MODEL --device PROFILE --calib SPEC --eval SPEC [--train SPEC] [--max-latency MS]
//             [--latency-stat p50|p95] [--max-ram MB] [--max-size MB] [--max-energy MJ]
//             [--max-drop PP] [--objective accuracy|latency|size|energy] [--budget MINUTES]
//             [--threads N] [--seed N] -o OUT_DIR
// Searches the candidates of include/edgeopt/fit.h, measures them, and writes the pick, the
// frontier models and the report to OUT_DIR (docs/fit.md). Exit 0 when a model fits, 3 when none
// does (the report is still written), 2 for bad input.
//
// OUT_DIR is written as a whole: everything goes to a temporary folder beside it, renamed into
// place at the end. An existing OUT_DIR is replaced only when it is empty or the output of an
// earlier fit (its report.json says so); anything else is refused, so a typo never deletes a
// user's folder.
#include "edgeopt/fit.h"

#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "binaries.h"
#include "command.h"
#include "edgeopt/device.h"
#include "edgeopt/error.h"
#include "edgeopt/fileio.h"
#include "edgeopt/fit_report.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/recipe.h"

namespace edgeopt::cli {
namespace {

namespace fs = std::filesystem;

struct FitArgs {
  std::string model, device, calib, eval, train, out;
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
    const nlohmann::json j = nlohmann::json::parse(out);
    r.model = model.string();
    r.latency.runs = j.at("runs").get<int64_t>();
    r.latency.mean_ms = j.at("mean_ms").get<double>();
    r.latency.min_ms = j.at("min_ms").get<double>();
    r.latency.max_ms = j.at("max_ms").get<double>();
    r.latency.p50_ms = j.at("p50_ms").get<double>();
    r.latency.p90_ms = j.at("p90_ms").get<double>();
    r.latency.p95_ms = j.at("p95_ms").get<double>();
    r.latency.p99_ms = j.at("p99_ms").get<double>();
    r.load_ms = j.at("load_ms").get<double>();
    r.first_ms = j.at("first_ms").get<double>();
    r.throughput_ips = j.at("throughput_ips").get<double>();
    r.peak_rss_bytes = j.at("peak_rss_bytes").get<int64_t>();
    r.arena_bytes = j.at("arena_bytes").get<int64_t>();
    r.weight_bytes = j.at("weight_bytes").get<int64_t>();
    r.file_bytes = j.at("file_bytes").get<int64_t>();
    for (const auto& n : j.at("profile"))
      r.profile.push_back({n.at("node").get<std::string>(), n.at("op").get<std::string>(),
                           n.at("provider").get<std::string>(), n.at("total_ms").get<double>(),
                           n.at("calls").get<int64_t>()});
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::kInternal, "bench of ", model.string(), " printed unexpected JSON: ", e.what());
  }
  return r;
}

// True when `dir` is empty or holds what an earlier `edgeopt fit` wrote.
bool replaceable(const fs::path& dir) {
  if (fs::is_empty(dir)) return true;
  const fs::path report = dir / "report.json";
  if (!fs::is_regular_file(report)) return false;
  try {
    return nlohmann::json::parse(read_file(report)).contains("edgeopt_fit");
  } catch (const std::exception&) {
    return false;
  }
}

void check_output_dir(const fs::path& out, const fs::path& model) {
  if (fs::exists(out)) {
    if (!fs::is_directory(out)) fail_input("fit: ", out.string(), " exists and is not a folder");
    if (!replaceable(out))
      fail_input("fit: ", out.string(),
                 " is not empty and not the output of an earlier edgeopt fit: give a new folder");
  }
  const fs::path m = fs::weakly_canonical(model), o = fs::weakly_canonical(out);
  for (fs::path p = m.parent_path(); !p.empty(); p = p.parent_path()) {
    if (p == o)
      fail_input("fit: the model ", model.string(), " is inside the output folder ", out.string());
    if (p == p.parent_path()) break;
  }
}

// Removes a folder on scope exit unless released.
struct TempDir {
  fs::path path;
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

std::string stem(const std::string& name) {
  std::string s;
  for (char c : name) s += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  return s;
}

// Moves the finished folder `tmp` to `out`, replacing an earlier fit output.
void commit_output(const fs::path& tmp, const fs::path& out) {
  fs::path old;
  if (fs::exists(out)) {
    old =
        out.parent_path() / ("." + out.filename().string() + ".old-" + std::to_string(::getpid()));
    fs::rename(out, old);
  }
  fs::rename(tmp, out);
  std::error_code ec;
  if (!old.empty()) fs::remove_all(old, ec);
}

int run_fit_command(const FitArgs& a) {
  // Fine-tuning candidates need the training backend: hand the command over to edgeopt-train.
  if (!a.train.empty() && !StepRegistry::global().find("finetune")) {
    if (const auto train = train_binary()) {
      exec_with_saved_argv(*train);
      fail(ErrorKind::kInternal, "cannot start ", train->string());
    }
    fail_input("fit: --train needs the training backend (edgeopt-train), not built here");
  }
  fs::path out = fs::path(a.out).lexically_normal();
  if (out.filename().empty() && out.has_parent_path()) out = out.parent_path();  // "out/"
  if (out.filename().empty() || out.filename() == "." || out.filename() == "..")
    fail_input("fit: -o needs a folder name, got '", a.out, "'");
  check_output_dir(out, a.model);

  FitOptions o;
  o.device = load_device_profile(a.device);
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
  const Model model = load_model(a.model);

  fs::create_directories(fs::absolute(out).parent_path());
  TempDir tmp{out.parent_path() /
              ("." + out.filename().string() + ".tmp-" + std::to_string(::getpid()))};
  fs::remove_all(tmp.path);
  fs::create_directories(tmp.path / "work");
  fs::create_directories(tmp.path / "candidates");
  o.work_dir = tmp.path / "work";

  const FitResult r = run_fit(model, o);
  nlohmann::json report = fit_report_json(r, o, a.model);
  // Where each frontier model is, relative to OUT_DIR.
  for (auto& c : report["candidates"])
    if (c["on_frontier"].get<bool>()) c["file"] = "candidates/" + stem(c["name"]) + ".onnx";
  const std::string md = fit_report_markdown(report);
  write_file_atomic(tmp.path / "report.json", report.dump(2) + "\n");
  write_file_atomic(tmp.path / "report.md", md);
  write_file_atomic(tmp.path / "report.html", fit_report_html(report));
  for (const auto& [name, file] : r.files) {
    bool frontier = false;
    for (const FitCandidate& c : r.candidates)
      if (c.name == name) frontier = c.on_frontier;
    if (frontier) fs::copy_file(file, tmp.path / "candidates" / (stem(name) + ".onnx"));
  }
  if (r.pick) {
    const FitCandidate& p = r.candidates[*r.pick];
    for (const auto& [name, file] : r.files)
      if (name == p.name) fs::copy_file(file, tmp.path / "model.onnx");
    write_file_atomic(tmp.path / "recipe.json", report.at("pick_recipe").dump(2) + "\n");
  }
  fs::remove_all(tmp.path / "work");
  commit_output(tmp.path, out);
  tmp.path.clear();

  std::cout << md << "\nwrote " << out.string() << "/report.html, report.md, report.json"
            << (r.pick ? ", model.onnx" : "") << "\n";
  if (r.pick) return 0;
  std::cerr << "fit: no candidate fits every limit\n";
  for (const auto& line : report.at("misses"))
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
      if (StepRegistry::global().find("finetune") || train_binary())
        sub.add_option("--train", a->train, "Training data SPEC: fine-tuned candidates too");
      sub.add_option("-o,--output", a->out, "Output folder")->required();
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
