// identity_elimination: removes nodes whose output always equals their first input:
//   Identity;
//   Dropout at inference (no training_mode input, or a constant false one; mask unused);
//   Cast to the type the input already has;
//   Reshape to the static shape the input already has.
// Graph output names are kept: see bypass_node().
#include "pass_util.h"

namespace edgeopt::passes {
namespace {

// Target shape of Reshape(x, shape) given x's static shape: 0 copies x's dim (unless
// allowzero), -1 takes what is left. Returns nullopt when the shape is malformed.
std::optional<Shape> reshape_target(const Shape& in, const std::vector<int64_t>& spec,
                                    bool allowzero) {
  Shape out(spec.size());
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < spec.size(); ++i) {
    int64_t d = spec[i];
    if (d == 0 && !allowzero) {
      if (i >= in.size()) return std::nullopt;
      d = in[i];
    }
    if (d == -1) {
      if (infer >= 0) return std::nullopt;
      infer = static_cast<int>(i);
      continue;
    }
    if (d < 0) return std::nullopt;
    out[i] = d;
    known *= d;
  }
  const int64_t total = shape_numel(in);
  if (infer >= 0) {
    if (known == 0 || total % known) return std::nullopt;
    out[infer] = total / known;
  }
  return out;
}

class IdentityElimination final : public Pass {
 public:
  bool run(Model& model) override {
    Graph& g = model.graph;
    const int64_t opset = model.opset();
    bool changed = false;
    std::unordered_set<std::string> gone;
    // One sweep: a bypassed node is only marked, so later indices stay put.
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      if (!n.is_default_domain() || n.outputs.empty() || n.input(0).empty() ||
          !is_identity(g, n, opset))
        continue;
      changed = bypass_node(g, static_cast<int>(i), n.inputs[0], n.outputs[0], gone) || changed;
    }
    g.compact();
    forget_values(g, gone);
    return changed;
  }

 private:
  static bool is_identity(const Graph& g, const Node& n, int64_t opset) {
    if (n.op_type == "Identity") return true;
    if (n.op_type == "Dropout") {
      // The mask output (all true at inference) must be unused.
      if (n.outputs.size() > 1 && !n.outputs[1].empty() && g.use_count(n.outputs[1]) > 0)
        return false;
      if (opset < 7 && n.attr_int("is_test", 0) == 0) return false;
      const std::string& mode = n.input(2);
      if (mode.empty()) return true;
      const Tensor* t = constant_of(g, mode);
      return t && t->numel() == 1 && t->get_f64(0) == 0;
    }
    if (n.op_type == "Cast") {
      const DType in = dtype_of_value(g, n.inputs[0]);
      return in != DType::kUndefined && n.has_attr("to") &&
             static_cast<int64_t>(in) == n.attr_int("to", 0);
    }
    if (n.op_type == "Reshape" && opset >= 5) {
      const auto in = static_shape_of(g, n.inputs[0]);
      const Tensor* spec = constant_of(g, n.input(1));
      if (!in || !spec) return false;
      const auto out = reshape_target(*in, spec->to_i64_vector(), n.attr_int("allowzero", 0));
      return out && *out == *in;
    }
    return false;
  }
};

EDGEOPT_REGISTER_PASS(IdentityElimination, "identity_elimination", 20, 1,
                      {"Identity", "Dropout", "Cast", "Reshape"});

}  // namespace
}  // namespace edgeopt::passes
