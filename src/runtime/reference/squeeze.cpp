// Squeeze: removes the listed size-1 axes, or every size-1 axis when none are listed.
// Unsqueeze: inserts size-1 axes at the listed positions of the output; negative positions
// count from the end of the output's rank.
// Both take the axes as an attribute before opset 13, as input 1 from 13, and copy the data.
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class SqueezeUnsqueeze final : public NodeKernel {
 public:
  explicit SqueezeUnsqueeze(const KernelInit& init)
      : NodeKernel(init),
        squeeze_(init.node.op_type == "Squeeze"),
        opset_(init.opset),
        axes_attr_(init.node.attr_ints("axes")) {}
  void infer(InferContext& ctx) override {
    std::vector<int64_t> axes = axes_attr_;
    // Squeeze's axes input is optional, Unsqueeze's is not.
    if (opset_ >= 13)
      axes = ctx.has_input(1) || !squeeze_ ? input_ints(ctx, 1) : std::vector<int64_t>{};
    ctx.set_output(0, ctx.dtype(0),
                   squeeze_ ? squeezed(ctx.shape(0), axes) : unsqueezed(ctx.shape(0), axes));
  }
  void run(RunContext& ctx) override { copy_all(ctx.input(0), ctx.output(0)); }

 private:
  Shape squeezed(const Shape& in, const std::vector<int64_t>& axes) const {
    const int64_t r = static_cast<int64_t>(in.size());
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
    return out;
  }

  Shape unsqueezed(const Shape& in, const std::vector<int64_t>& axes) const {
    const int64_t r = static_cast<int64_t>(in.size() + axes.size());
    std::vector<char> inserted(r, 0);
    for (int64_t a : axes) {
      const int64_t d = normalize_axis(a, r, node_);
      if (inserted[d]++) fail_input("node ", node_.describe(), ": axis ", d, " repeated");
    }
    Shape out;
    size_t next = 0;
    for (int64_t d = 0; d < r; ++d) out.push_back(inserted[d] ? 1 : in[next++]);
    return out;
  }

  bool squeeze_;  // else Unsqueeze
  int64_t opset_;
  std::vector<int64_t> axes_attr_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Squeeze", 1, INT_MAX, SqueezeUnsqueeze);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Unsqueeze", 1, INT_MAX, SqueezeUnsqueeze);

}  // namespace
}  // namespace edgeopt::rt::ref
