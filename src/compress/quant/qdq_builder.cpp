// Static quantization in QDQ format (what ONNX Runtime, TensorRT and OpenVINO consume):
// QuantizeLinear → DequantizeLinear pairs on activations, DequantizeLinear on int8 weight and
// int32 bias initializers; the ops themselves stay in float and a runtime fuses DQ → op → Q into
// an integer kernel.
#include <algorithm>
#include <cmath>
#include <limits>

#include "edgeopt/error.h"
#include "edgeopt/passes.h"
#include "quant_internal.h"

namespace edgeopt::quant {

bool is_passthrough_op(const std::string& op) {
  static const std::set<std::string> kOps = {"Add",     "Relu",        "Clip",
                                             "MaxPool", "AveragePool", "GlobalAveragePool",
                                             "Concat",  "Flatten",     "Reshape"};
  return kOps.count(op) > 0;
}

namespace {

bool is_f32_init(const Graph& g, const std::string& name, int rank_min, int rank_max) {
  const NamedTensor* t = name.empty() ? nullptr : g.find_initializer(name);
  return t && t->tensor.dtype() == DType::kF32 && t->tensor.rank() >= rank_min &&
         t->tensor.rank() <= rank_max;
}

// Ops whose output must carry its input's scale and zero point so that the runtime can run
// them directly on the integers (max and reshapes commute with a monotonic affine map).
bool keeps_input_params(const std::string& op) {
  return op == "MaxPool" || op == "Flatten" || op == "Reshape";
}

// Float activation inputs of a selected node that get quantized.
std::vector<std::string> activation_inputs(const Node& n, const Graph& g) {
  std::vector<std::string> out;
  if (n.op_type == "Add" || n.op_type == "Concat") {
    for (const std::string& s : n.inputs)
      if (!s.empty() && !g.find_initializer(s)) out.push_back(s);
  } else if (!n.inputs.empty() && !n.inputs[0].empty() && !g.find_initializer(n.inputs[0])) {
    out.push_back(n.inputs[0]);
  }
  return out;
}

Tensor scalar_zero(DType t, int32_t z) {
  Tensor zt(t, {});
  if (t == DType::kU8)
    zt.data<uint8_t>()[0] = static_cast<uint8_t>(z);
  else
    zt.data<int8_t>()[0] = static_cast<int8_t>(z);
  return zt;
}

}  // namespace

bool is_weighted_op(const Node& n, const Graph& g) {
  if (!n.domain.empty() && n.domain != "ai.onnx") return false;
  if (n.inputs.size() < 2 || n.inputs[0].empty() || g.find_initializer(n.inputs[0])) return false;
  if (n.op_type == "Conv") return is_f32_init(g, n.inputs[1], 3, 5);
  if (n.op_type == "MatMul") return is_f32_init(g, n.inputs[1], 2, 2);
  if (n.op_type == "Gemm") {
    if (n.attr_int("transA", 0) != 0 || n.attr_float("alpha", 1.f) != 1.f) return false;
    if (n.input(2).size() && n.attr_float("beta", 1.f) != 1.f) return false;
    return is_f32_init(g, n.inputs[1], 2, 2);
  }
  return false;
}

void prepare_for_quantization(Model& m) {
  PassOptions po;
  po.only = {"identity_elimination", "constant_folding", "conv_bn_fold", "dead_code_elimination"};
  optimize(m, po);
}

std::set<std::string> select_nodes(const Model& m, const std::set<std::string>& excluded) {
  std::set<std::string> out;
  for (const Node& n : m.graph.nodes) {
    if (excluded.count(n.name)) continue;
    if (!n.domain.empty() && n.domain != "ai.onnx") continue;
    if (is_weighted_op(n, m.graph) || is_passthrough_op(n.op_type)) out.insert(n.name);
  }
  return out;
}

std::vector<std::string> tensors_to_calibrate(const Model& m, const std::set<std::string>& nodes) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& s) {
    if (!s.empty() && seen.insert(s).second) out.push_back(s);
  };
  for (const Node& n : m.graph.nodes) {
    if (!nodes.count(n.name)) continue;
    for (const std::string& s : activation_inputs(n, m.graph)) add(s);
    if (!n.outputs.empty()) add(n.outputs[0]);
  }
  return out;
}

