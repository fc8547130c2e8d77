// transpose_reshape_cancellation:
//   Transpose(Transpose(x, p1), p2) = Transpose(x, q) with q[k] = p1[p2[k]] (output axis k of
//     the second reads axis p2[k] of the first, which reads axis p1[p2[k]] of x);
//   Transpose with the identity permutation is removed;
//   Reshape(Reshape(x, s1), s2) = Reshape(x, s2): a reshape only depends on the element count,
//     except for 0 entries in s2 (copy a dim of its input), which are replaced by the dims
//     of the first reshape's output when those are statically known.
// The first node of a pair is left for dead_code_elimination when nothing else reads it.
#include <numeric>

#include "pass_util.h"

namespace edgeopt::passes {
namespace {

// Permutation of a Transpose: its attribute, or the reversal of axes when absent (needs the
// input's rank). Empty when unknown.
std::vector<int64_t> perm_of(const Graph& g, const Node& n) {
  if (n.has_attr("perm")) return n.attr_ints("perm");
  const int r = rank_of(g, n.input(0));
  if (r < 0) return {};
  std::vector<int64_t> p(r);
  for (int k = 0; k < r; ++k) p[k] = r - 1 - k;
  return p;
}

bool is_identity_perm(const std::vector<int64_t>& p) {
  for (size_t k = 0; k < p.size(); ++k)
    if (p[k] != static_cast<int64_t>(k)) return false;
  return true;
}

class TransposeReshapeCancellation final : public Pass {
 public:
  bool run(Model& model) override {
    Graph& g = model.graph;
    bool changed = false;
    std::unordered_set<std::string> gone;
    // One sweep; a node whose input changed is looked at again, a bypassed one is only marked.
    for (size_t i = 0; i < g.nodes.size();) {
      Node& n = g.nodes[i];
      if (!n.is_default_domain() || n.input(0).empty() || n.outputs.empty()) {
        ++i;
        continue;
      }
      if (n.op_type == "Transpose") {
        const int pi = g.producer(n.inputs[0]);
        if (pi >= 0 && g.nodes[pi].op_type == "Transpose" && g.nodes[pi].is_default_domain()) {
          const std::vector<int64_t> p1 = perm_of(g, g.nodes[pi]);
          const std::vector<int64_t> p2 = perm_of(g, n);
          bool valid = !p1.empty() && p1.size() == p2.size();
          for (int64_t a : p2) valid = valid && a >= 0 && a < static_cast<int64_t>(p1.size());
          if (valid) {
            std::vector<int64_t> q(p2.size());
            for (size_t k = 0; k < q.size(); ++k) q[k] = p1[p2[k]];
            n.set_attr_ints("perm", q);
            g.set_input(static_cast<int>(i), 0, g.nodes[pi].inputs[0]);
            changed = true;
            continue;  // look at the same node again: it may now be an identity
          }
        }
        const std::vector<int64_t> p = perm_of(g, n);
        if (!p.empty() && is_identity_perm(p) &&
            bypass_node(g, static_cast<int>(i), n.inputs[0], n.outputs[0], gone)) {
          changed = true;
          ++i;
          continue;
        }
      } else if (n.op_type == "Reshape" && model.opset() >= 5 && collapse_reshape(model, i)) {
        changed = true;
        continue;
      }
      ++i;
    }
    g.compact();
    forget_values(g, gone);
    return changed;
  }

 private:
  static bool collapse_reshape(Model& model, size_t i) {
    Graph& g = model.graph;
    const Node& n = g.nodes[i];
    const int pi = g.producer(n.inputs[0]);
    if (pi < 0 || g.nodes[pi].op_type != "Reshape" || !g.nodes[pi].is_default_domain() ||
        g.nodes[pi].input(0).empty())
      return false;
    const Tensor* spec = constant_of(g, n.input(1));
    if (!spec) return false;
    std::vector<int64_t> s2 = spec->to_i64_vector();
    const bool allowzero = n.attr_int("allowzero", 0) != 0;
    bool copies = false;
    for (int64_t d : s2) copies = copies || (d == 0 && !allowzero);
    std::string shape_name = n.inputs[1];
    if (copies) {
      const std::optional<Shape> mid = static_shape_of(g, n.inputs[0]);
      if (!mid) return false;
      for (size_t k = 0; k < s2.size(); ++k)
        if (s2[k] == 0) {
          if (k >= mid->size() || (*mid)[k] == 0) return false;
          s2[k] = (*mid)[k];
        }
      shape_name =
          add_constant(model, n.inputs[1] + "_resolved",
                       Tensor::from_vector<int64_t>(s2, {static_cast<int64_t>(s2.size())}));
    }
    g.set_input(static_cast<int>(i), 0, g.nodes[pi].inputs[0]);
    g.set_input(static_cast<int>(i), 1, shape_name);
    return true;
  }
};

EDGEOPT_REGISTER_PASS(TransposeReshapeCancellation, "transpose_reshape_cancellation", 50, 1,
                      {"Transpose", "Reshape"});

}  // namespace
}  // namespace edgeopt::passes
