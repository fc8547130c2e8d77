// edgeopt.inspect(path, batch=1, shapes=None): `edgeopt inspect --json` as a dict.
// The library calls tools/edgeopt/inspect.cpp makes, with the GIL released.
#include "edgeopt/inspect.h"

#include "bindings.h"
#include "edgeopt/error.h"
#include "edgeopt/report_json.h"

namespace edgeopt::python {
namespace {

py::object inspect_command(const py::object& path_arg_, int64_t batch, const py::object& shapes) {
  const std::string path = path_arg(path_arg_);
  if (batch < 1) fail_input("batch must be at least 1, got ", batch);
  const std::vector<InputShape> fixed = input_shapes(shapes);
  nlohmann::json j;
  {
    py::gil_scoped_release nogil;
    const Model model = load_with_shapes(path, fixed);
    const ModelStats stats = inspect_model(model, batch, path);
    const ArenaPlan arena = plan_arena(model, stats.batch, SessionOptions{});
    j = inspect_json(path, model, stats, &arena);
  }
  return to_dict(j);
}

}  // namespace

void bind_inspect(py::module_& m) {
  using py::arg;
  m.def("inspect", &inspect_command, arg("path"), py::kw_only(), arg("batch") = 1,
        arg("shapes") = py::none(),
        "Parameters, MACs, sizes and peak activation memory (edgeopt inspect --json).");
}

}  // namespace edgeopt::python
