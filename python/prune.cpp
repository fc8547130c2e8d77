// edgeopt.prune(path, out, sparsity= | structured=True, ratio=, ...): `edgeopt prune --json`.
// The library calls tools/edgeopt/prune.cpp makes, with the GIL released.
#include "edgeopt/prune.h"

#include "bindings.h"
#include "edgeopt/error.h"
#include "edgeopt/fileio.h"
#include "edgeopt/inspect.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/passes.h"
#include "edgeopt/report_json.h"

namespace edgeopt::python {
namespace {

ModelStats stats_before_pruning(const Model& model, bool structured, const std::string& path) {
  if (!structured) return inspect_model(model, 1, path);
  Model folded = model;
  PassOptions po;
  po.only = {"constant_folding", "shape_folding"};
  edgeopt::optimize(folded, po);
  return inspect_model(folded, 1, path);
}

py::object prune_command(const py::object& in_arg, const py::object& out_arg,
                         const py::object& sparsity, const py::object& ratio, bool structured,
                         const std::string& scope, const std::string& pattern,
                         const std::string& criterion, const py::object& exclude,
                         const py::object& shapes) {
  const std::string in = path_arg(in_arg), out = path_arg(out_arg);
  refuse_same_file(in, out);
  const std::vector<InputShape> fixed = input_shapes(shapes);
  StructuredPruneOptions so;
  PruneOptions uo;
  if (structured) {
    if (ratio.is_none()) fail_input("structured pruning needs ratio");
    so.ratio = ratio.cast<double>();
    so.exclude = names(exclude);
    so.criterion = parse_channel_criterion(criterion);
  } else {
    if (sparsity.is_none() && pattern != "2:4")
      fail_input("give sparsity (or structured=True and ratio)");
    uo.pattern = parse_prune_pattern(pattern);
    uo.sparsity = pattern == "2:4" ? 0.5 : sparsity.cast<double>();
    uo.scope = parse_prune_scope(scope);
    uo.exclude = names(exclude);
  }
  nlohmann::json j;
  {
    py::gil_scoped_release nogil;
    Model model = load_with_shapes(in, fixed);
    const ModelStats before = stats_before_pruning(model, structured, in);
    StructuredPruneReport sr;
    PruneReport ur;
    if (structured)
      sr = prune_structured(model, so);
    else
      ur = prune_unstructured(model, uo);
    save_model(model, out, {}, in);
    const ModelStats after = inspect_model(load_model(out), 1, out);
    j = structured ? structured_prune_json(in, out, sr, before, after)
                   : unstructured_prune_json(in, out, ur, before, after);
  }
  return to_dict(j);
}

}  // namespace

void bind_prune(py::module_& m) {
  using py::arg;
  m.def("prune", &prune_command, arg("path"), arg("out"), py::kw_only(),
        arg("sparsity") = py::none(), arg("ratio") = py::none(), arg("structured") = false,
        arg("scope") = "layer", arg("pattern") = "unstructured", arg("criterion") = "l1",
        arg("exclude") = py::none(), arg("shapes") = py::none(),
        "Magnitude pruning (sparsity=) or structured channel pruning (structured=True, "
        "ratio=), written to `out` (edgeopt prune --json).");
}

}  // namespace edgeopt::python
