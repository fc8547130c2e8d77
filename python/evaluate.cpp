// edgeopt.evaluate(path, data=SPEC, ...): `edgeopt eval --json` as a dict.
// The library calls tools/edgeopt/eval.cpp makes, with the GIL released.
#include <memory>

#include "bindings.h"
#include "edgeopt/data.h"
#include "edgeopt/error.h"
#include "edgeopt/eval.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/report_json.h"
#include "edgeopt/session.h"

namespace edgeopt::python {
namespace {

py::object evaluate_command(const py::object& path_arg_, const std::string& data, int64_t limit,
                            int64_t batch, const py::object& reference, const py::object& providers,
                            int threads, const py::object& progress) {
  const std::string path = path_arg(path_arg_);
  const std::string ref = reference.is_none() ? "" : path_arg(reference);
  if (limit < 0 || batch < 0) fail_input("limit and batch must be >= 0");
  const SessionOptions so = session_options(providers, threads);
  EvalOptions eo;
  eo.limit = limit;
  eo.batch = batch;
  eo.progress = progress_callback(progress);
  nlohmann::json j;
  {
    py::gil_scoped_release nogil;
    std::unique_ptr<Dataset> ds = open_dataset(data);
    Session session(load_model(path), so);
    std::unique_ptr<Session> ref_session;
    if (!ref.empty()) ref_session = std::make_unique<Session>(load_model(ref), so);
    j = eval_json(path, data, ref, edgeopt::evaluate(session, *ds, eo, ref_session.get()));
  }
  return to_dict(j);
}

}  // namespace

void bind_evaluate(py::module_& m) {
  using py::arg;
  m.def("evaluate", &evaluate_command, arg("path"), py::kw_only(), arg("data"), arg("limit") = 0,
        arg("batch") = 0, arg("reference") = py::none(), arg("providers") = py::none(),
        arg("threads") = 1, arg("progress") = py::none(),
        "Top-1/top-5, per-class accuracy, confusion matrix; with reference=, agreement, "
        "cosine and SQNR of the logits (edgeopt eval --json).");
}

}  // namespace edgeopt::python
