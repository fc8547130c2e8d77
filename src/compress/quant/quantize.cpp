// quantize_model: the driver of post-training quantization (static, dynamic, fp16), with bias
// correction, per-layer SQNR and the accuracy guard that puts the worst layers back to fp32.
#include <algorithm>
#include <cmath>
#include <limits>

#include "edgeopt/error.h"
#include "edgeopt/eval.h"
#include "edgeopt/onnx_io.h"
#include "quant_internal.h"

namespace edgeopt {
namespace {

using quant::ProbeRunner;

// Samples used for per-layer SQNR and bias correction (enough for stable means, cheap).
constexpr int64_t kProbeSamples = 256;

struct LayerStats {
  std::vector<double> signal, noise;  // Σ y², Σ (y − y_q)² per layer
};

// Runs the fp32 and quantized models on the same calibration samples and compares the outputs
// of `tensors` (same names in both models: QDQ keeps the float op outputs' names).
LayerStats compare_layers(const Model& fp32, const Model& q,
                          const std::vector<std::string>& tensors, Dataset& calib,
                          const QuantizeOptions& o, const char* stage) {
  ProbeRunner rf(fp32, tensors), rq(q, tensors);
  const int64_t total = std::min<int64_t>({o.samples, calib.size(), kProbeSamples});
  const int64_t batch = rf.batch(o.batch);
  LayerStats s;
  const size_t k = tensors.size();
  s.signal.assign(k, 0);
  s.noise.assign(k, 0);
  for (int64_t done = 0; done < total;) {
    const int64_t n = std::min(batch, total - done);
    const std::vector<Tensor> a = rf.run(calib, done, n);
    const std::vector<Tensor> b = rq.run(calib, done, n);
    for (size_t i = 0; i < k; ++i) {
      if (!a[i].has_data() || !b[i].has_data() || a[i].dtype() != DType::kF32 ||
          b[i].dtype() != DType::kF32 || a[i].numel() != b[i].numel())
        continue;
      const float* y = a[i].data<float>();
      const float* yq = b[i].data<float>();
      for (int64_t e = 0; e < a[i].numel(); ++e) {
        const double d = double(yq[e]) - double(y[e]);
        s.signal[i] += double(y[e]) * y[e];
        s.noise[i] += d * d;
      }
    }
    done += n;
    if (o.progress) o.progress(stage, done, total);
  }
  return s;
}

// Per-channel (axis 1) means of `tensors` in the fp32 model over the first calibration samples.
std::vector<std::vector<double>> channel_means(const Model& m,
                                               const std::vector<std::string>& tensors,
                                               Dataset& calib, const QuantizeOptions& o,
                                               const char* stage) {
  ProbeRunner runner(m, tensors);
  const int64_t total = std::min<int64_t>({o.samples, calib.size(), kProbeSamples});
  const int64_t batch = runner.batch(o.batch);
  std::vector<std::vector<double>> sum(tensors.size());
  std::vector<int64_t> count(tensors.size(), 0);
  for (int64_t done = 0; done < total;) {
    const int64_t n = std::min(batch, total - done);
    const std::vector<Tensor> t = runner.run(calib, done, n);
    for (size_t i = 0; i < t.size(); ++i) {
      if (!t[i].has_data() || t[i].dtype() != DType::kF32 || t[i].rank() < 2) continue;
      const int64_t ch = t[i].dim(1);
      const int64_t inner = t[i].numel() / std::max<int64_t>(1, t[i].dim(0) * ch);
      if (sum[i].empty()) sum[i].assign(ch, 0);
      if (static_cast<int64_t>(sum[i].size()) != ch) continue;
      const float* x = t[i].data<float>();
      for (int64_t e = 0; e < t[i].numel(); ++e) sum[i][(e / inner) % ch] += x[e];
      count[i] += t[i].numel() / ch;
    }
    done += n;
    if (o.progress) o.progress(stage, done, total);
  }
  for (size_t i = 0; i < sum.size(); ++i)
    for (double& v : sum[i]) v = count[i] ? v / double(count[i]) : 0;
  return sum;
}

// Bias correction of weight rounding (Nagel et al. 2019, empirical variant): with
// ε = dequantize(quantize(W)) − W, the quantized layer's output moves on average by
// E[ε x] = ε E[x], and b' = b − ε E[x] cancels that. For a conv, E[x] is the input's
// per-channel mean taken as constant over space:
//   Δb[m] = Σ_{c,k} ε[m, c, k] · E[x_{group(m)·C_g + c}].
// Changes the fp32 model's bias, which build_qdq then quantizes to int32. Returns false when
// the node has no usable bias slot (MatMul, a shared or non-f32 bias) or the means do not fit.
bool correct_bias(Model& m, Node& n, const std::vector<double>& mean, const QuantizeOptions& o) {
  if (n.op_type == "MatMul" || mean.empty()) return false;
  const Tensor& w = m.graph.find_initializer(n.inputs[1])->tensor;
  const bool nk = n.op_type == "Conv" || n.attr_int("transB", 0);  // W is out × in (× k...)
  const int64_t out = nk ? w.dim(0) : w.dim(1);
  const int64_t in = nk ? w.dim(1) : w.dim(0);
  const int64_t k = w.numel() / std::max<int64_t>(1, out * in);
  const int64_t groups = n.op_type == "Conv" ? n.attr_int("group", 1) : 1;
  if (groups <= 0 || out % groups != 0 || static_cast<int64_t>(mean.size()) != in * groups)
    return false;
  const std::string bname = n.input(2);
  Tensor b(DType::kF32, {out});
  if (!bname.empty()) {
    const NamedTensor* bt = m.graph.find_initializer(bname);
    if (!bt || bt->tensor.numel() != out || bt->tensor.dtype() != DType::kF32) return false;
    if (m.graph.consumers(bname).size() != 1) return false;
    b = bt->tensor.clone().reshaped({out});
  }
  const quant::QuantizedWeight qw = quant::quantize_weight(w, quant::weight_axis(n, o.per_channel),
                                                           o.reduce_range ? 63 : 127, n.inputs[1]);
  const float* wf = w.data<float>();
  const int8_t* q = qw.q.data<int8_t>();
  const float* s = qw.scale.data<float>();
  const bool per_channel = qw.scale.numel() > 1;
  const int64_t out_per_group = out / groups;
  for (int64_t oc = 0; oc < out; ++oc) {
    const int64_t first = (oc / out_per_group) * in;  // first input channel of oc's group
    const double so = s[per_channel ? oc : 0];
    double delta = 0;
    for (int64_t c = 0; c < in; ++c) {
      double eps = 0;
      for (int64_t j = 0; j < k; ++j) {
        const int64_t idx = nk ? (oc * in + c) * k + j : c * out + oc;
        eps += double(q[idx]) * so - double(wf[idx]);
      }
      delta += eps * mean[first + c];
    }
    b.data<float>()[oc] -= static_cast<float>(delta);
  }
  if (bname.empty()) {
    const std::string nb = m.graph.unique_name(n.name + "_bias");
    m.graph.add_initializer(nb, b);
    n.inputs.resize(3);
    n.inputs[2] = nb;
    m.graph.invalidate_index();
  } else {
    m.graph.add_initializer(bname, b);
  }
  return true;
}

double sqnr_db(double signal, double noise) {
  if (noise <= 0) return std::numeric_limits<double>::infinity();
  if (signal <= 0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

double top1_of(const Model& m, Dataset& eval, const QuantizeOptions& o, const char* stage) {
  Session s(m, quant::reference_session());
  EvalOptions eo;
  eo.limit = o.eval_limit;
  if (o.progress) eo.progress = [&](int64_t d, int64_t t) { o.progress(stage, d, t); };
  return evaluate(s, eval, eo).metrics.top1();
}

}  // namespace

Model quantize_model(const Model& model, const QuantizeOptions& o, Dataset* calib, Dataset* eval,
                     QuantizeReport* report) {
  QuantizeReport local;
  QuantizeReport& r = report ? *report : local;
  r = QuantizeReport();
  r.mode = o.mode == QuantMode::kStatic    ? "static"
           : o.mode == QuantMode::kDynamic ? "dynamic"
                                           : "fp16";
  r.format = o.format == QuantFormat::kQdq ? "qdq" : "qoperator";
  r.method = calib_method_name(o.method);
  if (o.activations != DType::kU8 && o.activations != DType::kI8)
    fail_input("activations must be u8 or i8, not ", dtype_name(o.activations));
  std::set<std::string> excluded(o.exclude.begin(), o.exclude.end());
  for (const std::string& e : excluded) {
    bool found = false;
    for (const Node& n : model.graph.nodes) found = found || n.name == e;
    if (!found) fail_input("--exclude: no node named '", e, "' in the model");
  }

  Model m = model;
  if (o.mode == QuantMode::kFp16) {
    quant::convert_fp16(m);
    return m;
  }
  // The ops quantization emits need a newer opset than some exporters write.
  const std::string note =
      o.mode == QuantMode::kDynamic ? ensure_opset(m, 11, "DynamicQuantizeLinear needs 11")
      : o.per_channel               ? ensure_opset(m, 13, "per-channel DequantizeLinear needs 13")
                                    : ensure_opset(m, 10, "QuantizeLinear needs 10");
  if (!note.empty()) r.notes.push_back(note);
  quant::prepare_for_quantization(m);
  if (o.mode == QuantMode::kDynamic) {
    r.quantized_nodes =
        quant::quantize_dynamic(m, excluded, o.per_channel, o.reduce_range ? 63 : 127);
    return m;
  }

  // ---- static ----
  if (eval) require_labels(*eval, "--eval");
  if (!calib) fail_input("static quantization needs calibration data (--calib SPEC)");
  if (calib->size() <= 0) fail_input("calibration set ", calib->describe(), " is empty");
  if (o.samples <= 0) fail_input("--samples must be positive");
  if (o.cle) r.cle_pairs = quant::cross_layer_equalize(m);

  std::set<std::string> nodes = quant::select_nodes(m, excluded);
  const std::vector<std::string> tensors = quant::tensors_to_calibrate(m, nodes);
  const std::map<std::string, Histogram> hist = quant::collect_histograms(m, tensors, *calib, o);
  const std::map<std::string, quant::Range> ranges = quant::ranges_from_histograms(hist, o);
  r.calib_samples = std::min<int64_t>(o.samples, calib->size());
  r.calibrated_tensors = static_cast<int64_t>(ranges.size());

  // Weighted nodes and their outputs: the layers whose SQNR is reported.
  std::vector<const Node*> weighted;
  std::vector<std::string> outputs;
  for (const Node& n : m.graph.nodes)
    if (nodes.count(n.name) && quant::is_weighted_op(n, m.graph)) {
      weighted.push_back(&n);
      outputs.push_back(n.outputs[0]);
    }
  auto build = [&](const std::set<std::string>& sel) {
    Model q = m;
    r.quantized_nodes = quant::build_qdq(q, sel, ranges, o);
    return q;
  };
  Model q = build(nodes);

  if (o.bias_correction && !weighted.empty()) {
    std::vector<std::string> inputs;
    for (const Node* n : weighted) inputs.push_back(n->inputs[0]);
    const std::vector<std::vector<double>> means =
        channel_means(m, inputs, *calib, o, "bias correction");
    for (size_t i = 0; i < weighted.size(); ++i) {
      Node& n = m.graph.nodes[weighted[i] - m.graph.nodes.data()];
      if (correct_bias(m, n, means[i], o)) ++r.bias_corrected;
    }
    q = build(nodes);
  }

  const bool guard = eval && o.max_drop_pp >= 0;
  r.guard = guard;
  if (guard || o.layer_report) {
    const LayerStats s = compare_layers(m, q, outputs, *calib, o, "layer SQNR");
    for (size_t i = 0; i < weighted.size(); ++i)
      r.layers.push_back({weighted[i]->name, weighted[i]->op_type, outputs[i],
                          sqnr_db(s.signal[i], s.noise[i]), false});
  }
  if (guard) {
    r.top1_fp32 = top1_of(m, *eval, o, "eval fp32");
    r.top1_quant = top1_of(q, *eval, o, "eval int8");
    r.eval_count = o.eval_limit > 0 ? std::min(o.eval_limit, eval->size()) : eval->size();
    std::vector<size_t> order(r.layers.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return r.layers[a].sqnr_db < r.layers[b].sqnr_db; });
    Model best = q;
    double best_top1 = r.top1_quant;
    std::vector<std::string> best_fallback;
    for (size_t k = 0; k < order.size() && (r.top1_fp32 - best_top1) * 100 > o.max_drop_pp; ++k) {
      LayerSqnr& l = r.layers[order[k]];
      nodes.erase(l.node);
      r.fallback.push_back(l.node);
      Model cand = build(nodes);
      const double t = top1_of(cand, *eval, o, ("eval without " + l.node).c_str());
      if (t >= best_top1) {
        best = std::move(cand);
        best_top1 = t;
        best_fallback = r.fallback;
      }
    }
    r.fallback = best_fallback;
    for (LayerSqnr& l : r.layers)
      l.fp32 = std::find(r.fallback.begin(), r.fallback.end(), l.node) != r.fallback.end();
    q = std::move(best);
    r.top1_quant = best_top1;
    r.target_met = (r.top1_fp32 - r.top1_quant) * 100 <= o.max_drop_pp + 1e-9;
    r.quantized_nodes = static_cast<int64_t>(weighted.size() - r.fallback.size());
  }
  for (LayerSqnr& l : r.layers)
    if (excluded.count(l.node)) l.fp32 = true;
  if (o.format == QuantFormat::kQOperator) quant::qdq_to_qoperator(q);
  return q;
}

}  // namespace edgeopt
