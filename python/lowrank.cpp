// edgeopt.lowrank(path, out, energy= | rank_ratio=, ...): `edgeopt lowrank --json`.
// The library calls tools/edgeopt/lowrank.cpp makes, with the GIL released.
#include "edgeopt/lowrank.h"

#include "bindings.h"
#include "edgeopt/error.h"
#include "edgeopt/fileio.h"
#include "edgeopt/inspect.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/report_json.h"

namespace edgeopt::python {
namespace {

py::object lowrank_command(const py::object& in_arg, const py::object& out_arg,
                           const py::object& energy, const py::object& rank_ratio,
                           const py::object& exclude) {
  const std::string in = path_arg(in_arg), out = path_arg(out_arg);
  refuse_same_file(in, out);
  if (energy.is_none() == rank_ratio.is_none())
    fail_input("give exactly one of energy and rank_ratio");
  LowRankOptions o;
  if (!energy.is_none()) o.energy = energy.cast<double>();
  if (!rank_ratio.is_none()) o.rank_ratio = rank_ratio.cast<double>();
  o.exclude = names(exclude);
  nlohmann::json j;
  {
    py::gil_scoped_release nogil;
    Model model = load_model(in);
    const ModelStats before = inspect_model(model, 1, in);
    const LowRankReport r = factorize_lowrank(model, o);
    save_model(model, out, {}, in);
    j = lowrank_json(in, out, r, before, inspect_model(load_model(out), 1, out));
  }
  return to_dict(j);
}

}  // namespace

void bind_lowrank(py::module_& m) {
  using py::arg;
  m.def("lowrank", &lowrank_command, arg("path"), arg("out"), py::kw_only(),
        arg("energy") = py::none(), arg("rank_ratio") = py::none(), arg("exclude") = py::none(),
        "Truncated-SVD factorization, written to `out` (edgeopt lowrank --json).");
}

}  // namespace edgeopt::python
