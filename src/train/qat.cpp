// Quantization-aware training: fake-quantize nodes inserted into a model (insert_fake_quant),
// then the trained QDQ model made final (finalize_qdq). train.h documents both.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "edgeopt/error.h"
#include "edgeopt/passes.h"
#include "edgeopt/quantize.h"
#include "edgeopt/train.h"
#include "train/samples.h"
#include "train/torch_graph.h"

namespace edgeopt::train {
namespace {

// Channel axis of the weight input of a quantizable node; -1 when it is not quantized.
int64_t weight_axis(const Node& n, const Graph& g) {
  if (n.inputs.size() < 2) return -1;
  const NamedTensor* w = g.find_initializer(n.inputs[1]);
  if (!w || w->tensor.dtype() != DType::kF32 || w->tensor.rank() < 2) return -1;
  if (n.op_type == "Conv") return 0;
  if (n.op_type == "Gemm") return n.attr_int("transB", 0) ? 0 : 1;
  if (n.op_type == "MatMul") return w->tensor.rank() == 2 ? 1 : -1;
  return -1;
}

// A per-axis parameter (1-D, x.size(axis) elements) shaped to broadcast against x.
torch::Tensor along_axis(const torch::Tensor& p, const torch::Tensor& x, int64_t axis) {
  if (p.numel() == 1 || x.dim() <= 1) return p.reshape({});
  std::vector<int64_t> shape(x.dim(), 1);
  shape[axis < 0 ? axis + x.dim() : axis] = p.numel();
  return p.reshape(shape);
}

}  // namespace

int64_t insert_fake_quant(Model& model, Dataset& calib, const QatOptions& qo) {
  // Weights must be quantized in their final (BN-folded) form.
  PassOptions po;
  po.only = {"conv_bn_fold"};
  optimize(model, po);
  Graph& g = model.graph;

  std::vector<int> targets;
  std::set<std::string> activations;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "MatMul") continue;
    if (!n.domain.empty() || weight_axis(n, g) < 0) continue;
    targets.push_back(static_cast<int>(i));
    activations.insert(n.inputs[0]);
  }
  if (targets.empty()) fail_input("qat: the model has no Conv/Gemm/MatMul with constant weights");

  // Min/max of every quantized activation over the calibration samples.
  std::map<std::string, std::pair<float, float>> range;
  {
    torch::NoGradGuard no_grad;
    TorchGraph graph(model);
    const int64_t total = std::min(qo.calib_samples, calib.size());
    if (total <= 0) fail_input("qat: the calibration set is empty");
    for (int64_t b = 0; b < total; b += qo.batch) {
      Batch batch = calib.read(b, std::min(qo.batch, total - b));
      std::map<std::string, torch::Tensor> values;
      torch::Tensor x = fit_input(to_torch(batch.x).to(torch::kFloat), graph.inputs()[0]);
      values[graph.inputs()[0].name] = x;
      graph.forward({x}, &values);
      for (const std::string& a : activations) {
        auto it = values.find(a);
        if (it == values.end()) continue;
        const float lo = it->second.min().item<float>(), hi = it->second.max().item<float>();
        auto r = range.find(a);
        if (r == range.end())
          range[a] = {lo, hi};
        else
          r->second = {std::min(r->second.first, lo), std::max(r->second.second, hi)};
      }
    }
  }

  std::vector<Node> nodes;
  std::map<std::string, std::string> dequantized;  // activation → its DQ output
  auto add_qdq = [&](const std::string& value, const Tensor& scale, const Tensor& zp,
                     int64_t axis) {
    const std::string s = g.unique_name(value + "_scale");
    g.add_initializer(s, scale);
    const std::string z = g.unique_name(value + "_zero_point");
    g.add_initializer(z, zp);
    Node q, dq;
    q.op_type = "QuantizeLinear";
    q.name = g.unique_name(value + "_QuantizeLinear");
    q.inputs = {value, s, z};
    q.outputs = {g.unique_name(value + "_quantized")};
    dq.op_type = "DequantizeLinear";
    dq.name = g.unique_name(value + "_DequantizeLinear");
    dq.inputs = {q.outputs[0], s, z};
    dq.outputs = {g.unique_name(value + "_dequantized")};
    if (axis >= 0) {
      q.set_attr_int("axis", axis);
      dq.set_attr_int("axis", axis);
    }
    // unique_name looks at the graph's nodes: register the names before creating more.
    g.nodes.push_back(q);
    g.nodes.push_back(dq);
    nodes.push_back(q);
    nodes.push_back(dq);
    return dq.outputs[0];
  };

  const std::vector<Node> original = g.nodes;
  std::set<int> target_set(targets.begin(), targets.end());
  for (size_t i = 0; i < original.size(); ++i) {
    Node n = original[i];
    if (target_set.count(static_cast<int>(i))) {
      const std::string& a = n.inputs[0];
      if (!dequantized.count(a)) {
        auto r = range.find(a);
        if (r == range.end()) fail_input("qat: ", n.describe(), ": input '", a, "' not calibrated");
        // Per-tensor asymmetric u8, the range widened to contain 0, as post-training
        // quantization does.
        const QParams q = choose_qparams(r->second.first, r->second.second, DType::kU8, false);
        dequantized[a] = add_qdq(a, Tensor::scalar<float>(q.scale),
                                 Tensor::scalar<uint8_t>(static_cast<uint8_t>(q.zero_point)), -1);
      }
      const int64_t axis = weight_axis(n, g);
      const Tensor& w = g.find_initializer(n.inputs[1])->tensor;
      const int64_t channels = w.dim(static_cast<int>(axis));
      // S_w[c] = max |w[c, ...]| / qmax (symmetric s8, zero point 0).
      std::vector<float> scale(channels, 0.0f);
      const int64_t inner = [&] {
        int64_t p = 1;
        for (int d = static_cast<int>(axis) + 1; d < w.rank(); ++d) p *= w.dim(d);
        return p;
      }();
      for (int64_t k = 0; k < w.numel(); ++k) {
        const int64_t c = (k / inner) % channels;
        scale[c] = std::max(scale[c], std::fabs(w.data<float>()[k]));
      }
      const float qmax = static_cast<float>(qo.weight_qmax);
      for (float& s : scale) s = std::max(s / qmax, 1e-8f);
      const std::string wdq = add_qdq(n.inputs[1], Tensor::from_vector(scale, {channels}),
                                      Tensor(DType::kI8, {channels}), axis);
      n.inputs[0] = dequantized[a];
      n.inputs[1] = wdq;
    }
    nodes.push_back(n);
  }
  g.nodes = std::move(nodes);
  g.topological_sort();
  return static_cast<int64_t>(targets.size());
}

