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
#include <cmath>
#include <limits>
#include <unordered_set>

#include "common.h"
#include "ir/graph_util.h"

namespace edgeopt::rt::onednn {
namespace {

bool is_default(const Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

// Per-tensor quantization parameters of a value.
struct QP {
  float scale = 1;
  int32_t zp = 0;
  DType dt = DType::kUndefined;
  bool operator==(const QP& o) const { return scale == o.scale && zp == o.zp && dt == o.dt; }
};

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

float at(const std::vector<float>& v, int64_t i) { return v.size() == 1 ? v[0] : v[i]; }

class Int8Fuser {
 public:
  explicit Int8Fuser(Model& m) : m_(m), g_(m.graph) {}

  void run() {
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
    }
    std::vector<Node> kept;
    for (size_t i = 0; i < g_.nodes.size(); ++i)
      if (!dead_[i]) kept.push_back(std::move(g_.nodes[i]));
    g_.nodes = std::move(kept);
    g_.invalidate_index();
    remove_unread_dq();
  }

 private:
  // What a seed computes before its chain: v = acc_scale[m] * (acc + bias_acc[m]).
  struct Seed {
    std::string x;
    QP xq;
    std::string w;                 // s8 constant: conv [M, C/g, kh, kw], gemm [K, N]
    std::vector<float> acc_scale;  // per output channel or one
    std::vector<float> bias_acc;   // empty: no bias
    std::string out;               // the seed's output value
    bool quantized_out = false;    // QLinear*: `out` is already quantized with params outq
    QP outq;
  };

  // Per-tensor params of a QuantizeLinear / DequantizeLinear node (constant scale/zero point).
  bool node_qp(const Node& n, QP& p) {
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
  bool dq_of(const std::string& v, std::string& q, QP& p) {
    const int d = g_.producer(v);
    if (d < 0 || dead_[d]) return false;
    const Node& n = g_.nodes[d];
    if (!is_default(n) || n.op_type != "DequantizeLinear" || !node_qp(n, p)) return false;
    q = n.inputs[0];
    return true;
  }

  // The only live node reading `v` (not a graph output, read once), or -1.
  int sole_reader(const std::string& v) {
    if (g_.is_graph_output(v) || g_.use_count(v) != 1) return -1;
    const std::vector<int> r = g_.readers(v);
    return r.size() == 1 && !dead_[r[0]] ? r[0] : -1;
  }

  // Marks node u as absorbed by a fused node: dead, and no longer a reader or producer.
  void retire(int u) {
    dead_[u] = 1;
    g_.nodes[u].inputs.clear();
    g_.nodes[u].outputs.clear();
    g_.invalidate_index();
  }

  // The QuantizeLinear that alone reads `v`, or -1.
  int sole_q(const std::string& v, QP& p) {
    const int q = sole_reader(v);
    if (q < 0) return -1;
    const Node& n = g_.nodes[q];
    if (!is_default(n) || n.op_type != "QuantizeLinear" || n.inputs[0] != v || !node_qp(n, p))
      return -1;
    return q;
  }

  // Weights of a DQ(s8 const) with zero zero points; axis: the output-channel axis.
  bool dq_weights(const std::string& v, int rank, int64_t axis, std::string& w,
                  std::vector<float>& ws) {
    const int d = g_.producer(v);
    if (d < 0) return false;
    const Node& n = g_.nodes[d];
    if (!is_default(n) || n.op_type != "DequantizeLinear" || n.attr_int("block_size", 0))
      return false;
    const Tensor* t = constant_of(g_, n.inputs[0]);
    if (!t || t->dtype() != DType::kI8 || t->rank() != rank || !zero_zp(g_, n.input(2)))
      return false;
    if (!scales(g_, n.input(1), t->dim(axis), ws)) return false;
    if (ws.size() > 1) {
      int64_t a = n.attr_int("axis", 1);
      if (a < 0) a += rank;
      if (a != axis) return false;
    }
    w = n.inputs[0];
    return true;
  }

  // Bias in real units: DQ(i32 const) with zero zero points, or an f32 constant; [count].
  bool real_bias(const std::string& v, int64_t count, std::vector<float>& b) {
    if (const Tensor* t = constant_of(g_, v)) {
      if (t->dtype() != DType::kF32 || t->numel() != count) return false;
      b.assign(t->data<float>(), t->data<float>() + count);
      return true;
    }
    const int d = g_.producer(v);
    if (d < 0) return false;
    const Node& n = g_.nodes[d];
    if (!is_default(n) || n.op_type != "DequantizeLinear") return false;
    const Tensor* t = constant_of(g_, n.inputs[0]);
    std::vector<float> s;
    if (!t || t->dtype() != DType::kI32 || t->numel() != count || !zero_zp(g_, n.input(2)) ||
        !scales(g_, n.input(1), count, s))
      return false;
    b.resize(count);
    // As DequantizeLinear computes it: float(b - 0) * scale.
    for (int64_t m = 0; m < count; ++m) b[m] = static_cast<float>(t->data<int32_t>()[m]) * at(s, m);
    return true;
  }

  bool conv_seed(const Node& n, Seed& s) {
    if (n.outputs.size() != 1 || n.inputs.size() < 2) return false;
    if (rank_of(g_, n.inputs[0]) != 4) return false;
    if (n.op_type == "QLinearConv") return qlinear_seed(n, true, s);
    std::vector<float> ws;
    if (!dq_of(n.inputs[0], s.x, s.xq) || !dq_weights(n.inputs[1], 4, 0, s.w, ws)) return false;
    const int64_t m = constant_of(g_, s.w)->dim(0);
    std::vector<float> b;
    if (!n.input(2).empty() && !real_bias(n.input(2), m, b)) return false;
    finish_qdq_seed(s, ws, b, m);
    s.out = n.outputs[0];
    return true;
  }

  // Gemm (transA 0, alpha 1, beta 1) or MatMul with B [K, N]; weights become [K, N].
  bool gemm_seed(const Node& n, Seed& s) {
    if (n.outputs.size() != 1 || n.inputs.size() < 2) return false;
    if (n.op_type == "QLinearMatMul") return qlinear_seed(n, false, s);
    const bool gemm = n.op_type == "Gemm";
    if (gemm && (n.attr_int("transA", 0) || n.attr_float("alpha", 1.f) != 1.f ||
                 n.attr_float("beta", 1.f) != 1.f))
      return false;
    if (gemm && rank_of(g_, n.inputs[0]) != 2) return false;
    if (!gemm && (n.inputs.size() != 2 || rank_of(g_, n.inputs[0]) < 1)) return false;
    const bool trans_b = gemm && n.attr_int("transB", 0);
    std::vector<float> ws;
    std::string w;
    if (!dq_of(n.inputs[0], s.x, s.xq) || !dq_weights(n.inputs[1], 2, trans_b ? 0 : 1, w, ws))
      return false;
    const Tensor& wt = *constant_of(g_, w);
    const int64_t nn = trans_b ? wt.dim(0) : wt.dim(1);
    std::vector<float> b;
    if (gemm && !n.input(2).empty() && !real_bias(n.input(2), nn, b)) return false;
    s.w = trans_b ? transposed(w, wt) : w;
    finish_qdq_seed(s, ws, b, nn);
    s.out = n.outputs[0];
    return true;
  }

  std::string transposed(const std::string& name, const Tensor& t) {
    const int64_t r = t.dim(0), c = t.dim(1);
    Tensor out(DType::kI8, {c, r});
    const int8_t* a = t.data<int8_t>();
    int8_t* b = out.data<int8_t>();
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < c; ++j) b[j * r + i] = a[i * c + j];
    return add_constant(m_, name + "_kn", out);
  }

  void finish_qdq_seed(Seed& s, const std::vector<float>& ws, const std::vector<float>& b,
                       int64_t m) {
    s.acc_scale.resize(ws.size());
    for (size_t k = 0; k < ws.size(); ++k) s.acc_scale[k] = s.xq.scale * ws[k];
    if (!b.empty()) {
      s.bias_acc.resize(m);
      for (int64_t k = 0; k < m; ++k) s.bias_acc[k] = b[k] / at(s.acc_scale, k);
    }
  }

  // QLinearConv (x, xs, xz, w, ws, wz, ys, yz, B) / QLinearMatMul (a, as, az, b, bs, bz, ys, yz).
  bool qlinear_seed(const Node& n, bool conv, Seed& s) {
    if (n.inputs.size() < 8) return false;
    const Tensor* w = constant_of(g_, n.inputs[3]);
    if (!w || w->dtype() != DType::kI8 || w->rank() != (conv ? 4 : 2) || !zero_zp(g_, n.input(5)))
      return false;
    const int64_t m = conv ? w->dim(0) : w->dim(1);
    std::vector<float> ws;
    if (!scales(g_, n.input(4), m, ws)) return false;
    if (!scalar_scale(g_, n.input(1), s.xq.scale) ||
        !scalar_zp(g_, n.input(2), dtype_of_value(g_, n.inputs[0]), s.xq.zp, s.xq.dt) ||
        !scalar_scale(g_, n.input(6), s.outq.scale) ||
        !scalar_zp(g_, n.input(7), DType::kU8, s.outq.zp, s.outq.dt))
      return false;
    if (conv && n.inputs.size() > 8 && !n.input(8).empty()) {
      const Tensor* b = constant_of(g_, n.input(8));
      if (!b || b->dtype() != DType::kI32 || b->numel() != m) return false;
      s.bias_acc.resize(m);
      for (int64_t k = 0; k < m; ++k) s.bias_acc[k] = static_cast<float>(b->data<int32_t>()[k]);
    }
    s.x = n.inputs[0];
    s.w = n.inputs[3];
    // The reference's multiplier x_scale * w_scale / y_scale, in that order.
    s.acc_scale.resize(ws.size());
    for (size_t k = 0; k < ws.size(); ++k) s.acc_scale[k] = s.xq.scale * ws[k];
    s.out = n.outputs[0];
    s.quantized_out = true;
    return true;
  }

  // Constant Clip bounds (attributes before opset 11, inputs from 11).
  bool clip_bounds(const Node& n, float& lo, float& hi) {
    lo = -3.402823466e+38f;
    hi = 3.402823466e+38f;
    if (m_.opset() < 11) {
      lo = n.attr_float("min", lo);
      hi = n.attr_float("max", hi);
      return true;
    }
    for (size_t i = 1; i <= 2; ++i) {
      if (n.input(i).empty()) continue;
      const Tensor* c = constant_of(g_, n.input(i));
      if (!c || c->numel() != 1 || c->dtype() != DType::kF32) return false;
      (i == 1 ? lo : hi) = c->data<float>()[0];
    }
    return true;
  }

  // Known dims of a value (every dim static or named), else empty.
  std::vector<Dim> dims_of(const std::string& v) {
    const ValueInfo* vi = g_.find_value_info(v);
    if (!vi || !vi->has_shape) {
      auto it = g_.inferred.find(v);
      if (it == g_.inferred.end() || !it->second.has_shape) return {};
      vi = &it->second;
    }
    for (const Dim& d : vi->dims)
      if (!d.is_static() && d.param.empty()) return {};
    return vi->dims;
  }

  // Relu / Clip (constant bounds) nodes that alone read `v`, one after the other, as post-ops in
  // real units (Clip bounds scaled by append_scaled); returns the last output.
  std::string activations(std::string v, std::vector<PostOp>& acts, std::vector<int>& used) {
    for (;;) {
      const int r = sole_reader(v);
      if (r < 0) return v;
      const Node& op = g_.nodes[r];
      if (!is_default(op) || op.outputs.size() != 1 || op.inputs.empty() || op.inputs[0] != v)
        return v;
      if (op.op_type == "Relu") {
        acts.push_back({"Relu", 0.f, 0.f});
      } else if (op.op_type == "Clip") {
        float lo, hi;
        if (!clip_bounds(op, lo, hi)) return v;
        acts.push_back({"Clip", lo, hi});
      } else {
        return v;
      }
      used.push_back(r);
      v = op.outputs[0];
    }
  }

  // Activations on v in units of `unit` (relu(v·u) = relu(v)·u; clip bounds divide by u).
  static void append_scaled(std::vector<PostOp>& post, const std::vector<PostOp>& acts,
                            float unit) {
    for (PostOp p : acts) {
      if (p.op == "Clip") {
        p.alpha /= unit;
        p.beta /= unit;
      }
      post.push_back(p);
    }
  }

  // Adjacent Relu / Clip post-ops as one Clip: clip(clip(v, a, b), c, d) = clip(v, max(a, c),
  // min(b, d)) when those bounds do not cross; relu = clip(v, 0, +inf).
  static std::vector<PostOp> merge_clamps(const std::vector<PostOp>& post) {
    const auto clamp = [](const PostOp& p, float& lo, float& hi) {
      if (p.op == "Relu") {
        lo = 0.f;
        hi = std::numeric_limits<float>::infinity();
        return true;
      }
      lo = p.alpha;
      hi = p.beta;
      return p.op == "Clip";
    };
    std::vector<PostOp> out;
    for (const PostOp& p : post) {
      float lo1, hi1, lo2, hi2;
      if (!out.empty() && clamp(out.back(), lo1, hi1) && clamp(p, lo2, hi2) &&
          std::max(lo1, lo2) <= std::min(hi1, hi2)) {
        out.back() = {"Clip", std::max(lo1, lo2), std::min(hi1, hi2)};
        continue;
      }
      out.push_back(p);
    }
    return out;
  }

  void try_seed(int i, bool conv) {
    Seed s;
    if (!(conv ? conv_seed(g_.nodes[i], s) : gemm_seed(g_.nodes[i], s))) return;
    // u8 activations only: oneDNN 2.6's AVX2 s8 × s8 3×3 convolution was measured inexact
    // (its s8 source handling, meant to avoid int16 saturation, changes the arithmetic).
    if (s.xq.dt != DType::kU8) return;
    std::vector<PostOp> post;
    std::vector<std::string> adds;
    std::vector<int> used;  // nodes absorbed by the chain
    std::string out = s.out;
    QP cur = s.outq;
    bool quantized = s.quantized_out;
    if (!quantized) {
      // Seed → [Relu / Clip] → Q (PyTorch's QDQ export quantizes after the activation).
      std::vector<int> acts_used;
      std::vector<PostOp> acts;
      const std::string v = activations(out, acts, acts_used);
      const int q = sole_q(v, cur);
      if (q >= 0 && is_8bit(cur.dt)) {
        quantized = true;
        out = g_.nodes[q].outputs[0];
        append_scaled(post, acts, cur.scale);
        used.insert(used.end(), acts_used.begin(), acts_used.end());
        used.push_back(q);
      }
    }
    const float first_unit = quantized ? cur.scale : 1.f;
    // oneDNN 2.6's AVX2 int8 grouped convolution gets binary post-ops wrong when the channel
    // count is not a multiple of 8: such convs take one step and no residual Add (the step's
    // post-ops are then one eltwise op of each kind, see qconv.cpp).
    const Node& seed = g_.nodes[i];
    const int64_t channels = s.acc_scale.size() > 1 ? int64_t(s.acc_scale.size())
                                                    : constant_of(g_, s.w)->dim(conv ? 0 : 1);
    const bool tail_grouped = conv && seed.attr_int("group", 1) > 1 && channels % 8 != 0;
    int chain_steps = 0;
    while (quantized && !(tail_grouped && chain_steps == 1)) {
      // out → DQ (same params) → [Add DQ(r)] → [Relu / Clip ...] → Q.
      const int d = sole_reader(out);
      QP dq;
      if (d < 0 || !is_default(g_.nodes[d]) || g_.nodes[d].op_type != "DequantizeLinear" ||
          !node_qp(g_.nodes[d], dq) || !(dq == cur))
        break;
      std::string v = g_.nodes[d].outputs[0];
      std::vector<int> step_used = {d};
      std::vector<PostOp> steps = {{"Round", 0.f, 0.f},
                                   {"Clip", static_cast<float>(qmin(cur.dt) - cur.zp),
                                    static_cast<float>(qmax(cur.dt) - cur.zp)}};
      float unit = cur.scale;  // of v after the Add
      std::string residual;
      const int r = sole_reader(v);
      if (r >= 0 && is_default(g_.nodes[r]) && g_.nodes[r].op_type == "Add" &&
          g_.nodes[r].inputs.size() == 2 && g_.nodes[r].outputs.size() == 1 &&
          g_.nodes[r].inputs[0] != g_.nodes[r].inputs[1]) {
        const Node& op = g_.nodes[r];
        if (tail_grouped) break;
        const std::string other = op.inputs[0] == v ? op.inputs[1] : op.inputs[0];
        QP rq;
        const std::vector<Dim> dy = dims_of(v), dr = dims_of(other);
        if (!dq_of(other, residual, rq) || dy.empty() || dy != dr) break;
        if ((conv && dy.size() != 4) || !is_8bit(rq.dt)) break;
        // v·s/sr − zr + r = ((q − z)·s + (r − zr)·sr) / sr
        steps.push_back({"Linear", cur.scale / rq.scale, static_cast<float>(-rq.zp)});
        steps.push_back({"Add", 0.f, 0.f});
        unit = rq.scale;
        step_used.push_back(r);
        v = op.outputs[0];
      }
      std::vector<PostOp> acts;
      v = activations(v, acts, step_used);
      QP next;
      const int q2 = sole_q(v, next);
      if (q2 < 0 || !is_8bit(next.dt)) break;
      // Q(DQ(q)) with other parameters (requantize_concat_inputs makes them) is a step too.
      if (residual.empty() && acts.empty() && next == cur) break;
      append_scaled(steps, acts, unit);
      steps.push_back({"Linear", unit / next.scale, 0.f});
      post.insert(post.end(), steps.begin(), steps.end());
      if (!residual.empty()) adds.push_back(residual);
      used.insert(used.end(), step_used.begin(), step_used.end());
      used.push_back(q2);
      out = g_.nodes[q2].outputs[0];
      cur = next;
      ++chain_steps;
    }
    post = merge_clamps(post);

    const Node& n = g_.nodes[i];
    Node f;
    f.name = n.name;
    f.op_type = conv ? "QConv" : "QGemm";
    f.domain = kDomain;
    if (conv)
      for (const Attribute& a : n.attributes)
        if (a.name != "post_ops") f.attributes.push_back(a);
    std::vector<float> oscale(s.acc_scale.size());
    for (size_t k = 0; k < oscale.size(); ++k) oscale[k] = s.acc_scale[k] / first_unit;
    std::string bias;
    if (!s.bias_acc.empty())
      bias = add_constant(m_, n.name + "_bias_acc",
                          Tensor::from_vector(s.bias_acc, {int64_t(s.bias_acc.size())}));
    const std::string os =
        add_constant(m_, n.name + "_oscale", Tensor::from_vector(oscale, {int64_t(oscale.size())}));
    f.inputs = {s.x, s.w, bias, os};
    f.inputs.insert(f.inputs.end(), adds.begin(), adds.end());
    f.outputs = {out};
    f.set_attr_int("x_zero_point", s.xq.zp);
    f.set_attr_int("y_zero_point", quantized ? cur.zp : 0);
    f.set_attr_int("y_dtype", static_cast<int64_t>(quantized ? cur.dt : DType::kF32));
    set_post_ops(f, post);
    g_.nodes[i] = std::move(f);
    g_.invalidate_index();  // node i replaced in place
    for (int u : used) retire(u);
  }

  // DQ(q) → MaxPool → Q with the same parameters: Q(max(DQ(q))) = max(q) exactly (DQ is
  // increasing and Q(DQ(q)) = q), so the pool runs on q (edgeopt.onednn MaxPool, u8/s8).
  void try_max_pool(int i) {
    const Node& n = g_.nodes[i];
    if (n.outputs.size() != 1 || n.inputs.size() != 1) return;
    if (!run_on_8bit(i)) return;
    g_.nodes[i].domain = kDomain;
  }

  // Node i of a rank-4 input reads DQ(q) alone and feeds one Q with the DQ's parameters (8-bit):
  // then it reads q and writes the Q's output, the DQ and Q retired. False (nothing changed)
  // otherwise.
  bool run_on_8bit(int i) {
    const Node& n = g_.nodes[i];
    if (rank_of(g_, n.inputs[0]) != 4) return false;
    const int d = g_.producer(n.inputs[0]);
    if (d < 0 || dead_[d] || sole_reader(n.inputs[0]) != i) return false;
    std::string q;
    QP in, out;
    if (!dq_of(n.inputs[0], q, in) || !is_8bit(in.dt)) return false;
    const int q2 = sole_q(n.outputs[0], out);
    if (q2 < 0 || !(out == in)) return false;
    Node& m = g_.nodes[i];
    m.inputs[0] = q;
    m.outputs = {g_.nodes[q2].outputs[0]};
    g_.invalidate_index();
    retire(d);
    retire(q2);
    return true;
  }

  // DQ(q) → Resize → Q with the same parameters, a Resize that resize.cpp computes: nearest
  // copies q exactly; linear gives Q(lerp(DQ(q))) = round(lerp(q)) (DQ and Q are affine with
  // the same s and integer z, and a convex combination stays in range), which the kernel
  // computes on q in float (the reference in three steps, so a result near a rounding tie may
  // differ by one). The Resize reads q and writes the Q's output; the layout pass runs it
  // channels-last.
  void try_resize(int i) {
    if (resize_supported(g_.nodes[i], m_.opset())) run_on_8bit(i);
  }

  // Concat(DQ(q1), DQ(q2), ...) → Q, every DQ and the Q with the same parameters (edgeopt's
  // quantizer gives a Concat's inputs its output's, as TFLite does): Q(DQ(q)) = q, so the Concat
  // runs on the integers. It stays a default-domain Concat; the layout pass runs it channels-last.
  void try_concat(int i) {
    const Node& n = g_.nodes[i];
    if (n.outputs.size() != 1 || n.inputs.empty()) return;
    std::vector<std::string> qs;
    std::vector<int> used;
    QP first;
    for (const std::string& v : n.inputs) {
      const int d = v.empty() ? -1 : g_.producer(v);
      std::string q;
      QP p;
      if (d < 0 || dead_[d] || sole_reader(v) != i || !dq_of(v, q, p)) return;
      if (!is_8bit(p.dt)) return;
      if (qs.empty())
        first = p;
      else if (!(p == first))
        return;
      qs.push_back(q);
      used.push_back(d);
    }
    QP out;
    const int q2 = sole_q(n.outputs[0], out);
    if (q2 < 0 || !(out == first)) return;
    used.push_back(q2);
    Node& concat = g_.nodes[i];
    concat.inputs = qs;
    concat.outputs = {g_.nodes[q2].outputs[0]};
    g_.invalidate_index();
    for (int u : used) retire(u);
  }

  // A QChannelMul / QGlobalAveragePool node (qchannel.cpp) reading x with parameters xq; y:
  // the output's parameters, or nullptr for an f32 output.
  static Node qchannel_node(const char* op, const std::string& name,
                            std::vector<std::string> inputs, const std::string& output,
                            const QP& xq, const QP* y) {
    Node f;
    f.name = name;
    f.op_type = op;
    f.domain = kDomain;
    f.inputs = std::move(inputs);
    f.outputs = {output};
    f.set_attr_float("x_scale", xq.scale);
    f.set_attr_int("x_zero_point", xq.zp);
    f.set_attr_int("y_dtype", static_cast<int64_t>(y ? y->dt : DType::kF32));
    if (y) {
      f.set_attr_float("y_scale", y->scale);
      f.set_attr_int("y_zero_point", y->zp);
    }
    return f;
  }

  // Q(Mul(DQ(q), s)) with q a u8/s8 [N, C, H, W] and s an f32 [N or 1, C, 1, 1] (the
  // squeeze-excitation scale of EfficientNet and MobileNetV3, computed in float from the tiny
  // pooled tensor): QChannelMul(q, s) → q', one pass over 8-bit data where the QDQ graph makes
  // three over f32 (DequantizeLinear, Mul, QuantizeLinear). q' = saturate(round_half_even(
  // (q − zx)·(sx·s[n, c] / sy)) + zy) (qchannel.cpp); the reference rounds sx·(q − zx)·s / sy
  // in three steps, so a result can differ by one step near a rounding tie. The DQ stays while
  // something else reads it (the squeeze's pool, until try_global_average_pool takes it too).
  void try_channel_mul(int i) {
    const Node& n = g_.nodes[i];
    if (n.inputs.size() != 2 || n.outputs.size() != 1 || n.inputs[0] == n.inputs[1]) return;
    QP y;
    const int q = sole_q(n.outputs[0], y);
    if (q < 0 || !is_8bit(y.dt)) return;
    for (int k = 0; k < 2; ++k) {
      std::string x;
      QP xq;
      if (!dq_of(n.inputs[k], x, xq) || !is_8bit(xq.dt)) continue;
      const std::string& s = n.inputs[1 - k];
      const std::vector<Dim> dx = dims_of(n.inputs[k]), ds = dims_of(s);
      if (dx.size() != 4 || ds.size() != 4 || dtype_of_value(g_, s) != DType::kF32) continue;
      // C, H, W static, the batch the same or 1 in s; x larger than one pixel (a SiLU on a
      // [N, C, 1, 1] map, Mul(DQ(q), Sigmoid(DQ(q))), is left to fuse_lut).
      bool ok = ds[0] == dx[0] || (ds[0].is_static() && ds[0].value == 1);
      for (int d = 1; d < 4; ++d) ok &= dx[d].is_static() && ds[d].is_static();
      if (!ok || ds[1].value != dx[1].value || ds[2].value != 1 || ds[3].value != 1 ||
          dx[2].value * dx[3].value == 1)
        continue;
      g_.nodes[i] = qchannel_node("QChannelMul", n.name, {x, s}, g_.nodes[q].outputs[0], xq, &y);
      g_.invalidate_index();  // node i replaced in place
      retire(q);
      return;
    }
  }

  // GlobalAveragePool(DQ(q)), q a u8/s8 [N, C, H, W]: QGlobalAveragePool(q) sums the integers
  // (exact in int32) and scales once, sx·(Σq − H·W·zx) / (H·W), where the reference sums H·W
  // floats; with the QuantizeLinear that alone reads it, the output is quantized in the same
  // node. The DQ stays while something else reads it.
  void try_global_average_pool(int i) {
    const Node& n = g_.nodes[i];
    if (n.inputs.size() != 1 || n.outputs.size() != 1) return;
    std::string x;
    QP xq;
    if (!dq_of(n.inputs[0], x, xq) || !is_8bit(xq.dt)) return;
    const std::vector<Dim> dx = dims_of(n.inputs[0]);
    if (dx.size() != 4 || !dx[2].is_static() || !dx[3].is_static()) return;
    // The kernel's int32 sums: H·W·255 must fit with room to spare.
    if (dx[2].value * dx[3].value > (int64_t{1} << 22)) return;
    QP y;
    const int q = sole_q(n.outputs[0], y);
    const bool quantized = q >= 0 && is_8bit(y.dt);
    g_.nodes[i] = qchannel_node("QGlobalAveragePool", n.name, {x},
                                quantized ? g_.nodes[q].outputs[0] : n.outputs[0], xq,
                                quantized ? &y : nullptr);
    g_.invalidate_index();  // node i replaced in place
    if (quantized) retire(q);
  }

  // Concat(DQ(q1), DQ(q2), ...) → Q whose inputs have other parameters than the Q (PyTorch's FX
  // export observes each input and the output apart): since Q is element-wise,
  //   Q(Concat(DQ(q_i))) = Concat(Q(DQ(q_i))) = Q(Concat(DQ(Q(DQ(q_i)))))
  // with Q, DQ of the output's parameters. Each DQ(q_i) whose q_i comes from a QuantizeLinear
  // (a seed's output, most often) gets that Q → DQ pair inserted before the Concat: the seed's
  // chain then absorbs Q(DQ(q_i)) as a requantizing step and writes q_i in the output's
  // parameters, and try_concat concatenates the integers. Runs before dead_ is sized (it inserts
  // nodes).
  void requantize_concat_inputs() {
    dead_.assign(g_.nodes.size(), 0);
    std::vector<std::vector<Node>> before(g_.nodes.size());
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const Node& n = g_.nodes[i];
      if (!is_default(n) || n.op_type != "Concat" || n.outputs.size() != 1 || n.inputs.empty())
        continue;
      QP out;
      const int q = sole_q(n.outputs[0], out);
      if (q < 0 || !is_8bit(out.dt)) continue;
      std::vector<size_t> differ;
      bool ok = true;
      for (size_t k = 0; k < n.inputs.size() && ok; ++k) {
        std::string src;
        QP in;
        ok = !n.inputs[k].empty() && dq_of(n.inputs[k], src, in) &&
             sole_reader(n.inputs[k]) == static_cast<int>(i) && is_8bit(in.dt);
        if (!ok || in == out) continue;
        const int p = g_.producer(src);
        ok = p >= 0 && is_default(g_.nodes[p]) && g_.nodes[p].op_type == "QuantizeLinear";
        differ.push_back(k);
      }
      if (!ok || differ.empty()) continue;
      const Node& qn = g_.nodes[q];
      for (size_t k : differ) {
        const std::string& v = n.inputs[k];
        Node rq, rd;
        rq.name = g_.unique_name(v + "_requantize");
        rq.op_type = "QuantizeLinear";
        rq.attributes = qn.attributes;
        rq.inputs = {v, qn.input(1), qn.input(2)};
        rq.outputs = {g_.unique_name(v + "_requantized")};
        rd.name = g_.unique_name(v + "_requantized_dq");
        rd.op_type = "DequantizeLinear";
        rd.inputs = {rq.outputs[0], qn.input(1), qn.input(2)};
        rd.outputs = {g_.unique_name(v + "_requantized_dequantized")};
        if (rd.inputs.back().empty()) rd.inputs.pop_back();
        if (rq.inputs.back().empty()) rq.inputs.pop_back();
        g_.set_input(static_cast<int>(i), k, rd.outputs[0]);
        before[i].push_back(std::move(rq));
        before[i].push_back(std::move(rd));
      }
    }
    std::vector<Node> nodes;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      for (Node& x : before[i]) nodes.push_back(std::move(x));
      nodes.push_back(std::move(g_.nodes[i]));
    }
    g_.nodes = std::move(nodes);
    g_.invalidate_index();
  }

  // DequantizeLinear nodes nobody reads any more (the seeds read their inputs directly).
  void remove_unread_dq() {
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

  Model& m_;
  Graph& g_;
  std::vector<char> dead_;
};

}  // namespace

void fuse_int8(Model& model) { Int8Fuser(model).run(); }

}  // namespace edgeopt::rt::onednn
