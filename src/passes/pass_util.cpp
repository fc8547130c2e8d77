#include "pass_util.h"

#include <cmath>
#include <utility>

namespace edgeopt::passes {

std::optional<BnParams> foldable_bn(const Graph& g, const Node& bn, int64_t opset) {
  if (bn.op_type != "BatchNormalization" || !bn.is_default_domain() || bn.inputs.size() < 5 ||
      bn.outputs.empty())
    return std::nullopt;
  // Training outputs (running mean/var, saved stats) must be absent or unused, and training
  // mode off: then BN is the fixed affine map above.
  for (size_t o = 1; o < bn.outputs.size(); ++o)
    if (!bn.outputs[o].empty() && g.use_count(bn.outputs[o]) > 0) return std::nullopt;
  if (bn.attr_int("training_mode", 0) != 0) return std::nullopt;
  if (opset < 7 && bn.attr_int("is_test", 0) == 0 && bn.outputs.size() > 1) return std::nullopt;
  if (bn.attr_int("spatial", 1) != 1) return std::nullopt;
  const Tensor* gamma = constant_of(g, bn.inputs[1]);
  const Tensor* beta = constant_of(g, bn.inputs[2]);
  const Tensor* mean = constant_of(g, bn.inputs[3]);
  const Tensor* var = constant_of(g, bn.inputs[4]);
  if (!gamma || !beta || !mean || !var) return std::nullopt;
  const int64_t c = gamma->numel();
  for (const Tensor* t : {gamma, beta, mean, var})
    if (!is_real(t->dtype()) || t->rank() != 1 || t->numel() != c) return std::nullopt;
  const double eps = bn.attr_float("epsilon", 1e-5f);
  BnParams p;
  p.scale.resize(c);
  p.mean = to_doubles(*mean);
  p.beta = to_doubles(*beta);
  for (int64_t k = 0; k < c; ++k) {
    const double v = var->get_f64(k) + eps;
    if (!(v > 0)) return std::nullopt;  // would divide by zero or NaN
    p.scale[k] = gamma->get_f64(k) / std::sqrt(v);
  }
  return p;
}

bool fold_each_bn(Model& model, BnFold fold) {
  bool changed = false;
  std::unordered_set<std::string> gone;
  Graph& g = model.graph;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& bn = g.nodes[i];
    if (bn.op_type != "BatchNormalization" || !bn.is_default_domain() ||
        !is_private_intermediate(g, bn.inputs[0]))
      continue;
    const int producer = g.producer(bn.inputs[0]);
    if (producer >= 0) changed = fold(model, static_cast<int>(i), producer, gone) || changed;
  }
  g.compact();
  forget_values(g, gone);
  return changed;
}

void absorb_bn(Model& model, int producer, int bn_index, Tensor w, Tensor bias,
               std::unordered_set<std::string>& gone) {
  Graph& g = model.graph;
  const std::string x = g.nodes[bn_index].inputs[0];
  const std::string y = g.nodes[bn_index].outputs[0];
  const std::string wname = g.nodes[producer].inputs[1];
  const std::string bname = g.nodes[producer].input(2);
  const std::string new_w = replace_constant(model, wname, producer, std::move(w));
  const std::string new_b = bname.empty()
                                ? add_constant(model, wname + "_bn_bias", std::move(bias))
                                : replace_constant(model, bname, producer, std::move(bias));
  g.nodes[producer].inputs.resize(3);
  g.set_input(producer, 1, new_w);
  g.set_input(producer, 2, new_b);
  g.set_output(producer, 0, y);
  g.remove_node(bn_index);
  gone.insert(x);
}

}  // namespace edgeopt::passes