void finalize_qdq(Model& model, int weight_qmax) {
  Graph& g = model.graph;
  // Learned scales must stay positive: S ← max(|S|, 1e-8).
  for (const Node& n : g.nodes)
    if ((n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear") && n.inputs.size() > 1)
      if (NamedTensor* s = g.find_initializer(n.inputs[1]); s && s->tensor.dtype() == DType::kF32)
        for (int64_t i = 0; i < s->tensor.numel(); ++i)
          s->tensor.data<float>()[i] = std::max(std::fabs(s->tensor.data<float>()[i]), 1e-8f);
  std::vector<Node> kept;
  std::set<std::string> maybe_unused;
  for (const Node& n : g.nodes) {
    const NamedTensor* w =
        n.op_type == "QuantizeLinear" ? g.find_initializer(n.inputs[0]) : nullptr;
    if (!w || w->tensor.dtype() != DType::kF32 || n.inputs.size() < 3) {
      kept.push_back(n);
      continue;
    }
    // q = saturate(round(w / S) + Z), stored with the zero point's type.
    const torch::Tensor wt = to_torch(w->tensor);
    const torch::Tensor zt = to_torch(g.find_initializer(n.inputs[2])->tensor);
    const int64_t axis = n.attr_int("axis", 1);
    const torch::Tensor s = along_axis(to_torch(g.find_initializer(n.inputs[1])->tensor), wt, axis);
    const torch::Tensor z = along_axis(zt.to(torch::kFloat), wt, axis);
    const bool is_u8 = zt.scalar_type() == torch::kUInt8;
    const int lo = is_u8 ? 0 : std::max(-128, -weight_qmax), hi = is_u8 ? 255 : weight_qmax;
    torch::Tensor q = torch::clamp(torch::round(wt / s) + z, lo, hi);
    g.add_initializer(n.outputs[0], from_torch(q.to(is_u8 ? torch::kUInt8 : torch::kInt8)));
    maybe_unused.insert(n.inputs[0]);
  }
  g.nodes = std::move(kept);
  for (const std::string& name : maybe_unused)
    if (g.consumers(name).empty() && !g.is_graph_output(name)) g.remove_initializer(name);
}

}  // namespace edgeopt::train
