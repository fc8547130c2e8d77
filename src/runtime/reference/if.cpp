// If: runs then_branch when the boolean scalar `cond` is true, else else_branch; the outputs
// are the branch's outputs, whose shapes may differ between branches. The branch is chosen by
// data, so infer() runs it and gives the outputs' values (planned like NonZero: at run time).
// But a cond known while planning (folded from constants and shapes: exporters' checks of a
// rank or a dim, as in Silero VAD's decoder) while the branch's data is not yet: the branch is
// planned by its inputs' shapes and gives the output shapes, so the graph around the If keeps
// a static plan, and so does the branch's own session when it runs.
#include "subgraph.h"

namespace edgeopt::rt::ref {
namespace {

class If final : public ControlFlowKernel {
 public:
  explicit If(const KernelInit& init)
      : ControlFlowKernel(init), then_(init, "then_branch"), else_(init, "else_branch") {
    subgraphs_ = {&then_, &else_};
    for (const Subgraph* b : {&then_, &else_})
      if (b->num_inputs() != 0 || b->num_outputs() != init.node.outputs.size())
        fail_input("node ", node_.describe(), ": a branch must take no inputs and give ",
                   init.node.outputs.size(), " output(s)");
  }

  void infer(InferContext& ctx) override {
    if (ctx.has_input(0) && ctx.input(0).has_data() && ctx.input(0).numel() == 1) {
      bool all = true;
      std::vector<const Tensor*> in;
      for (size_t i = 0; i < ctx.num_inputs(); ++i) {
        in.push_back(ctx.has_input(i) ? &ctx.input(i) : nullptr);
        all = all && (!ctx.has_input(i) || ctx.input(i).has_data());
      }
      if (!all) {
        Subgraph& b = ctx.input(0).get_f64(0) != 0 ? then_ : else_;
        const std::vector<Tensor> out = b.planned_outputs({}, in);
        if (!out.empty()) {
          for (size_t o = 0; o < out.size(); ++o) ctx.set_output(o, out[o].dtype(), out[o].shape());
          return;
        }
      }
    }
    ControlFlowKernel::infer(ctx);
  }

 private:
  std::vector<Tensor> execute(const std::vector<const Tensor*>& in) override {
    const Tensor& cond = *in[0];
    if (cond.numel() != 1)
      fail_input("node ", node_.describe(), ": cond must hold one element, got shape ",
                 shape_str(cond.shape()));
    return (cond.get_f64(0) != 0 ? then_ : else_).run({}, in);
  }

  Subgraph then_;
  Subgraph else_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "If", 1, INT_MAX, If);

}  // namespace
}  // namespace edgeopt::rt::ref
