// `edgeopt fit`: a device's limits in, the Pareto frontier measured, the best model that fits
// out (docs/fit.md).
//
// The search builds candidates with the recipe steps (include/edgeopt/recipe.h): graph passes,
// static int8 (per-channel and per-tensor, every calibration method, CLE and bias correction,
// the most sensitive layers kept in fp32), fp16, dynamic int8, structured pruning at several
// ratios, unstructured sparsity, low-rank, and with training data fine-tuning after pruning.
// Each candidate is a chain of steps from the input model, so its `steps` replay as a recipe.
// Successive halving: every candidate is measured cheaply first (accuracy on a validation subset,
// one short benchmark); only those that can still be on the frontier get the full eval set and
// the benchmark rounds.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "edgeopt/bench.h"
#include "edgeopt/device.h"
#include "edgeopt/ir.h"

namespace edgeopt {

enum class FitObjective { kAccuracy, kLatency, kSize, kEnergy };
// "accuracy" | "latency" | "size" | "energy"; throws Error (invalid input) otherwise.
FitObjective parse_fit_objective(const std::string& name);
const char* fit_objective_name(FitObjective o);

// Limits a candidate must meet; an absent one does not constrain. RAM and size also meet the
// device's own RAM and storage (see effective_limits).
struct FitLimits {
  std::optional<double> max_latency_ms;  // on the device, of latency_stat
  bool latency_p95 = false;              // false: p50
  std::optional<double> max_ram_mb;      // peak RAM on the device (MB = 10^6 bytes)
  std::optional<double> max_size_mb;     // the model file
  std::optional<double> max_energy_mj;   // per inference on the device
  std::optional<double> max_drop_pp;     // top-1 lost against the baseline, percentage points
};

// The user's limits tightened by the device's RAM and storage (when the profile gives them).
FitLimits effective_limits(const FitLimits& limits, const DeviceProfile& device);

// One evaluated candidate: a row of report.json.
struct FitCandidate {
  std::string name;
  nlohmann::json steps = nlohmann::json::array();  // recipe steps from the input model
  int64_t size_bytes = 0, deflated_bytes = 0, params = 0, macs = 0;
  double top1 = 0, agreement = 1;
  int64_t eval_count = 0;
  double host_p50_ms = 0, host_p95_ms = 0, host_peak_ram_mb = 0;
  double device_p50_ms = 0, device_p95_ms = 0, device_peak_ram_mb = 0, energy_mj = 0;
  // Spread of the host p50 over the benchmark rounds, relative to their median: (max − min) /
  // median; 0 with one round.
  double latency_noise = 0;
  // "confirmed": full eval set and benchmark rounds; "subset": cut after the validation subset
  // (dominated there); "budget": cut by --budget before being confirmed.
  std::string stage = "confirmed";
  std::string cut_reason;  // why a candidate was not confirmed
  bool fits = false;
  bool on_frontier = false;
  nlohmann::json provenance = nlohmann::json::object();  // figure → "measured" | "estimated"
  nlohmann::json basis = nlohmann::json::object();       // figure → what it rests on