void remove_unused_initializers(Graph& g) {
  std::set<std::string> used;
  for (const Node& n : g.nodes)
    for (const std::string& s : n.inputs) used.insert(s);
  for (const ValueInfo& v : g.outputs) used.insert(v.name);
  std::vector<NamedTensor> keep;
  for (NamedTensor& t : g.initializers)
    if (used.count(t.name)) keep.push_back(std::move(t));
  g.initializers = std::move(keep);
  // Graph inputs that only declared a removed initializer go too (IR < 4 style models).
  std::set<std::string> inits;
  for (const NamedTensor& t : g.initializers) inits.insert(t.name);
  std::vector<ValueInfo> inputs;
  for (ValueInfo& v : g.inputs)
    if (used.count(v.name) || !inits.count(v.name)) inputs.push_back(std::move(v));
  g.inputs = std::move(inputs);
}

int weight_axis(const Node& n, bool per_channel) {
  if (!per_channel) return -1;
  if (n.op_type == "Conv") return 0;
  if (n.op_type == "Gemm") return n.attr_int("transB", 0) ? 0 : 1;
  return 1;  // MatMul: W is K × N, one scale per output column
}

QuantizedWeight quantize_weight(const Tensor& w, int axis, int qmax, const std::string& name) {
  const Tensor& wf = w;  // f32 (is_weighted_op checks)
  const int64_t n = wf.numel();
  const float* x = wf.data<float>();
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i]))
      fail_input("weight '", name, "' has inf or NaN values (element ", i,
                 "); it cannot be quantized: exclude its node or fix the model");
  // Element i belongs to channel (i / inner) % channels.
  int64_t channels = 1, inner = n;
  if (axis >= 0) {
    channels = wf.dim(axis);
    inner = 1;
    for (int d = axis + 1; d < wf.rank(); ++d) inner *= wf.dim(d);
  }
  std::vector<float> absmax(channels, 0.f);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = (i / inner) % channels;
    absmax[c] = std::max(absmax[c], std::fabs(x[i]));
  }
  QuantizedWeight r;
  r.scale = axis >= 0 ? Tensor(DType::kF32, {channels}) : Tensor(DType::kF32, {});
  r.zero = axis >= 0 ? Tensor(DType::kI8, {channels}) : Tensor(DType::kI8, {});
  float* s = r.scale.data<float>();
  // S_c = max|w_c| / qmax: the symmetric restricted range [−qmax, qmax] keeps −S·q exact.
  const float top = static_cast<float>(qmax);
  for (int64_t c = 0; c < channels; ++c) s[c] = absmax[c] > 0 ? absmax[c] / top : 1.f;
  r.q = Tensor(DType::kI8, wf.shape());
  int8_t* q = r.q.data<int8_t>();
  for (int64_t i = 0; i < n; ++i) {
    const float v = std::nearbyint(x[i] / s[(i / inner) % channels]);
    q[i] = static_cast<int8_t>(std::clamp(v, -top, top));
  }
  return r;
}

namespace {

// build_qdq's phases, one member each, sharing the graph being rewritten, the chosen
// parameters and the nodes to add.
class QdqBuilder {
 public:
  QdqBuilder(Model& m, const std::set<std::string>& nodes,
             const std::map<std::string, Range>& ranges, const QuantizeOptions& options)
      : g_(m.graph), nodes_(nodes), ranges_(ranges), options_(options) {}

  int64_t run() {
    share_concat_ranges();
    choose_activation_params();
    insert_activation_qdq();
    int64_t weighted = 0;
    for (size_t ni = 0; ni < g_.nodes.size(); ++ni)
      if (nodes_.count(g_.nodes[ni].name) && is_weighted_op(g_.nodes[ni], g_)) {
        quantize_weight_and_bias(static_cast<int>(ni));
        ++weighted;
      }
    for (Node& a : added_) g_.add_node(std::move(a));
    remove_unused_initializers(g_);
    g_.topological_sort();
    return weighted;
  }

 private:
  // A name not in the graph nor given out before.
  std::string fresh(const std::string& base) {
    std::string name = g_.unique_name(base);
    for (int k = 1; used_names_.count(name); ++k)
      name = g_.unique_name(base + "_" + std::to_string(k));
    used_names_.insert(name);
    return name;
  }

  // Conv → Relu/Clip: `t` is quantized once, after the activation (the runtime fuses it).
  bool fused_into_activation(const Node& producer, const std::string& t) const {
    static const std::set<std::string> kFusable = {"Conv", "Gemm", "MatMul", "Add"};
    if (!kFusable.count(producer.op_type)) return false;
    const std::vector<int> cons = g_.consumers(t);
    if (cons.size() != 1) return false;
    const Node& c = g_.nodes[cons[0]];
    return nodes_.count(c.name) && (c.op_type == "Relu" || c.op_type == "Clip") && c.inputs[0] == t;
  }

