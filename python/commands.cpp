// edgeopt.inspect / benchmark / optimize / quantize / prune / lowrank / evaluate: the library
// calls the CLI's commands make (tools/edgeopt/*.cpp), returning the dict of the same
// command's --json (built by include/edgeopt/report_json.h, parsed by Python's json). The GIL
// is released while they work; progress goes to an optional callback(done, total).
#include <filesystem>
#include <memory>

#include "bindings.h"
#include "edgeopt/bench.h"
#include "edgeopt/error.h"
#include "edgeopt/eval.h"
#include "edgeopt/fileio.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/report_json.h"
#include "edgeopt/session.h"

namespace edgeopt::python {
namespace {

py::object to_dict(const nlohmann::json& j) {
  static const py::handle loads = py::object(py::module_::import("json").attr("loads")).release();
  return loads(j.dump());
}

std::vector<std::string> names(const py::object& list) {
  std::vector<std::string> out;
  if (list.is_none()) return out;
  if (py::isinstance<py::str>(list)) return {list.cast<std::string>()};
  for (const py::handle n : list) out.push_back(py::str(n).cast<std::string>());
  return out;
}

Model load_with_shapes(const std::string& path, const std::vector<InputShape>& shapes) {
  Model model = load_model(path);
  set_input_shapes(model, shapes);
  return model;
}

SessionOptions session_options(const py::object& providers, int threads) {
  if (threads < 1) fail_input("threads must be at least 1, got ", threads);
  SessionOptions o;
  o.threads = threads;
  o.providers = provider_names(providers);
  return o;
}

py::object inspect(const py::object& path_arg_, int64_t batch, const py::object& shapes) {
  const std::string path = path_arg(path_arg_);
  if (batch < 1) fail_input("batch must be at least 1, got ", batch);
  const std::vector<InputShape> fixed = input_shapes(shapes);
  nlohmann::json j;
  {
    py::gil_scoped_release nogil;
    const Model model = load_with_shapes(path, fixed);
    j = inspect_json(path, model, inspect_model(model, batch, path));
  }
  return to_dict(j);
}

py::object benchmark(const py::object& path_arg_, int runs, int warmup, int threads, int64_t batch,
                     const py::object& providers, const py::object& shapes, bool profile,
                     const py::object& progress) {
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

py::object optimize(const py::object& in_arg, const py::object& out_arg, int level,
                    const py::object& disable, const py::object& only, const py::object& shapes) {
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

struct QuantizeArgs {
  std::string mode, method, activations, format, eval;
  int64_t samples, batch, eval_limit;
  double percentile, max_drop;
  bool per_tensor, symmetric, cle, bias_correction, report;
  py::object reduce_range;  // None: 7-bit weights where the host has no int8 dot product
};

py::object quantize(const py::object& in_arg, const py::object& out_arg,
                    const py::object& calib_spec, const py::object& calib_arrays,
                    const QuantizeArgs& a, const py::object& exclude, const py::object& shapes,
                    const py::object& progress) {
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
ModelStats stats_before_pruning(const Model& model, bool structured, const std::string& path) {
  if (!structured) return inspect_model(model, 1, path);
  Model folded = model;
  PassOptions po;
  po.only = {"constant_folding", "shape_folding"};
  edgeopt::optimize(folded, po);
  return inspect_model(folded, 1, path);
}

py::object prune(const py::object& in_arg, const py::object& out_arg, const py::object& sparsity,
                 const py::object& ratio, bool structured, const std::string& scope,
                 const std::string& pattern, const std::string& criterion,
                 const py::object& exclude, const py::object& shapes) {
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

py::object lowrank(const py::object& in_arg, const py::object& out_arg, const py::object& energy,
                   const py::object& rank_ratio, const py::object& exclude) {
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

py::object evaluate(const py::object& path_arg_, const std::string& data, int64_t limit,
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

void bind_commands(py::module_& m) {
  using py::arg;
  m.def("inspect", &inspect, arg("path"), py::kw_only(), arg("batch") = 1,
        arg("shapes") = py::none(),
        "Parameters, MACs, sizes and peak activation memory (edgeopt inspect --json).");
  m.def("benchmark", &benchmark, arg("path"), py::kw_only(), arg("runs") = 50, arg("warmup") = 5,
        arg("threads") = 1, arg("batch") = 1, arg("providers") = py::none(),
        arg("shapes") = py::none(), arg("profile") = false, arg("progress") = py::none(),
        "Latency statistics, throughput, memory and sizes (edgeopt bench --json).");
  m.def("optimize", &optimize, arg("path"), arg("out"), py::kw_only(), arg("level") = 2,
        arg("disable") = py::none(), arg("only") = py::none(), arg("shapes") = py::none(),
        "Graph passes to a fixed point, written to `out` (edgeopt optimize --json).");
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
        return quantize(in, out, calib_spec, calib_arrays, a, exclude, shapes, progress);
      },
      arg("path"), arg("out"), arg("calib_spec"), arg("calib_arrays"), arg("mode"), arg("method"),
      arg("percentile"), arg("samples"), arg("batch"), arg("per_tensor"), arg("activations"),
      arg("symmetric"), arg("reduce_range"), arg("format"), arg("exclude"), arg("cle"),
      arg("bias_correction"), arg("eval"), arg("max_drop"), arg("eval_limit"), arg("report"),
      arg("shapes"), arg("progress"));
  m.def("prune", &prune, arg("path"), arg("out"), py::kw_only(), arg("sparsity") = py::none(),
        arg("ratio") = py::none(), arg("structured") = false, arg("scope") = "layer",
        arg("pattern") = "unstructured", arg("criterion") = "l1", arg("exclude") = py::none(),
        arg("shapes") = py::none(),
        "Magnitude pruning (sparsity=) or structured channel pruning (structured=True, "
        "ratio=), written to `out` (edgeopt prune --json).");
  m.def("lowrank", &lowrank, arg("path"), arg("out"), py::kw_only(), arg("energy") = py::none(),
        arg("rank_ratio") = py::none(), arg("exclude") = py::none(),
        "Truncated-SVD factorization, written to `out` (edgeopt lowrank --json).");
  m.def("evaluate", &evaluate, arg("path"), py::kw_only(), arg("data"), arg("limit") = 0,
        arg("batch") = 0, arg("reference") = py::none(), arg("providers") = py::none(),
        arg("threads") = 1, arg("progress") = py::none(),
        "Top-1/top-5, per-class accuracy, confusion matrix; with reference=, agreement, "
        "cosine and SQNR of the logits (edgeopt eval --json).");
}

}  // namespace edgeopt::python
