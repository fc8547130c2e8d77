// edgeopt.fit(model, out_dir, device="host", calib=SPEC, eval=SPEC, ...): `edgeopt fit` as a
// dict (report.json). The same library call as tools/edgeopt/fit.cpp (run_fit_to_folder), with
// the GIL released; the benchmarks run in this process (bench_model) rather than in a fresh one,
// so a host peak RAM includes the Python process.
#include "edgeopt/fit.h"

#include <optional>
#include <string>

#include "bindings.h"
#include "edgeopt/bench.h"
#include "edgeopt/device.h"
#include "edgeopt/error.h"
#include "edgeopt/recipe.h"

namespace edgeopt::python {
namespace {

struct FitArgs {
  std::string device, calib, eval, latency_stat, objective;
  std::optional<double> max_latency, max_ram, max_size, max_energy, budget;
  double max_drop;
  int threads, bench_rounds, bench_runs;
  uint64_t seed;
  int64_t eval_limit, calib_samples;
};

// The CLI's checks of its options (CLI11's PositiveNumber & co.), as InvalidInput.
void check_positive(const char* name, const std::optional<double>& v) {
  if (v && !(*v > 0)) fail_input("fit: ", name, " must be a positive number, got ", *v);
}

FitOptions fit_options(const FitArgs& a) {
  check_positive("max_latency", a.max_latency);
  check_positive("max_ram", a.max_ram);
  check_positive("max_size", a.max_size);
  check_positive("max_energy", a.max_energy);
  check_positive("budget", a.budget);
  if (!(a.max_drop >= 0)) fail_input("fit: max_drop must be >= 0, got ", a.max_drop);
  if (a.latency_stat != "p50" && a.latency_stat != "p95")
    fail_input("fit: latency_stat must be p50 or p95, got '", a.latency_stat, "'");
  if (a.threads < 1) fail_input("fit: threads must be at least 1, got ", a.threads);
  if (a.eval_limit < 0) fail_input("fit: eval_limit must be >= 0, got ", a.eval_limit);
  if (a.calib_samples < 1)
    fail_input("fit: calib_samples must be at least 1, got ", a.calib_samples);
  if (a.bench_rounds < 1 || a.bench_runs < 1)
    fail_input("fit: bench_rounds and bench_runs must be at least 1");
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
  o.eval_limit = a.eval_limit;
  o.calib_samples = a.calib_samples;
  o.budget_minutes = a.budget.value_or(0);
  o.threads = a.threads;
  o.seed = a.seed;
  o.bench_rounds = a.bench_rounds;
  o.bench_runs = a.bench_runs;
  const int threads = a.threads;
  o.bench = [threads](const std::filesystem::path& model, int runs, int warmup) {
    SessionOptions so;
    so.threads = threads;
    so.profile = true;
    BenchOptions bo;
    bo.runs = runs;
    bo.warmup = warmup;
    return bench_model(model, so, bo);
  };
  o.bench_describe = "bench_model --profile in the Python process (peak RAM includes it)";
  return o;
}

py::object fit_command(const py::object& model_arg, const py::object& out_arg, const FitArgs& a,
                       const py::object& train, const py::object& progress) {
  const std::string model = path_arg(model_arg), out = path_arg(out_arg);
  if (!train.is_none() && !StepRegistry::global().find("finetune"))
    fail_unsupported(
        "fit: train needs the training backend (libtorch), not in the Python module; use the "
        "edgeopt-train CLI (edgeopt-train fit --train SPEC)");
  FitOptions o = fit_options(a);
  if (!train.is_none()) o.train_spec = path_arg(train);
  const py::handle log = progress;
  if (!progress.is_none())
    o.log = [log](const std::string& line) {
      py::gil_scoped_acquire gil;
      log(line);
    };
  nlohmann::json report;
  {
    py::gil_scoped_release nogil;
    report = run_fit_to_folder(model, out, std::move(o)).report;
  }
  return to_dict(report);
}

}  // namespace

void bind_fit(py::module_& m) {
  using py::arg;
  m.def(
      "fit",
      [](const py::object& model, const py::object& out_dir, const std::string& device,
         const py::object& calib, const py::object& eval, const py::object& train,
         std::optional<double> max_latency, const std::string& latency_stat,
         std::optional<double> max_ram, std::optional<double> max_size,
         std::optional<double> max_energy, double max_drop, const std::string& objective,
         std::optional<double> budget, int threads, uint64_t seed, int64_t eval_limit,
         int64_t calib_samples, int bench_rounds, int bench_runs, const py::object& progress) {
        const FitArgs a{device,      path_arg(calib), path_arg(eval), latency_stat, objective,
                        max_latency, max_ram,         max_size,       max_energy,   budget,
                        max_drop,    threads,         bench_rounds,   bench_runs,   seed,
                        eval_limit,  calib_samples};
        return fit_command(model, out_dir, a, train, progress);
      },
      arg("model"), arg("out_dir"), py::kw_only(), arg("device") = "host", arg("calib"),
      arg("eval"), arg("train") = py::none(), arg("max_latency") = py::none(),
      arg("latency_stat") = "p50", arg("max_ram") = py::none(), arg("max_size") = py::none(),
      arg("max_energy") = py::none(), arg("max_drop") = 1.0, arg("objective") = "latency",
      arg("budget") = py::none(), arg("threads") = 1, arg("seed") = 0, arg("eval_limit") = 0,
      arg("calib_samples") = 1000, arg("bench_rounds") = 3, arg("bench_runs") = 50,
      arg("progress") = py::none(),
      R"(The best model that fits a device's limits, and the measured Pareto frontier (edgeopt fit).

Writes out_dir as `edgeopt fit -o OUT_DIR` does (report.json, report.md, report.html,
candidates/, and model.onnx + recipe.json when a candidate fits) and returns report.json as a
dict. When no candidate fits, the report is still written and returned: its "pick" is None and
"misses" says what the closest candidate misses (the CLI exits 3). Bad input raises
InvalidInput with the CLI's message. calib and eval are dataset SPECs ("fashion-mnist:train").
Each candidate is benchmarked in this process (the CLI uses a fresh process per benchmark), so
on device="host" the measured peak RAM includes the Python process. progress: called with each
log line (str) of the search. train (fine-tuned candidates) needs libtorch: raises Unsupported;
use the edgeopt-train CLI.)");
}

}  // namespace edgeopt::python