  double device_ms(bool p95) const { return p95 ? device_p95_ms : device_p50_ms; }
};

// A dominates B: at least as good in accuracy (top1 ↑), device latency, size, device RAM and
// energy (↓), and strictly better in one of them.
bool dominates(const FitCandidate& a, const FitCandidate& b, bool latency_p95);
// Sets on_frontier of every confirmed candidate (non-dominated among the confirmed ones);
// candidates not confirmed are never on the frontier.
void mark_frontier(std::vector<FitCandidate>& candidates, bool latency_p95);

// What `c` misses of each limit: one entry per limit it does not meet.
struct LimitMiss {
  std::string limit;  // "--max-latency"
  double value = 0;   // the candidate's figure
  double bound = 0;   // the limit
  std::string unit;   // "ms", "MB", "mJ", "pp"
  double excess() const { return value - bound; }
};
std::vector<LimitMiss> limit_misses(const FitCandidate& c, const FitLimits& limits,
                                    double baseline_top1);
// Sets fits of every candidate (confirmed ones only can fit).
void mark_fits(std::vector<FitCandidate>& candidates, const FitLimits& limits,
               double baseline_top1);

// The pick among the candidates that fit (index), or none. accuracy: highest top-1, then the
// fastest; latency: the fastest, latencies within 5% (or within the latency_noise of either
// candidate, when larger) counting as a tie decided by top-1 then size (a measured latency
// varies from run to run); size: smallest file, then top-1; energy: least energy (same tie),
// then top-1. Remaining ties go to the earlier candidate.
std::optional<size_t> pick_candidate(const std::vector<FitCandidate>& candidates,
                                     FitObjective objective, bool latency_p95);

// When nothing fits: the candidate closest to fitting (least sum of relative excesses over the
// limits it misses; confirmed candidates only) and one line per limit it misses, each saying by
// how much and which candidate comes closest to that limit alone.
std::optional<size_t> closest_candidate(const std::vector<FitCandidate>& candidates,
                                        const FitLimits& limits, double baseline_top1);
std::vector<std::string> closest_miss_lines(const std::vector<FitCandidate>& candidates,
                                            const FitLimits& limits, double baseline_top1);

// A candidate to build: a recipe step applied to the model of `parent` ("" = the input model).
struct FitPlanEntry {
  std::string name;
  std::string parent;
  nlohmann::json step;  // {"op": ..., options...}
};

struct FitPlanOptions {
  bool train = false;  // fine-tuning candidates (needs the "finetune" step)
  // The input model's file: the teacher of the distilled candidates (empty: none).
  std::string teacher;
  uint64_t seed = 0;  // for the steps that draw random numbers (fine-tuning)
  int64_t calib_samples = 1000;
  // Node names of the most quantization-sensitive layers, worst first (empty: no mixed
  // precision candidates).
  std::vector<std::string> sensitive_layers;
};
// The candidates in build order (a parent before its children).
std::vector<FitPlanEntry> fit_plan(const FitPlanOptions& options);

// ---- fit across workers (fit --workers, edgeopt fit-worker) --------------------------------
// The share of the search that runs on workers: building a candidate from its parent with its
// recipe step, inspecting it and evaluating it on the first `limit` eval samples; and the full
// evaluation of a built candidate. The benchmarks stay with the coordinator, so that every
// latency is measured on one host. A task and its result are JSON; models travel as ONNX bytes.
//   {"kind": "build", "name", "parent" ("" = the input model), "step", "limit"} →
//       {"size_bytes", "deflated_bytes", "params", "macs", "top1", "agreement", "eval_count"}
//       and the model's bytes, or {"skipped": why} when the step does not apply
//   {"kind": "eval", "name", "limit"} → {"top1", "agreement", "eval_count"}
struct FitTaskOutput {
  nlohmann::json result;
  std::string model_bytes;  // a built candidate
};

// A worker's side: the datasets and the input model of one search, opened once.
class FitTaskRunner {
 public:
  // `config`: fit_worker_config() of the search; `baseline`: the input model's bytes.
  FitTaskRunner(const nlohmann::json& config, const std::string& baseline,
                std::function<void(const std::string&)> log = {});
  ~FitTaskRunner();
  // `model`: the bytes of a candidate by name (a parent, the model to evaluate), asked only for
  // models this worker has not built or fetched before.
  FitTaskOutput run(const nlohmann::json& task,
                    const std::function<std::string(const std::string& name)>& model);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The coordinator's side of the transport (edgeopt-train implements it on c10d's TCPStore).
class FitWorkers {
 public:
  virtual ~FitWorkers() = default;
  // What every task needs: the search's settings and the input model's bytes.
  virtual void start(const nlohmann::json& config, const std::string& baseline) = 0;
  // Runs every task to completion once on some worker and returns the outputs in task order. A
  // task whose worker is lost is given to another worker. Throws Error when no worker is left.
  virtual std::vector<FitTaskOutput> run(const std::vector<nlohmann::json>& tasks) = 0;
  // The search is over: the workers exit.
  virtual void finish() = 0;
  virtual std::string describe() const = 0;
};

struct FitOptions {
  DeviceProfile device;
  FitLimits limits;
  FitObjective objective = FitObjective::kLatency;
  std::string calib_spec, eval_spec, train_spec;
  // The input model's file (absolute), the teacher of the distilled candidates ("": none).
  std::string model_path;
  int64_t eval_limit = 0;  // the full eval set: first N samples (0 = all)
  int64_t subset = 0;      // validation subset of the first round (0: a quarter, at least 200)
  int64_t calib_samples = 1000;
  double budget_minutes = 0;  // 0 = no bound
  int threads = 1;
  uint64_t seed = 0;
  int bench_rounds = 3, bench_runs = 50, bench_warmup = 10;
  int quick_runs = 20, quick_warmup = 5;  // the first round's one short benchmark
  // Benchmarks a saved model with per-node profiling (the CLI runs `edgeopt bench --profile` in a
  // fresh process so that each peak RAM is the model's own).
  std::function<BenchResult(const std::filesystem::path& model, int runs, int warmup)> bench;
  // What `bench` is, for the report's basis of the host figures.
  std::string bench_describe = "edgeopt bench --profile";
  std::function<void(const std::string&)> log;
  std::filesystem::path work_dir;  // every candidate's model is written here (must exist)
  // Builds and evaluations on workers (fit --workers); null: all here.
  std::shared_ptr<FitWorkers> workers;
};

// The settings a worker needs to run the tasks of a search with `options`.
nlohmann::json fit_worker_config(const FitOptions& options);

struct FitResult {
  std::vector<FitCandidate> candidates;  // the baseline first
  FitLimits limits;                      // effective limits
  std::optional<size_t> pick;
  double baseline_top1 = 0;
  int64_t subset = 0, eval_count = 0;
  double elapsed_s = 0;
  std::vector<std::string> budget_cut;  // what --budget cut ("name: not built", ...)
  std::vector<std::string> skipped;     // candidates whose step does not apply ("name: why")
  std::string eval_describe, bench_note;
  // Candidate name → its model file in work_dir.
  std::vector<std::pair<std::string, std::filesystem::path>> files;
};

// Runs the search on `model` (not modified). Throws Error for bad input (datasets, steps).
FitResult run_fit(const Model& model, const FitOptions& options);

// report.json and report.md (docs/fit.md lists the fields).
nlohmann::json fit_report_json(const FitResult& result, const FitOptions& options,
                               const std::string& model_name);
std::string fit_report_markdown(const nlohmann::json& report);

// What run_fit_to_folder wrote.
struct FitOutput {
  std::filesystem::path dir;  // OUT_DIR
  nlohmann::json report;      // report.json; "pick" is null when no candidate fits
  std::string markdown;       // report.md
  bool fits() const { return !report.at("pick").is_null(); }
};

// Runs the search on the model at `model_path` (not modified) and writes OUT_DIR `out` as a
// whole (docs/fit.md): report.json, report.md, report.html, candidates/ (the frontier models)
// and, when a candidate fits, model.onnx and recipe.json. Everything goes to a temporary folder
// beside `out`, renamed into place at the end; an existing `out` is replaced only when it is
// empty or an earlier fit's output. options.work_dir is set here. Throws Error (invalid input)
// for an `out` it refuses (not a folder name, a file, a folder with other content, a folder
// holding the model) and for what run_fit throws; `out` is then untouched.
FitOutput run_fit_to_folder(const std::string& model_path, const std::string& out,
                            FitOptions options);

}  // namespace edgeopt
