// Squeeze: removes the listed size-1 axes (attribute before opset 13, input 1 from 13), or
// every size-1 axis when none are listed.
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class Squeeze final : public Kernel {
 public:
  explicit Squeeze(const KernelInit& init)
      : node_(init.node), opset_(init.opset), axes_attr_(init.node.attr_ints("axes")) {}
  void infer(InferContext& ctx) override {
    const Shape& in = ctx.shape(0);
    const int64_t r = static_cast<int64_t>(in.size());
    std::vector<int64_t> axes = axes_attr_;
    if (opset_ >= 13) axes = ctx.has_input(1) ? input_ints(ctx, 1) : std::vector<int64_t>{};
    std::vector<char> drop(r, 0);
    if (axes.empty()) {
      for (int64_t d = 0; d < r; ++d) drop[d] = in[d] == 1;
    }
    for (int64_t a : axes) {
      const int64_t d = normalize_axis(a, r, node_);
      if (in[d] != 1)
        fail_input("node ", node_.describe(), ": cannot squeeze axis ", d, " of size ", in[d]);
      drop[d] = 1;
    }
    Shape out;
    for (int64_t d = 0; d < r; ++d)
      if (!drop[d]) out.push_back(in[d]);
    ctx.set_output(0, ctx.dtype(0), out);
  }
  void run(RunContext& ctx) override { copy_all(ctx.input(0), ctx.output(0)); }

 private:
  const Node& node_;
  int64_t opset_;
  std::vector<int64_t> axes_attr_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Squeeze", 1, INT_MAX, Squeeze);

}  // namespace
}  // namespace edgeopt::rt::ref
