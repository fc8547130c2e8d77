// The int8 rewrite of the oneDNN provider (int8_rewrite.cpp), the chain after a seed (Q → DQ → Add
// / Relu / Clip → Q) as oneDNN post-ops, and the fused node.
#include <algorithm>
#include <limits>

#include "int8_fuser.h"
#include "ir/graph_util.h"

namespace edgeopt::rt::onednn::int8 {

// Constant Clip bounds (attributes before opset 11, inputs from 11).
bool Int8Fuser::clip_bounds(const Node& n, float& lo, float& hi) {
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

// Relu / Clip (constant bounds) nodes that alone read `v`, one after the other, as post-ops in
// real units (Clip bounds scaled by append_scaled); returns the last output.
std::string Int8Fuser::activations(std::string v, std::vector<PostOp>& acts,
                                   std::vector<int>& used) {
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
void Int8Fuser::append_scaled(std::vector<PostOp>& post, const std::vector<PostOp>& acts,
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
std::vector<PostOp> Int8Fuser::merge_clamps(const std::vector<PostOp>& post) {
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

void Int8Fuser::try_seed(int i, bool conv) {
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
      const std::vector<Dim> dy = known_dims(g_, v), dr = known_dims(g_, other);
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

}  // namespace edgeopt::rt::onednn::int8