  // A Concat whose inputs each feed only it gets one scale and zero point for all of them and
  // its output (over the union of their ranges; TFLite's int8 spec asks the same), so that a
  // runtime concatenates the integers without requantizing: DQ → Concat → Q is then exact on q.
  void share_concat_ranges() {
    for (const Node& n : g_.nodes) {
      if (!nodes_.count(n.name) || n.op_type != "Concat" || n.outputs.size() != 1) continue;
      const std::vector<std::string> ins = activation_inputs(n, g_);
      auto out = ranges_.find(n.outputs[0]);
      if (ins.size() != n.inputs.size() || out == ranges_.end()) continue;
      Range u = out->second;
      bool ok = true;
      for (const std::string& s : ins) {
        const int p = g_.producer(s);
        auto r = ranges_.find(s);
        ok = ok && r != ranges_.end() && g_.consumers(s).size() == 1 && !g_.is_graph_output(s) &&
             !shared_.count(s) && (p < 0 || !keeps_input_params(g_.nodes[p].op_type));
        if (!ok) break;
        u.lo = std::min(u.lo, r->second.lo);
        u.hi = std::max(u.hi, r->second.hi);
      }
      if (!ok) continue;
      for (const std::string& s : ins) shared_[s] = u;
      shared_[n.outputs[0]] = u;
    }
  }

  // `t` gets a Q → DQ pair: its own parameters, those of a shared Concat range, or `inherit`.
  void want(const std::string& t, const QParams* inherit) {
    if (qp_.count(t) || g_.is_graph_output(t)) return;
    auto r = ranges_.find(t);
    if (r == ranges_.end()) return;
    auto sh = shared_.find(t);
    const Range& range = sh != shared_.end() ? sh->second : r->second;
    qp_[t] = inherit ? *inherit
                     : choose_qparams(range.lo, range.hi, options_.activations, options_.symmetric);
    order_.push_back(t);
  }

  // Tensors that get a Q → DQ pair, with their parameters (graph order, so a pass-through op's
  // input parameters are known before its output's).
  void choose_activation_params() {
    for (const Node& n : g_.nodes) {
      if (!nodes_.count(n.name)) continue;
      for (const std::string& s : activation_inputs(n, g_)) {
        const int p = g_.producer(s);
        if (p >= 0 && nodes_.count(g_.nodes[p].name) && fused_into_activation(g_.nodes[p], s))
          continue;
        want(s, nullptr);
      }
      if (n.outputs.empty() || fused_into_activation(n, n.outputs[0])) continue;
      const QParams* inherit = nullptr;
      if (keeps_input_params(n.op_type) && qp_.count(n.inputs[0])) inherit = &qp_[n.inputs[0]];
      want(n.outputs[0], inherit);
    }
  }

  // Q → DQ pairs. The selected nodes read the dequantized tensor, and so do the ops that have
  // no int8 form (Sigmoid, Mul, ... as ONNX Runtime's quantizer does: DQ → Sigmoid → Mul → Q
  // is what a runtime turns into one table lookup); only a quantizable op kept in float
  // (excluded, or fallen back for accuracy) still reads the float tensor.
  void insert_activation_qdq() {
    const DType qtype = options_.activations;
    auto reads_dequantized = [&](const Node& c) {
      return nodes_.count(c.name) || !(is_weighted_op(c, g_) || is_passthrough_op(c.op_type));
    };
    for (const std::string& t : order_) {
      const QParams p = qp_[t];
      const std::string s = fresh(t + "_scale"), z = fresh(t + "_zero_point");
      const std::string tq = fresh(t + "_quantized"), tdq = fresh(t + "_dequantized");
      dq_source_[tdq] = t;
      g_.add_initializer(s, Tensor::scalar<float>(p.scale));
      g_.add_initializer(z, scalar_zero(qtype, p.zero_point));
      for (int ci : g_.consumers(t)) {
        if (!reads_dequantized(g_.nodes[ci])) continue;
        for (size_t k = 0; k < g_.nodes[ci].inputs.size(); ++k)
          if (g_.nodes[ci].inputs[k] == t) g_.set_input(ci, k, tdq);
      }
      Node q;
      q.name = fresh(t + "_QuantizeLinear");
      q.op_type = "QuantizeLinear";
      q.inputs = {t, s, z};
      q.outputs = {tq};
      Node dq;
      dq.name = fresh(t + "_DequantizeLinear");
      dq.op_type = "DequantizeLinear";
      dq.inputs = {tq, s, z};
      dq.outputs = {tdq};
      added_.push_back(std::move(q));
      added_.push_back(std::move(dq));
    }
  }

