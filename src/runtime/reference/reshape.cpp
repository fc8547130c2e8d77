// Reshape: same elements, new shape. In the target shape, -1 is inferred from the element
// count and 0 copies the input's dimension (unless allowzero=1, when 0 means an empty dim).
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class Reshape final : public NodeKernel {
 public:
  explicit Reshape(const KernelInit& init)
      : NodeKernel(init),
        opset_(init.opset),
        allowzero_(init.node.attr_int("allowzero", 0) != 0),
        shape_attr_(init.node.attr_ints("shape")) {}
  void infer(InferContext& ctx) override {
    // Opset 1-4 carry the target in an attribute, later opsets in input 1.
    std::vector<int64_t> target = opset_ < 5 ? shape_attr_ : input_ints(ctx, 1);
    const Shape& in = ctx.shape(0);
    int infer_at = -1;
    int64_t known = 1;
    for (size_t i = 0; i < target.size(); ++i) {
      int64_t& d = target[i];
      if (d == 0 && !allowzero_) {
        if (i >= in.size())
          fail_input("node ", node_.describe(), ": shape entry ", i,
                     " is 0 but the input has rank ", in.size());
        d = in[i];
      }
      if (d == -1) {
        if (infer_at >= 0) fail_input("node ", node_.describe(), ": more than one -1 in shape");
        infer_at = static_cast<int>(i);
        continue;
      }
      if (d < 0) fail_input("node ", node_.describe(), ": invalid dimension ", d, " in shape");
      known *= d;
    }
    const int64_t n = shape_numel(in);
    if (infer_at >= 0) {
      if (known == 0 || n % known != 0)
        fail_input("node ", node_.describe(), ": cannot reshape ", shape_str(in), " with a -1");
      target[infer_at] = n / known;
    }
    if (shape_numel(target) != n)
      fail_input("node ", node_.describe(), ": cannot reshape ", shape_str(in), " to ",
                 shape_str(target));
    ctx.set_output(0, ctx.dtype(0), target);
  }
  void run(RunContext& ctx) override { copy_all(ctx.input(0), ctx.output(0)); }

 private:
  int64_t opset_;
  bool allowzero_;
  std::vector<int64_t> shape_attr_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Reshape", 1, INT_MAX, Reshape);

}  // namespace
}  // namespace edgeopt::rt::ref
