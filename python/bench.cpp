// edgeopt.benchmark(path, runs=50, ...): `edgeopt bench --json` for one model as a dict.
// The library calls tools/edgeopt/bench.cpp makes, with the GIL released.
#include "edgeopt/bench.h"

#include "bindings.h"
#include "edgeopt/error.h"
#include "edgeopt/report_json.h"

namespace edgeopt::python {
namespace {

py::object benchmark_command(const py::object& path_arg_, int runs, int warmup, int threads,
                             int64_t batch, const py::object& providers, const py::object& shapes,
                             bool profile, const py::object& progress) {
  const std::string path = path_arg(path_arg_);
  if (runs < 1) fail_input("runs must be at least 1, got ", runs);
  if (warmup < 0) fail_input("warmup must be >= 0, got ", warmup);
  if (batch < 1) fail_input("batch must be at least 1, got ", batch);
  SessionOptions so = session_options(providers, threads);
  so.profile = profile;
  BenchOptions bo;
  bo.runs = runs;
  bo.warmup = warmup;
  bo.batch = batch;
  bo.shapes = input_shapes(shapes);
  bo.progress = progress_callback(progress);
  nlohmann::json j;
  {
    py::gil_scoped_release nogil;
    j = bench_json(bench_model(path, so, bo), warmup, threads, profile);
  }
  return to_dict(j);
}

}  // namespace

void bind_bench(py::module_& m) {
  using py::arg;
  m.def("benchmark", &benchmark_command, arg("path"), py::kw_only(), arg("runs") = 50,
        arg("warmup") = 5, arg("threads") = 1, arg("batch") = 1, arg("providers") = py::none(),
        arg("shapes") = py::none(), arg("profile") = false, arg("progress") = py::none(),
        "Latency statistics, throughput, memory and sizes (edgeopt bench --json).");
}

}  // namespace edgeopt::python
