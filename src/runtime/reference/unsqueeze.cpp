// Unsqueeze: inserts size-1 axes at the listed positions of the output (attribute before
// opset 13, input 1 from 13); negative positions count from the end of the output's rank.
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class Unsqueeze final : public Kernel {
 public:
  explicit Unsqueeze(const KernelInit& init)
      : node_(init.node), opset_(init.opset), axes_attr_(init.node.attr_ints("axes")) {}
  void infer(InferContext& ctx) override {
    const Shape& in = ctx.shape(0);
    const std::vector<int64_t> axes = opset_ >= 13 ? input_ints(ctx, 1) : axes_attr_;
    const int64_t r = static_cast<int64_t>(in.size() + axes.size());
    std::vector<char> inserted(r, 0);
    for (int64_t a : axes) {
      const int64_t d = normalize_axis(a, r, node_);
      if (inserted[d]++) fail_input("node ", node_.describe(), ": axis ", d, " repeated");
    }
    Shape out;
    size_t next = 0;
    for (int64_t d = 0; d < r; ++d) out.push_back(inserted[d] ? 1 : in[next++]);
    ctx.set_output(0, ctx.dtype(0), out);
  }
  void run(RunContext& ctx) override { copy_all(ctx.input(0), ctx.output(0)); }

 private:
  const Node& node_;
  int64_t opset_;
  std::vector<int64_t> axes_attr_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Unsqueeze", 1, INT_MAX, Unsqueeze);

}  // namespace
}  // namespace edgeopt::rt::ref
