// The int8 rewrite of the oneDNN provider (int8_rewrite.cpp), ops that run on the 8-bit integers
// unchanged: MaxPool, Resize, Concat (and requantizing a Concat's inputs).
#include "int8_fuser.h"
#include "ir/graph_util.h"

namespace edgeopt::rt::onednn::int8 {

// DQ(q) → MaxPool → Q with the same parameters: Q(max(DQ(q))) = max(q) exactly (DQ is
// increasing and Q(DQ(q)) = q), so the pool runs on q (edgeopt.onednn MaxPool, u8/s8).
void Int8Fuser::try_max_pool(int i) {
  const Node& n = g_.nodes[i];
  if (n.outputs.size() != 1 || n.inputs.size() != 1 || rank_of(g_, n.inputs[0]) != 4) return;
  if (!run_on_8bit(i)) return;
  g_.nodes[i].domain = kDomain;
}

// Node i reads DQ(q) alone and feeds one Q with the DQ's parameters (8-bit): then it reads q and
// writes the Q's output, the DQ and Q retired. False (nothing changed) otherwise.
bool Int8Fuser::run_on_8bit(int i) {
  const Node& n = g_.nodes[i];
  if (n.outputs.size() != 1) return false;
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

// DQ(q) → Reshape / Transpose → Q with the same parameters (a quantizer's QDQ around data
// movement): moving the integers is exact, so the node moves q, a quarter of the bytes, on the
// reference provider, and ShuffleNet's channel shuffle (Reshape → Transpose → Reshape) on them
// becomes one 8-bit ChannelShuffle in the float rewrite that follows (rewrite.cpp).
void Int8Fuser::try_data_movement(int i) { run_on_8bit(i); }

// DQ(q) → Resize → Q with the same parameters, a Resize that resize.cpp computes: nearest
// copies q exactly; linear gives Q(lerp(DQ(q))) = round(lerp(q)) (DQ and Q are affine with
// the same s and integer z, and a convex combination stays in range), which the kernel
// computes on q in float (the reference in three steps, so a result near a rounding tie may
// differ by one). The Resize reads q and writes the Q's output; the layout pass runs it
// channels-last.
void Int8Fuser::try_resize(int i) {
  const Node& n = g_.nodes[i];
  if (resize_supported(n, m_.opset()) && rank_of(g_, n.inputs[0]) == 4) run_on_8bit(i);
}

// Concat(DQ(q1), DQ(q2), ...) → Q, every DQ and the Q with the same parameters (edgeopt's
// quantizer gives a Concat's inputs its output's, as TFLite does): Q(DQ(q)) = q, so the Concat
// runs on the integers. It stays a default-domain Concat; the layout pass runs it channels-last.
void Int8Fuser::try_concat(int i) {
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

// Concat(DQ(q1), DQ(q2), ...) → Q whose inputs have other parameters than the Q (PyTorch's FX
// export observes each input and the output apart): since Q is element-wise,
//   Q(Concat(DQ(q_i))) = Concat(Q(DQ(q_i))) = Q(Concat(DQ(Q(DQ(q_i)))))
// with Q, DQ of the output's parameters. Each DQ(q_i) whose q_i comes from a QuantizeLinear
// (a seed's output, most often) gets that Q → DQ pair inserted before the Concat: the seed's
// chain then absorbs Q(DQ(q_i)) as a requantizing step and writes q_i in the output's
// parameters, and try_concat concatenates the integers. Runs before dead_ is sized (it inserts
// nodes).
void Int8Fuser::requantize_concat_inputs() {
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

}  // namespace edgeopt::rt::onednn::int8
