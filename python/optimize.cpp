// edgeopt.optimize(path, out, level=2, ...): graph passes, `edgeopt optimize --json`.
// The library calls tools/edgeopt/optimize.cpp makes, with the GIL released.
#include "bindings.h"
#include "edgeopt/error.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/passes.h"
#include "edgeopt/report_json.h"

namespace edgeopt::python {
namespace {

py::object optimize_command(const py::object& in_arg, const py::object& out_arg, int level,
                            const py::object& disable, const py::object& only,
                            const py::object& shapes) {
  const std::string in = path_arg(in_arg), out = path_arg(out_arg);
  if (level < 0 || level > 2) fail_input("level must be 0, 1 or 2, got ", level);
  PassOptions o;
  o.level = level;
  o.disabled = names(disable);
  o.only = names(only);
  const std::vector<InputShape> fixed = input_shapes(shapes);
  nlohmann::json j;
  {
    py::gil_scoped_release nogil;
    Model model = load_with_shapes(in, fixed);
    const PassReport r = edgeopt::optimize(model, o);
    save_model(model, out, {}, in);
    j = pass_report_json(in, out, r);
  }
  return to_dict(j);
}

}  // namespace

void bind_optimize(py::module_& m) {
  using py::arg;
  m.def("optimize", &optimize_command, arg("path"), arg("out"), py::kw_only(), arg("level") = 2,
        arg("disable") = py::none(), arg("only") = py::none(), arg("shapes") = py::none(),
        "Graph passes to a fixed point, written to `out` (edgeopt optimize --json).");
}

}  // namespace edgeopt::python
