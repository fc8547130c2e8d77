// QOperator format: DQ → Conv/MatMul → Q groups of a QDQ model become QLinearConv /
// QLinearMatMul reading and writing integers; everything else keeps its QDQ form, so the model
// stays runnable op by op (QuantizeLinear/DequantizeLinear at the boundaries).
#include <set>

#include "edgeopt/passes.h"
#include "quant_internal.h"

namespace edgeopt::quant {
namespace {

const Node* producer_of(const Graph& g, const std::string& v, const char* op) {
  const int p = v.empty() ? -1 : g.producer(v);
  if (p < 0 || g.nodes[p].op_type != op) return nullptr;
  return &g.nodes[p];
}

float scalar_f32(const Graph& g, const std::string& name) {
  const NamedTensor* t = g.find_initializer(name);
  return t && t->tensor.numel() == 1 ? static_cast<float>(t->tensor.get_f64(0)) : 0.f;
}

// True when Relu / Clip between the op and its Q does nothing the Q's saturation does not
// already do: Relu needs Z = qmin (the clamp at 0 is the integer floor); Clip(lo, hi) also
// needs lo ≤ 0 ≤ and hi ≥ the largest representable value S·(qmax − Z).
bool activation_implied_by_q(const Graph& g, const Node& act, const Node& q) {
  const NamedTensor* zt = g.find_initializer(q.input(2));
  if (!zt) return false;
  const bool u8 = zt->tensor.dtype() == DType::kU8;
  const int64_t qmin = u8 ? 0 : -128, qmax = u8 ? 255 : 127;
  const int64_t z = zt->tensor.get_i64(0);
  if (z != qmin) return false;
  if (act.op_type == "Relu") return true;
  float lo = act.attr_float("min", -3.4e38f), hi = act.attr_float("max", 3.4e38f);
  if (!act.input(1).empty()) {
    if (!g.find_initializer(act.input(1))) return false;
    lo = scalar_f32(g, act.input(1));
  }
  if (!act.input(2).empty()) {
    if (!g.find_initializer(act.input(2))) return false;
    hi = scalar_f32(g, act.input(2));
  }
  const float s = scalar_f32(g, q.input(1));
  return lo <= 0 && lo >= -1e-6f && hi >= s * static_cast<float>(qmax - z);
}

}  // namespace

int64_t qdq_to_qoperator(Model& m) {
  Graph& g = m.graph;
  int64_t converted = 0;
  std::set<const Node*> drop;  // nodes replaced
  std::vector<Node> added;
  for (const Node& n : g.nodes) {
    if (n.op_type != "Conv" && n.op_type != "MatMul") continue;
    const Node* xdq = producer_of(g, n.input(0), "DequantizeLinear");
    const Node* wdq = producer_of(g, n.input(1), "DequantizeLinear");
    if (!xdq || !wdq || !g.find_initializer(wdq->inputs[0])) continue;
    if (xdq->inputs.size() < 3 || wdq->inputs.size() < 3) continue;
    const Node* bdq = nullptr;
    if (n.op_type == "Conv" && !n.input(2).empty()) {
      bdq = producer_of(g, n.input(2), "DequantizeLinear");
      if (!bdq || !g.find_initializer(bdq->inputs[0])) continue;
    }
    if (n.op_type == "MatMul") {
      const NamedTensor* ws = g.find_initializer(wdq->inputs[1]);
      if (!ws || ws->tensor.numel() != 1) continue;  // per-column b_scale: keep QDQ
    }
    // The output: straight into Q, or through a Relu/Clip the Q's range already implies.
    const std::vector<int> cons = g.consumers(n.outputs[0]);
    if (cons.size() != 1 || g.is_graph_output(n.outputs[0])) continue;
    const Node* q = &g.nodes[cons[0]];
    const Node* act = nullptr;
    if (q->op_type == "Relu" || q->op_type == "Clip") {
      act = q;
      const std::vector<int> c2 = g.consumers(act->outputs[0]);
      if (c2.size() != 1 || g.is_graph_output(act->outputs[0])) continue;
      q = &g.nodes[c2[0]];
    }
    if (q->op_type != "QuantizeLinear" || q->inputs.size() < 3) continue;
    if (act && !activation_implied_by_q(g, *act, *q)) continue;
    Node ql;
    ql.name = n.name.empty() ? g.unique_name(n.op_type + "_quant") : n.name + "_quant";
    ql.op_type = n.op_type == "Conv" ? "QLinearConv" : "QLinearMatMul";
    ql.inputs = {xdq->inputs[0], xdq->inputs[1], xdq->inputs[2], wdq->inputs[0],
                 wdq->inputs[1], wdq->inputs[2], q->inputs[1],   q->inputs[2]};
    if (bdq) ql.inputs.push_back(bdq->inputs[0]);
    ql.outputs = {q->outputs[0]};
    if (n.op_type == "Conv") ql.attributes = n.attributes;
    drop.insert(&n);
    if (act) drop.insert(act);
    drop.insert(q);
    added.push_back(std::move(ql));
    ++converted;
  }
  std::vector<Node> keep;
  for (Node& n : g.nodes)
    if (!drop.count(&n)) keep.push_back(std::move(n));
  for (Node& n : added) keep.push_back(std::move(n));
  g.nodes = std::move(keep);
  // DequantizeLinear nodes whose outputs nobody reads any more.
  PassOptions po;
  po.only = {"dead_code_elimination"};
  optimize(m, po);
  remove_unused_initializers(g);
  g.topological_sort();
  return converted;
}

}  // namespace edgeopt::quant
