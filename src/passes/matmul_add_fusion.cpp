// matmul_add_fusion: Y = MatMul(A, W) + b with a constant 2-D weight W [K, N], a constant bias
// b of shape [N] or [1, N] and a 2-D A becomes Y = Gemm(A, W, b) (alpha = beta = 1, no
// transposes): the same math in one node, which providers run as one fused kernel.
// Only when the MatMul output feeds the Add alone and is not a graph output.
#include "pass_util.h"

namespace edgeopt::passes {
namespace {

class MatMulAddFusion final : public Pass {
 public:
  bool run(Model& model) override {
    bool changed = false;
    std::unordered_set<std::string> gone;
    // One sweep: a fused Add is only marked, so later indices stay put.
    for (size_t i = 0; i < model.graph.nodes.size(); ++i)
      changed = try_fuse(model, static_cast<int>(i), gone) || changed;
    model.graph.compact();
    forget_values(model.graph, gone);
    return changed;
  }

 private:
  static bool try_fuse(Model& model, int add_index, std::unordered_set<std::string>& gone) {
    Graph& g = model.graph;
    const Node& add = g.nodes[add_index];
    if (add.op_type != "Add" || !add.is_default_domain() || add.inputs.size() != 2 ||
        add.outputs.size() != 1)
      return false;
    for (int side = 0; side < 2; ++side) {
      const std::string x = add.inputs[side];
      const std::string bname = add.inputs[1 - side];
      if (!is_private_intermediate(g, x)) continue;
      const int mi = g.producer(x);
      if (mi < 0) continue;
      const Node& mm = g.nodes[mi];
      if (mm.op_type != "MatMul" || !mm.is_default_domain()) continue;
      const Tensor* w = constant_of(g, mm.input(1));
      const Tensor* b = constant_of(g, bname);
      if (!w || !b || w->rank() != 2 || rank_of(g, mm.input(0)) != 2) continue;
      const DType dt = w->dtype();
      if ((dt != DType::kF32 && dt != DType::kF64 && dt != DType::kF16) || b->dtype() != dt)
        continue;
      const int64_t n = w->dim(1);
      const bool bias_ok = (b->rank() == 1 && b->dim(0) == n) ||
                           (b->rank() == 2 && b->dim(0) == 1 && b->dim(1) == n);
      if (!bias_ok) continue;
      const std::string y = add.outputs[0];
      Node& gemm = g.nodes[mi];
      gemm.op_type = "Gemm";
      gemm.attributes.clear();
      g.set_input(mi, 2, bname);
      g.set_output(mi, 0, y);
      g.remove_node(add_index);
      gone.insert(x);
      return true;
    }
    return false;
  }
};

EDGEOPT_REGISTER_PASS(MatMulAddFusion, "matmul_add_fusion", 80, 2, {"Add"});

}  // namespace
}  // namespace edgeopt::passes
