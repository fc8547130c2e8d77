// fit: the search. Two rounds of successive halving:
//   1. every candidate of fit_plan is built with its recipe step, inspected, evaluated on a
//      validation subset (the first `subset` samples of the eval set) and benchmarked once,
//      briefly, then estimated on the device;
//   2. the candidates that round cannot rule out (not clearly dominated: see clearly_dominated)
//      are evaluated on the full eval set and benchmarked in interleaved rounds (median).
// --budget is checked before every candidate and every benchmark round; what it cut is listed.
// With workers (fit --workers) the builds and evaluations run there, in waves (a candidate after
// its parent), while the benchmarks stay here; the result is the same as without them.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>

#include "edgeopt/error.h"
#include "edgeopt/eval.h"
#include "edgeopt/fileio.h"
#include "edgeopt/fit.h"
#include "edgeopt/inspect.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/quantize.h"
#include "edgeopt/recipe.h"
#include "edgeopt/session.h"

namespace edgeopt {

namespace fs = std::filesystem;

namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string file_stem(const std::string& name) {
  std::string s;
  for (char c : name) s += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// B is clearly dominated by A on the first round's figures, so that it cannot be on the frontier
// (nor the pick) once both are measured in full, short of measurement noise: A is not worse than
// B in any figure beyond that figure's noise, and better than B beyond the noise in one of them.
// Accuracy is compared on the same subset samples, so "not worse" is taken exactly and "better"
// means by two standard errors of B's top-1; the short benchmark's latency and energy vary by a
// few percent (5% not worse, 15% better); peak RAM (mostly the process itself) by a fraction of
// a MB; the file size is exact.
bool clearly_dominated(const FitCandidate& b, const FitCandidate& a, int64_t n, bool p95) {
  const double p = b.top1;
  const double margin = 2 * std::sqrt(std::max(p * (1 - p), 1.0 / double(n)) / double(n));
  const double ram_noise = std::max(0.5, 0.02 * b.device_peak_ram_mb);
  const bool not_worse = a.top1 >= b.top1 && a.device_ms(p95) <= 1.05 * b.device_ms(p95) &&
                         a.size_bytes <= b.size_bytes &&
                         a.device_peak_ram_mb <= b.device_peak_ram_mb + ram_noise &&
                         a.energy_mj <= 1.05 * b.energy_mj;
  const bool better = a.top1 >= b.top1 + margin || a.device_ms(p95) <= 0.85 * b.device_ms(p95) ||
                      a.size_bytes <= 0.95 * double(b.size_bytes) ||
                      a.device_peak_ram_mb <= b.device_peak_ram_mb - 2 * ram_noise ||
                      a.energy_mj <= 0.85 * b.energy_mj;
  return not_worse && better;
}

// The most quantization-sensitive layers of `model` (lowest SQNR of their int8 output on the
// calibration data), worst first: candidates for mixed precision.
std::vector<std::string> sensitive_layers(const Model& model, Dataset& calib, int64_t samples) {
  QuantizeOptions q;
  q.layer_report = true;
  q.samples = std::min<int64_t>(samples, 256);
  q.reduce_range = !host_has_int8_dot_product();
  QuantizeReport r;
  quantize_model(model, q, &calib, nullptr, &r);
  std::vector<LayerSqnr> layers = r.layers;
  std::stable_sort(layers.begin(), layers.end(),
                   [](const LayerSqnr& a, const LayerSqnr& b) { return a.sqnr_db < b.sqnr_db; });
  std::vector<std::string> names;
  for (const LayerSqnr& l : layers) names.push_back(l.node);
  return names;
}

// Size, parameters and MACs of the model saved at `file`.
void inspect_into(FitCandidate& c, const Model& m, const fs::path& file) {
  const ModelStats st = inspect_model(m, 1, file);
  c.size_bytes = st.file_bytes;
  c.deflated_bytes = st.compressed_bytes;
  c.params = st.params;
  c.macs = st.macs;
}

// top1, agreement and eval_count of `c` run by `s` on the first `limit` samples of `eval`;
// agreement against `baseline` (null: `s` is the baseline).
void evaluate_into(FitCandidate& c, Session& s, Dataset& eval, Session* baseline, int64_t limit) {
  EvalOptions eo;
  eo.limit = limit;
  eo.progress = terminal_progress("eval " + c.name);  // a bar on a terminal, nothing in a log
  const EvalResult er = evaluate(s, eval, eo, baseline);
  c.top1 = er.metrics.top1();
  c.agreement = er.fidelity ? er.fidelity->agreement : 1.0;
  c.eval_count = er.metrics.count;
}

nlohmann::json accuracy_json(const FitCandidate& c) {
  return {{"top1", c.top1}, {"agreement", c.agreement}, {"eval_count", c.eval_count}};
}

void accuracy_from_json(FitCandidate& c, const nlohmann::json& j) {
  c.top1 = j.at("top1").get<double>();
  c.agreement = j.at("agreement").get<double>();
  c.eval_count = j.at("eval_count").get<int64_t>();
}

// What inspect_into measured, to and from a worker's result.
void file_json(const FitCandidate& c, nlohmann::json& j) {
  j["size_bytes"] = c.size_bytes;
  j["deflated_bytes"] = c.deflated_bytes;
  j["params"] = c.params;
  j["macs"] = c.macs;
}

void file_from_json(FitCandidate& c, const nlohmann::json& j) {
  c.size_bytes = j.at("size_bytes").get<int64_t>();
  c.deflated_bytes = j.at("deflated_bytes").get<int64_t>();
  c.params = j.at("params").get<int64_t>();
  c.macs = j.at("macs").get<int64_t>();
}

class Search {
 public:
  Search(const Model& model, const FitOptions& o) : model_(model), o_(o) {}

  FitResult run();

 private:
  void log(const std::string& line) const {
    if (o_.log) o_.log(line);
  }
  double elapsed_s() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  // True when `share` of --budget is spent.
  bool over_budget(double share = 1.0) const {
    return o_.budget_minutes > 0 && elapsed_s() > share * o_.budget_minutes * 60;
  }
  // Building and the first round stop at this share of --budget, leaving the rest for
  // confirming what they found.
  static constexpr double kBuildShare = 0.6;
  Dataset& dataset(const std::string& spec);
  void open_datasets();
  // Builds, inspects and measures one candidate (round 1). False when its step fails on this
  // model (the reason is logged and listed).
  bool build(const FitPlanEntry& e);
  // The candidate of `e` with its steps (its parent's plus its own).
  FitCandidate planned(const FitPlanEntry& e) const;
  // fit --workers: builds the plan on the workers, wave by wave; `built` logs each candidate.
  void build_on_workers(const std::vector<FitPlanEntry>& plan,
                        const std::function<void(const FitCandidate&, size_t)>& built);
  void measure_subset(FitCandidate& c, const fs::path& file);
  // top1, agreement and eval_count of `c` (model `m`) on the first `limit` eval samples.
  void evaluate_candidate(FitCandidate& c, const Model& m, int64_t limit);
  void set_device_figures(FitCandidate& c, const std::vector<BenchResult>& runs);
  void confirm(std::vector<size_t> survivors);
  void provenance(FitCandidate& c) const;

  const Model& model_;
  const FitOptions& o_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::map<std::string, std::unique_ptr<Dataset>> datasets_;
  StepContext ctx_;
  Dataset* eval_ = nullptr;
  std::unique_ptr<Session> baseline_session_;
  FitResult r_;
  std::map<std::string, size_t> index_;  // candidate name → r_.candidates index
  std::map<std::string, fs::path> files_;
};

Dataset& Search::dataset(const std::string& spec) {
  auto it = datasets_.find(spec);
  if (it == datasets_.end()) it = datasets_.emplace(spec, open_dataset(spec)).first;
  return *it->second;
}

void Search::open_datasets() {
  if (o_.eval_spec.empty()) fail_input("fit: --eval SPEC is required (labelled data)");
  if (o_.calib_spec.empty()) fail_input("fit: --calib SPEC is required (calibration data)");
  eval_ = &dataset(o_.eval_spec);
  require_labels(*eval_, "fit --eval");
  dataset(o_.calib_spec);
  if (!o_.train_spec.empty()) require_labels(dataset(o_.train_spec), "fit --train");
  ctx_.dataset = [this](const std::string& spec) -> Dataset& { return dataset(spec); };
  ctx_.log = [this](const std::string& line) { log("  " + line); };
  ctx_.calibration_spec = o_.calib_spec;
  ctx_.train_spec = o_.train_spec;
  const int64_t n = eval_->size();
  r_.eval_count = o_.eval_limit > 0 ? std::min(o_.eval_limit, n) : n;
  r_.subset = o_.subset > 0 ? std::min(o_.subset, r_.eval_count)
                            : std::min(r_.eval_count, std::max<int64_t>(200, r_.eval_count / 4));
  r_.eval_describe = eval_->describe();
}

void Search::measure_subset(FitCandidate& c, const fs::path& file) {
  const Model m = load_model(file);
  inspect_into(c, m, file);
  evaluate_candidate(c, m, r_.subset);
  set_device_figures(c, {o_.bench(file, o_.quick_runs, o_.quick_warmup)});
  c.stage = "subset";
}

void Search::evaluate_candidate(FitCandidate& c, const Model& m, int64_t limit) {
  const bool is_baseline = c.steps.empty();  // the baseline's session is the reference
  std::optional<Session> own;
  Session& s = is_baseline ? *baseline_session_ : own.emplace(m);
  evaluate_into(c, s, *eval_, is_baseline ? nullptr : baseline_session_.get(), limit);
}

void Search::set_device_figures(FitCandidate& c, const std::vector<BenchResult>& runs) {
  std::vector<double> hp50, hp95, dp50, dp95, energy;
  double host_ram = 0, device_ram = 0;
  for (const BenchResult& b : runs) {
    const DeviceEstimate e = estimate_on_device(o_.device, b, o_.threads);
    hp50.push_back(b.latency.p50_ms);
    hp95.push_back(b.latency.p95_ms);
    dp50.push_back(e.p50_ms);
    dp95.push_back(e.p95_ms);
    energy.push_back(e.energy_mj);
    host_ram = std::max(host_ram, double(b.peak_rss_bytes) / 1e6);
    // DeviceEstimate's peak_ram_mb is in MiB (src/search/device.cpp); fit's figures are MB.
    device_ram = std::max(device_ram, e.peak_ram_mb * (1024.0 * 1024.0) / 1e6);
    const char* latency = e.latency_measured ? "measured" : "estimated";
    c.provenance["device_p50_ms"] = c.provenance["device_p95_ms"] = latency;
    c.provenance["energy_mj"] = e.energy_measured ? "measured" : "estimated";
    c.basis["device_p50_ms"] = c.basis["device_p95_ms"] =
        e.latency_measured ? "measured on this host" : e.basis;
    c.basis["energy_mj"] = e.energy_measured ? "measured: RAPL counters of this host"
                                             : "estimated: device latency x power";
  }
  c.host_p50_ms = median(hp50);
  c.latency_noise = c.host_p50_ms > 0 ? (*std::max_element(hp50.begin(), hp50.end()) -
                                         *std::min_element(hp50.begin(), hp50.end())) /
                                            c.host_p50_ms
                                      : 0.0;
  c.host_p95_ms = median(hp95);
  c.device_p50_ms = median(dp50);
  c.device_p95_ms = median(dp95);
  c.energy_mj = median(energy);
  c.host_peak_ram_mb = host_ram;
  c.device_peak_ram_mb = device_ram;
  c.basis["host_runs"] = runs.size();
}

void Search::provenance(FitCandidate& c) const {
  nlohmann::json& p = c.provenance;
  nlohmann::json& b = c.basis;
  for (const char* k : {"size_bytes", "deflated_bytes", "params", "macs", "top1", "agreement",
                        "host_p50_ms", "host_p95_ms", "host_peak_ram_mb"})
    p[k] = "measured";
  p["device_peak_ram_mb"] = o_.device.host ? "measured" : "estimated";
  b["size_bytes"] = "the ONNX file";
  b["deflated_bytes"] = "the ONNX file deflated with zlib";
  b["params"] = b["macs"] = "counted as edgeopt inspect does";
  b["top1"] = b["agreement"] =
      "the first " + std::to_string(c.eval_count) + " samples of " + r_.eval_describe;
  b["host_p50_ms"] = b["host_p95_ms"] = b["host_peak_ram_mb"] = r_.bench_note;
  b["device_peak_ram_mb"] =
      o_.device.host ? "measured on this host" : "estimated from this host's peak RSS";
}

FitCandidate Search::planned(const FitPlanEntry& e) const {
  FitCandidate c;
  c.name = e.name;
  if (!e.parent.empty()) c.steps = r_.candidates[index_.at(e.parent)].steps;
  nlohmann::json step = e.step;
  step["name"] = e.name;
  step["from"] = e.parent.empty() ? "baseline" : e.parent;
  c.steps.push_back(step);
  return c;
}

bool Search::build(const FitPlanEntry& e) {
  FitCandidate c = planned(e);
  const std::string op = e.step.at("op").get<std::string>();
  const StepKind* kind = StepRegistry::global().find(op);
  if (!kind) fail(ErrorKind::kInternal, "fit: no recipe step '", op, "'");
  nlohmann::json options = e.step;
  options.erase("op");
  const fs::path file = o_.work_dir / (file_stem(e.name) + ".onnx");
  try {
    Model m = e.parent.empty() ? model_ : load_model(files_.at(e.parent));
    kind->run(m, options, ctx_);
    save_model(m, file);
    measure_subset(c, file);
  } catch (const Error& err) {
    if (err.kind() == ErrorKind::kInternal) throw;
    log(e.name + ": skipped: " + err.what());
    r_.skipped.push_back(e.name + ": " + err.what());
    return false;
  }
  files_[e.name] = file;
  index_[e.name] = r_.candidates.size();
  r_.candidates.push_back(std::move(c));
  return true;
}

void Search::build_on_workers(const std::vector<FitPlanEntry>& plan,
                              const std::function<void(const FitCandidate&, size_t)>& built) {
  std::vector<bool> handled(plan.size(), false);
  std::set<std::string> cut;  // by the budget, before being built
  std::map<std::string, size_t> plan_index;
  for (size_t k = 0; k < plan.size(); ++k) plan_index[plan[k].name] = k;
  for (;;) {
    // A wave: every candidate whose parent is built.
    std::vector<size_t> wave;
    const bool over = over_budget(kBuildShare);
    const std::vector<bool> before = handled;
    for (size_t k = 0; k < plan.size(); ++k) {
      const FitPlanEntry& e = plan[k];
      if (handled[k]) continue;
      const bool parent_built = e.parent.empty() || index_.count(e.parent);
      const bool parent_done = e.parent.empty() || before[plan_index.at(e.parent)];
      if (!parent_done) continue;
      handled[k] = true;
      if (over || cut.count(e.parent)) {
        r_.budget_cut.push_back(e.name + ": not built");
        cut.insert(e.name);
      } else if (!parent_built) {
        r_.skipped.push_back(e.name + ": its model '" + e.parent + "' was skipped");
      } else if (!StepRegistry::global().find(e.step.at("op").get<std::string>())) {
        r_.skipped.push_back(e.name + ": step '" + e.step.at("op").get<std::string>() +
                             "' not in this build");
      } else {
        wave.push_back(k);
      }
    }
    if (wave.empty()) {
      if (std::all_of(handled.begin(), handled.end(), [](bool h) { return h; })) break;
      continue;
    }
    std::vector<nlohmann::json> tasks;
    for (size_t k : wave)
      tasks.push_back({{"kind", "build"},
                       {"name", plan[k].name},
                       {"parent", plan[k].parent},
                       {"step", plan[k].step},
                       {"limit", r_.subset}});
    const std::vector<FitTaskOutput> out = o_.workers->run(tasks);
    for (size_t j = 0; j < wave.size(); ++j) {
      const FitPlanEntry& e = plan[wave[j]];
      const nlohmann::json& res = out[j].result;
      if (res.contains("skipped")) {
        const std::string why = res.at("skipped").get<std::string>();
        log(e.name + ": skipped: " + why);
        r_.skipped.push_back(e.name + ": " + why);
        continue;
      }
      FitCandidate c = planned(e);
      const fs::path file = o_.work_dir / (file_stem(e.name) + ".onnx");
      write_file_atomic(file, out[j].model_bytes);
      file_from_json(c, res);
      accuracy_from_json(c, res);
      set_device_figures(c, {o_.bench(file, o_.quick_runs, o_.quick_warmup)});
      c.stage = "subset";
      files_[e.name] = file;
      index_[e.name] = r_.candidates.size();
      r_.candidates.push_back(std::move(c));
      built(r_.candidates.back(), wave[j] + 2);
    }
  }
  // Plan order, as without workers (the baseline first).
  std::stable_sort(r_.candidates.begin() + 1, r_.candidates.end(),
                   [&](const FitCandidate& a, const FitCandidate& b) {
                     return plan_index.at(a.name) < plan_index.at(b.name);
                   });
  for (size_t i = 0; i < r_.candidates.size(); ++i) index_[r_.candidates[i].name] = i;
}

void Search::confirm(std::vector<size_t> survivors) {
  // What a --budget cut reaches last: the candidates the first round puts on its frontier come
  // first (the baseline always first), then the others, each in plan order.
  auto first_round_frontier = [&](size_t i) {
    for (size_t j : survivors)
      if (dominates(r_.candidates[j], r_.candidates[i], o_.limits.latency_p95)) return false;
    return true;
  };
  std::stable_partition(survivors.begin(), survivors.end(),
                        [&](size_t i) { return i == 0 || first_round_frontier(i); });
  // Full eval set first (cheap next to the benchmark rounds), in plan order; with workers, the
  // candidates' evaluations all at once there.
  std::vector<size_t> evaluated, remote;
  std::vector<nlohmann::json> tasks;
  for (size_t i : survivors) {
    FitCandidate& c = r_.candidates[i];
    if (i != 0 && over_budget()) {
      c.stage = "budget";
      c.cut_reason = "--budget reached before the full evaluation";
      r_.budget_cut.push_back(c.name + ": not confirmed (subset figures only)");
      continue;
    }
    evaluated.push_back(i);
    if (o_.workers && i != 0) {
      remote.push_back(i);
      tasks.push_back({{"kind", "eval"}, {"name", c.name}, {"limit", r_.eval_count}});
    } else {
      evaluate_candidate(c, load_model(files_.at(c.name)), r_.eval_count);
    }
  }
  if (!tasks.empty()) {
    const std::vector<FitTaskOutput> out = o_.workers->run(tasks);
    for (size_t j = 0; j < remote.size(); ++j)
      accuracy_from_json(r_.candidates[remote[j]], out[j].result);
  }
  for (size_t i : evaluated) {
    const FitCandidate& c = r_.candidates[i];
    log(c.name + ": top-1 " + fmt("%.2f%%", c.top1 * 100) + " on " + std::to_string(c.eval_count) +
        " samples");
  }
  // Benchmark rounds, interleaved over the models so that load which comes and goes on a shared
  // machine hits them alike; the median of the rounds is kept.
  std::vector<std::vector<BenchResult>> runs(evaluated.size());
  const int rounds = std::max(1, o_.bench_rounds);
  for (int k = 0; k < rounds; ++k) {
    if (k > 0 && over_budget()) {
      r_.budget_cut.push_back("benchmark rounds: " + std::to_string(k) + " of " +
                              std::to_string(rounds));
      break;
    }
    for (size_t j = 0; j < evaluated.size(); ++j)
      runs[j].push_back(
          o_.bench(files_.at(r_.candidates[evaluated[j]].name), o_.bench_runs, o_.bench_warmup));
    log("benchmark round " + std::to_string(k + 1) + " of " + std::to_string(rounds) + " done");
  }
  for (size_t j = 0; j < evaluated.size(); ++j) {
    FitCandidate& c = r_.candidates[evaluated[j]];
    set_device_figures(c, runs[j]);
    c.stage = "confirmed";
  }
}

FitResult Search::run() {
  if (!o_.bench) fail(ErrorKind::kInternal, "fit: no benchmark function");
  open_datasets();
  r_.bench_note = o_.bench_describe + ", " + std::to_string(o_.threads) +
                  " thread(s), batch 1, median over " + std::to_string(o_.bench_rounds) +
                  " interleaved rounds of " + std::to_string(o_.bench_runs) + " runs after " +
                  std::to_string(o_.bench_warmup) + " warm-up runs";
  baseline_session_ = std::make_unique<Session>(model_);

  // The baseline: the input model as it is.
  {
    FitCandidate c;
    c.name = "baseline";
    const fs::path file = o_.work_dir / "baseline.onnx";
    save_model(model_, file);
    measure_subset(c, file);
    files_[c.name] = file;
    index_[c.name] = 0;
    r_.candidates.push_back(std::move(c));
    if (o_.workers) {
      o_.workers->start(fit_worker_config(o_), read_file(file));
      log("builds and evaluations on " + o_.workers->describe());
    }
  }
  FitPlanOptions po;
  po.train = !o_.train_spec.empty();
  po.teacher = o_.model_path;
  po.seed = o_.seed;
  po.calib_samples = o_.calib_samples;
  {
    // Sensitivity is measured on the model the quantized candidates start from.
    Model passes = model_;
    nlohmann::json options = {{"level", 2}};
    StepRegistry::global().find("passes")->run(passes, options, ctx_);
    try {
      po.sensitive_layers = sensitive_layers(passes, dataset(o_.calib_spec), o_.calib_samples);
    } catch (const Error& err) {
      if (err.kind() == ErrorKind::kInternal) throw;
      log("mixed precision: skipped: " + std::string(err.what()));
    }
  }
  const std::vector<FitPlanEntry> plan = fit_plan(po);
  const size_t total = plan.size() + 1;
  auto progress = [&](const FitCandidate& c, size_t k) {
    log("[" + std::to_string(k) + "/" + std::to_string(total) + "] " + c.name + ": " +
        fmt("%.3f MB, ", c.size_bytes / 1e6) + fmt("%.1f MMACs, ", c.macs / 1e6) +
        fmt("top-1 %.2f%%", c.top1 * 100) + " (" + std::to_string(c.eval_count) +
        " samples), host p50 " + fmt("%.3f ms", c.host_p50_ms) + ", device p50 " +
        fmt("%.3f ms", c.device_p50_ms));
  };
  progress(r_.candidates[0], 1);
  std::set<std::string> cut;  // by the budget, before being built
  if (o_.workers) build_on_workers(plan, progress);
  for (size_t k = 0; k < plan.size() && !o_.workers; ++k) {
    const FitPlanEntry& e = plan[k];
    if (over_budget(kBuildShare) || cut.count(e.parent)) {
      r_.budget_cut.push_back(e.name + ": not built");
      cut.insert(e.name);
      continue;
    }
    if (!e.parent.empty() && !index_.count(e.parent)) {
      r_.skipped.push_back(e.name + ": its model '" + e.parent + "' was skipped");
      continue;
    }
    if (!StepRegistry::global().find(e.step.at("op").get<std::string>())) {
      r_.skipped.push_back(e.name + ": step '" + e.step.at("op").get<std::string>() +
                           "' not in this build");
      continue;
    }
    if (build(e)) progress(r_.candidates.back(), k + 2);
  }

  // Round 2: what round 1 cannot rule out.
  const bool p95 = o_.limits.latency_p95;
  std::vector<size_t> survivors;
  for (size_t i = 0; i < r_.candidates.size(); ++i) {
    FitCandidate& c = r_.candidates[i];
    for (const FitCandidate& a : r_.candidates)
      if (i != 0 && &a != &c && clearly_dominated(c, a, r_.subset, p95)) {
        c.cut_reason = "dominated by '" + a.name + "' on the validation subset";
        break;
      }
    if (c.cut_reason.empty()) survivors.push_back(i);
  }
  log(std::to_string(survivors.size()) + " of " + std::to_string(r_.candidates.size()) +
      " candidates can still be on the frontier: full evaluation and benchmark rounds");
  confirm(survivors);
  if (o_.workers) o_.workers->finish();
  for (FitCandidate& c : r_.candidates) provenance(c);

  r_.limits = effective_limits(o_.limits, o_.device);
  r_.baseline_top1 = r_.candidates[0].top1;
  mark_fits(r_.candidates, r_.limits, r_.baseline_top1);
  mark_frontier(r_.candidates, p95);
  r_.pick = pick_candidate(r_.candidates, o_.objective, p95);
  for (const auto& [name, file] : files_) r_.files.emplace_back(name, file);
  r_.elapsed_s = elapsed_s();
  return r_;
}

}  // namespace

FitResult run_fit(const Model& model, const FitOptions& options) {
  return Search(model, options).run();
}

nlohmann::json fit_worker_config(const FitOptions& o) {
  return {{"calib_spec", o.calib_spec},
          {"eval_spec", o.eval_spec},
          {"train_spec", o.train_spec},
          {"model_path", o.model_path}};
}

struct FitTaskRunner::Impl {
  nlohmann::json config;
  fs::path dir;  // the worker's copies of the models
  std::map<std::string, std::unique_ptr<Dataset>> datasets;
  StepContext ctx;
  std::unique_ptr<Session> baseline;
  std::function<void(const std::string&)> log;