  // The weight of node `ni` as int8 (symmetric) behind a DequantizeLinear, then its bias.
  void quantize_weight_and_bias(int ni) {
    const Node& n = g_.nodes[ni];
    const Tensor w = g_.find_initializer(n.inputs[1])->tensor;
    const int axis = weight_axis(n, options_.per_channel);
    const QuantizedWeight qw =
        quantize_weight(w, axis, options_.reduce_range ? 63 : 127, n.inputs[1]);
    const std::string base = n.inputs[1];
    const std::string wq = fresh(base + "_quantized"), ws = fresh(base + "_scale"),
                      wz = fresh(base + "_zero_point"), wdq = fresh(base + "_dequantized");
    g_.add_initializer(wq, qw.q);
    g_.add_initializer(ws, qw.scale);
    g_.add_initializer(wz, qw.zero);
    Node dq;
    dq.name = fresh(base + "_DequantizeLinear");
    dq.op_type = "DequantizeLinear";
    dq.inputs = {wq, ws, wz};
    dq.outputs = {wdq};
    if (axis >= 0) dq.set_attr_int("axis", axis);
    added_.push_back(dq);
    g_.set_input(ni, 1, wdq);
    quantize_bias(ni, w, qw);
  }

  // The f32 bias of node `ni` as int32, S_b = S_x · S_w, Z_b = 0; S_x is the scale of the
  // tensor behind the DQ that now feeds input 0. Left in float without one.
  void quantize_bias(int ni, const Tensor& w, const QuantizedWeight& qw) {
    const Node& n = g_.nodes[ni];
    const std::string bias = n.input(2);
    const NamedTensor* bt = bias.empty() ? nullptr : g_.find_initializer(bias);
    auto src = dq_source_.find(n.inputs[0]);
    const QParams* xp = src == dq_source_.end() ? nullptr : &qp_[src->second];
    const int64_t channels = n.op_type == "Conv"                                ? w.dim(0)
                             : (n.op_type == "Gemm" && n.attr_int("transB", 0)) ? w.dim(0)
                                                                                : w.dim(1);
    if (!bt || !xp || bt->tensor.dtype() != DType::kF32 || bt->tensor.rank() != 1 ||
        bt->tensor.numel() != channels)
      return;
    const Tensor b = bt->tensor;
    // Per-tensor weights give one bias scale: a scalar, which DequantizeLinear below opset 13
    // (no axis attribute) requires.
    const bool per_channel = qw.scale.numel() > 1;
    Tensor bq(DType::kI32, {channels});
    Tensor bs = per_channel ? Tensor(DType::kF32, {channels}) : Tensor(DType::kF32, {});
    for (int64_t c = 0; c < channels; ++c) {
      const float sw = per_channel ? qw.scale.data<float>()[c] : qw.scale.data<float>()[0];
      const float sb = xp->scale * sw;
      bs.data<float>()[per_channel ? c : 0] = sb;
      const double v = std::nearbyint(static_cast<double>(b.data<float>()[c]) / sb);
      bq.data<int32_t>()[c] =
          static_cast<int32_t>(std::clamp(v, double(std::numeric_limits<int32_t>::min()),
                                          double(std::numeric_limits<int32_t>::max())));
    }
    const std::string bq_name = fresh(bias + "_quantized"), bs_name = fresh(bias + "_scale"),
                      bdq = fresh(bias + "_dequantized");
    g_.add_initializer(bq_name, bq);
    g_.add_initializer(bs_name, bs);
    Node bnode;
    bnode.name = fresh(bias + "_DequantizeLinear");
    bnode.op_type = "DequantizeLinear";
    bnode.inputs = {bq_name, bs_name};
    bnode.outputs = {bdq};
    if (per_channel) bnode.set_attr_int("axis", 0);
    added_.push_back(bnode);
    g_.set_input(ni, 2, bdq);
  }

  Graph& g_;
  const std::set<std::string>& nodes_;
  const std::map<std::string, Range>& ranges_;
  const QuantizeOptions& options_;
  std::set<std::string> used_names_;
  std::map<std::string, Range> shared_;           // Concat inputs and output: their union range
  std::map<std::string, QParams> qp_;             // tensor → the parameters of its Q → DQ pair
  std::vector<std::string> order_;                // the tensors of qp_ in graph order
  std::map<std::string, std::string> dq_source_;  // dequantized name → quantized tensor
  std::vector<Node> added_;
};

}  // namespace

int64_t build_qdq(Model& m, const std::set<std::string>& nodes,
                  const std::map<std::string, Range>& ranges, const QuantizeOptions& options) {
  return QdqBuilder(m, nodes, ranges, options).run();
}

}  // namespace edgeopt::quant
