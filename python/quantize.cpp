// edgeopt._quantize: the native half of edgeopt.quantize (python/edgeopt/__init__.py gathers
// a Python calibration reader into arrays first); `edgeopt quantize --json` as a dict.
// The library calls tools/edgeopt/quantize.cpp makes, with the GIL released.
#include "edgeopt/quantize.h"

#include <filesystem>
#include <memory>

#include "bindings.h"
#include "edgeopt/data.h"
#include "edgeopt/error.h"
#include "edgeopt/fileio.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/report_json.h"

namespace edgeopt::python {
namespace {

struct QuantizeArgs {
  std::string mode, method, activations, format, eval;
  int64_t samples, batch, eval_limit;
  double percentile, max_drop;
  bool per_tensor, symmetric, cle, bias_correction, report;
  py::object reduce_range;  // None: 7-bit weights where the host has no int8 dot product
};

py::object quantize_command(const py::object& in_arg, const py::object& out_arg,
                            const py::object& calib_spec, const py::object& calib_arrays,
                            const QuantizeArgs& a, const py::object& exclude,
                            const py::object& shapes, const py::object& progress) {
  const std::string in = path_arg(in_arg), out = path_arg(out_arg);
  QuantizeOptions o;
  o.mode = parse_quant_mode(a.mode);
  o.format = parse_quant_format(a.format);
  o.activations = parse_activation_type(a.activations);
  o.method = parse_calib_method(a.method);
  if (!(a.percentile > 0 && a.percentile <= 100)) fail_input("percentile must be in (0, 100]");
  if (a.samples < 1 || a.batch < 1) fail_input("samples and batch must be at least 1");
  o.percentile = a.percentile;
  o.per_channel = !a.per_tensor;
  o.symmetric = a.symmetric;
  o.reduce_range =
      a.reduce_range.is_none() ? !host_has_int8_dot_product() : a.reduce_range.cast<bool>();
  o.exclude = names(exclude);
  o.cle = a.cle;
  o.bias_correction = a.bias_correction;
  o.samples = a.samples;
  o.batch = a.batch;
  o.max_drop_pp = a.max_drop;
  o.eval_limit = a.eval_limit;
  o.layer_report = a.report;
  if (a.max_drop >= 0 && a.eval.empty()) fail_input("max_drop needs eval (a dataset SPEC)");
  const bool has_calib = !calib_spec.is_none() || !calib_arrays.is_none();
  if (o.mode == QuantMode::kStatic && !has_calib)
    fail_input(
        "static quantization needs calib (a SPEC such as fashion-mnist:train, or "
        "batches of numpy arrays)");
  refuse_same_file(in, out);
  const py::handle stage_progress = progress;
  if (!progress.is_none())
    o.progress = [stage_progress](const std::string& stage, int64_t done, int64_t total) {
      py::gil_scoped_acquire gil;
      stage_progress(done, total, stage);
    };
  std::unique_ptr<Dataset> calib, eval;
  if (o.mode == QuantMode::kStatic && !calib_arrays.is_none()) calib = array_dataset(calib_arrays);
  const std::string spec = calib_spec.is_none() ? "" : path_arg(calib_spec);
  const std::vector<InputShape> fixed = input_shapes(shapes);
  nlohmann::json j;
  {
    py::gil_scoped_release nogil;
    const Model model = load_with_shapes(in, fixed);
    if (o.mode == QuantMode::kStatic && !calib) calib = open_dataset(spec);
    if (!a.eval.empty()) eval = open_dataset(a.eval);
    QuantizeReport r;
    const Model q = quantize_model(model, o, calib.get(), eval.get(), &r);
    save_model(q, out, {}, in);
    j = quantize_json(in, out, o, r, std::filesystem::file_size(in),
                      std::filesystem::file_size(out));
    if (!r.notes.empty()) j["notes"] = r.notes;
  }
  return to_dict(j);
}

// The model before pruning, measured as the CLI does: for structured pruning, after the shape
// and constant folding the pruner applies first, so that MACs compare like for like.

}  // namespace

void bind_quantize(py::module_& m) {
  using py::arg;
  m.def(
      "_quantize",
      [](const py::object& in, const py::object& out, const py::object& calib_spec,
         const py::object& calib_arrays, const std::string& mode, const std::string& method,
         double percentile, int64_t samples, int64_t batch, bool per_tensor,
         const std::string& activations, bool symmetric, const py::object& reduce_range,
         const std::string& format, const py::object& exclude, bool cle, bool bias_correction,
         const py::object& eval, double max_drop, int64_t eval_limit, bool report,
         const py::object& shapes, const py::object& progress) {
        QuantizeArgs a{mode,
                       method,
                       activations,
                       format,
                       eval.is_none() ? std::string() : eval.cast<std::string>(),
                       samples,
                       batch,
                       eval_limit,
                       percentile,
                       max_drop,
                       per_tensor,
                       symmetric,
                       cle,
                       bias_correction,
                       report,
                       reduce_range};
        return quantize_command(in, out, calib_spec, calib_arrays, a, exclude, shapes, progress);
      },
      arg("path"), arg("out"), arg("calib_spec"), arg("calib_arrays"), arg("mode"), arg("method"),
      arg("percentile"), arg("samples"), arg("batch"), arg("per_tensor"), arg("activations"),
      arg("symmetric"), arg("reduce_range"), arg("format"), arg("exclude"), arg("cle"),
      arg("bias_correction"), arg("eval"), arg("max_drop"), arg("eval_limit"), arg("report"),
      arg("shapes"), arg("progress"));
}

}  // namespace edgeopt::python
