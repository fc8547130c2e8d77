// The int8 part of the oneDNN provider's graph rewrite (called from rewrite.cpp).
//
// Seeds (2-D Conv, Gemm, MatMul with s8 constant weights):
//   QDQ        DQ(x u8, per tensor), DQ(w s8 const, per tensor or per output channel)
//              [, DQ(b i32 const) or f32 b] → Conv / Gemm / MatMul
//   QOperator  QLinearConv / QLinearMatMul with constant weights and parameters
// The float result of the seed is v = sx·sw[m]·(acc + b[m] / (sx·sw[m])), acc the exact int32
// sum; oneDNN computes it as oscale[m]·(acc + bias[m]). When a QuantizeLinear (scale s, zero
// point z) takes it, oscale = sx·sw[m] / s and v is in units of s.
//
// The chain then follows q → DQ → op → Q while each value has that one reader, op being Relu,
// Clip (constant bounds) or Add with DQ(r) (r a quantized tensor of the same shape). Each step is
// emitted as exact oneDNN post-ops, replaying the reference's arithmetic:
//   Q then DQ     v ← clip(round_half_even(v), qmin − z, qmax − z)       (= q − z)
//   Relu / Clip   v ← max(v, 0) / clip(v, lo / s, hi / s)
//   Add DQ(r)     v ← (v·s / sr − zr) + r, now in units of sr
//   next Q (s2)   v ← v · (s_now / s2)
// and the last Q becomes the node's output: saturate(round(v) + z_last) in u8/s8, so that
// activations stay 8-bit between consecutive int8 nodes. Without a Q after the seed the output
// is f32 (v in real units).
//
// The phases live in int8_seed.cpp, int8_chain.cpp, int8_integer_ops.cpp and
// int8_squeeze_excitation.cpp (int8_fuser.h); this file runs them and holds what they share.
#include <cmath>
#include <unordered_set>

#include "int8_fuser.h"
#include "ir/graph_util.h"

namespace edgeopt::rt::onednn::int8 {

// A constant positive finite f32 scalar.
bool scalar_scale(const Graph& g, const std::string& v, float& s) {
  const Tensor* t = v.empty() ? nullptr : constant_of(g, v);
  if (!t || t->dtype() != DType::kF32 || t->numel() != 1) return false;
  s = t->data<float>()[0];
  return s > 0 && std::isfinite(s);
}

// A constant u8/s8 scalar zero point; absent: 0 of dtype `def`.
bool scalar_zp(const Graph& g, const std::string& v, DType def, int32_t& zp, DType& dt) {
  if (v.empty()) {
    zp = 0;
    dt = def;
    return is_8bit(def);
  }
  const Tensor* t = constant_of(g, v);
  if (!t || t->numel() != 1) return false;
  dt = t->dtype();
  if (dt == DType::kU8)
    zp = t->data<uint8_t>()[0];
  else if (dt == DType::kI8)
    zp = t->data<int8_t>()[0];
  else
    return false;
  return true;
}

// Positive finite f32 scales: one, or `count` along a 1-D tensor.
bool scales(const Graph& g, const std::string& v, int64_t count, std::vector<float>& out) {
  const Tensor* t = v.empty() ? nullptr : constant_of(g, v);
  if (!t || t->dtype() != DType::kF32 || (t->numel() != 1 && t->numel() != count)) return false;
  if (t->numel() > 1 && t->rank() != 1) return false;
  out.assign(t->data<float>(), t->data<float>() + t->numel());
  for (float s : out)
    if (!(s > 0) || !std::isfinite(s)) return false;
  return true;
}

// True when the optional zero-point input is absent or all zeros.
bool zero_zp(const Graph& g, const std::string& v) {
  if (v.empty()) return true;
  const Tensor* t = constant_of(g, v);
  if (!t) return false;
  for (int64_t i = 0; i < t->numel(); ++i)
    if (t->get_i64(i) != 0) return false;
  return true;
}

void Int8Fuser::run() {
  requantize_concat_inputs();
  dead_.assign(g_.nodes.size(), 0);
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    if (dead_[i] || !is_default(g_.nodes[i])) continue;
    const std::string op = g_.nodes[i].op_type;
    if (op == "Conv" || op == "QLinearConv")
      try_seed(static_cast<int>(i), true);
    else if (op == "Gemm" || op == "MatMul" || op == "QLinearMatMul")
      try_seed(static_cast<int>(i), false);
    else if (op == "MaxPool")
      try_max_pool(static_cast<int>(i));
    else if (op == "Concat")
      try_concat(static_cast<int>(i));
    else if (op == "Resize" || op == "Upsample")
      try_resize(static_cast<int>(i));
    else if (op == "Mul")
      try_channel_mul(static_cast<int>(i));
    else if (op == "GlobalAveragePool")
      try_global_average_pool(static_cast<int>(i));
    else if (op == "Reshape" || op == "Transpose")
      try_data_movement(static_cast<int>(i));
  }
  std::vector<Node> kept;
  for (size_t i = 0; i < g_.nodes.size(); ++i)
    if (!dead_[i]) kept.push_back(std::move(g_.nodes[i]));
  g_.nodes = std::move(kept);
  g_.invalidate_index();
  remove_unread_dq();
}