  Dataset& dataset(const std::string& spec) {
    auto it = datasets.find(spec);
    if (it == datasets.end()) it = datasets.emplace(spec, open_dataset(spec)).first;
    return *it->second;
  }
  fs::path file_of(const std::string& name) const { return dir / (file_stem(name) + ".onnx"); }
  // The model of candidate `name`: the copy here when this worker built or fetched it before,
  // else its bytes from `fetch`.
  Model model(const std::string& name,
              const std::function<std::string(const std::string&)>& fetch) {
    const fs::path file = file_of(name);
    if (!fs::exists(file)) write_file_atomic(file, fetch(name));
    return load_model(file);
  }
  ~Impl() {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
};

FitTaskRunner::FitTaskRunner(const nlohmann::json& config, const std::string& baseline,
                             std::function<void(const std::string&)> log)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.config = config;
  m.log = std::move(log);
  std::string tmpl = (fs::temp_directory_path() / "edgeopt-fit-worker-XXXXXX").string();
  if (!mkdtemp(tmpl.data()))
    fail(ErrorKind::kInternal, "fit worker: cannot create a temporary folder in ",
         fs::temp_directory_path().string());
  m.dir = tmpl;
  m.ctx.dataset = [&m](const std::string& spec) -> Dataset& { return m.dataset(spec); };
  m.ctx.log = [&m](const std::string& line) {
    if (m.log) m.log("  " + line);
  };
  m.ctx.calibration_spec = config.at("calib_spec").get<std::string>();
  m.ctx.train_spec = config.at("train_spec").get<std::string>();
  require_labels(m.dataset(config.at("eval_spec").get<std::string>()), "fit --eval");
  write_file_atomic(m.file_of("baseline"), baseline);
  m.baseline = std::make_unique<Session>(load_model(m.file_of("baseline")));
}

FitTaskRunner::~FitTaskRunner() = default;

FitTaskOutput FitTaskRunner::run(const nlohmann::json& task,
                                 const std::function<std::string(const std::string&)>& model) {
  Impl& m = *impl_;
  const std::string kind = task.at("kind").get<std::string>();
  const std::string name = task.at("name").get<std::string>();
  const int64_t limit = task.at("limit").get<int64_t>();
  Dataset& eval = m.dataset(m.config.at("eval_spec").get<std::string>());
  FitCandidate c;
  c.name = name;
  FitTaskOutput out;
  if (kind == "eval") {
    Session s(m.model(name, model));
    evaluate_into(c, s, eval, m.baseline.get(), limit);
    out.result = accuracy_json(c);
    return out;
  }
  if (kind != "build") fail(ErrorKind::kInternal, "fit worker: unknown task '", kind, "'");
  const std::string parent = task.at("parent").get<std::string>();
  nlohmann::json options = task.at("step");
  const std::string op = options.at("op").get<std::string>();
  options.erase("op");
  const StepKind* step = StepRegistry::global().find(op);
  if (!step) {
    out.result = {{"skipped", "step '" + op + "' not in this worker's build"}};
    return out;
  }
  // The input model's file on the coordinator (a distilled candidate's teacher) is the copy here.
  for (auto& [key, value] : options.items())
    if (value.is_string() && value.get<std::string>() == m.config.at("model_path"))
      value = m.file_of("baseline").string();
  const fs::path file = m.file_of(name);
  try {
    Model built = m.model(parent.empty() ? "baseline" : parent, model);
    step->run(built, options, m.ctx);
    save_model(built, file);
  } catch (const Error& err) {
    if (err.kind() == ErrorKind::kInternal) throw;
    out.result = {{"skipped", err.what()}};
    return out;
  }
  const Model saved = load_model(file);
  inspect_into(c, saved, file);
  Session s(saved);
  evaluate_into(c, s, eval, m.baseline.get(), limit);
  out.result = accuracy_json(c);
  file_json(c, out.result);
  out.model_bytes = read_file(file);
  return out;
}

}  // namespace edgeopt