// Per-tensor params of a QuantizeLinear / DequantizeLinear node (constant scale/zero point).
bool Int8Fuser::node_qp(const Node& n, QP& p) {
  if (n.attr_int("block_size", 0) != 0 || n.inputs.size() < 2) return false;
  if (!scalar_scale(g_, n.input(1), p.scale)) return false;
  DType def = DType::kU8;
  if (n.op_type == "DequantizeLinear")
    def = dtype_of_value(g_, n.inputs[0]);
  else if (n.has_attr("output_dtype"))
    def = static_cast<DType>(n.attr_int("output_dtype", 0));
  return scalar_zp(g_, n.input(2), def, p.zp, p.dt);
}

// The DequantizeLinear producing `v` (per tensor): its quantized input and params.
bool Int8Fuser::dq_of(const std::string& v, std::string& q, QP& p) {
  const int d = g_.producer(v);
  if (d < 0 || dead_[d]) return false;
  const Node& n = g_.nodes[d];
  if (!is_default(n) || n.op_type != "DequantizeLinear" || !node_qp(n, p)) return false;
  q = n.inputs[0];
  return true;
}

// The only live node reading `v` (not a graph output, read once), or -1.
int Int8Fuser::sole_reader(const std::string& v) {
  if (g_.is_graph_output(v) || g_.use_count(v) != 1) return -1;
  const std::vector<int> r = g_.readers(v);
  return r.size() == 1 && !dead_[r[0]] ? r[0] : -1;
}

// Marks node u as absorbed by a fused node: dead, and no longer a reader or producer.
void Int8Fuser::retire(int u) {
  dead_[u] = 1;
  g_.nodes[u].inputs.clear();
  g_.nodes[u].outputs.clear();
  g_.invalidate_index();
}

// The QuantizeLinear that alone reads `v`, or -1.
int Int8Fuser::sole_q(const std::string& v, QP& p) {
  const int q = sole_reader(v);
  if (q < 0) return -1;
  const Node& n = g_.nodes[q];
  if (!is_default(n) || n.op_type != "QuantizeLinear" || n.inputs[0] != v || !node_qp(n, p))
    return -1;
  return q;
}

// DequantizeLinear nodes nobody reads any more (the seeds read their inputs directly).
void Int8Fuser::remove_unread_dq() {
  for (bool changed = true; changed;) {
    std::unordered_set<std::string> read;
    for (const Node& n : g_.nodes) {
      read.insert(n.inputs.begin(), n.inputs.end());
      if (has_subgraph(n)) subgraph_reads(n, read);
    }
    std::vector<Node> kept;
    for (Node& n : g_.nodes) {
      const bool unread = is_default(n) && n.op_type == "DequantizeLinear" &&
                          n.outputs.size() == 1 && !read.count(n.outputs[0]) &&
                          !g_.is_graph_output(n.outputs[0]);
      if (!unread) kept.push_back(std::move(n));
    }
    changed = kept.size() != g_.nodes.size();
    g_.nodes = std::move(kept);
    g_.invalidate_index();
  }
}

}  // namespace edgeopt::rt::onednn::int8

namespace edgeopt::rt::onednn {

void fuse_int8(Model& model) { int8::Int8Fuser(model).run(); }

}  // namespace edgeopt::rt::onednn
