// Flatten: input of shape (d0, ..., dn-1) becomes 2-D (d0*...*d{axis-1}, d{axis}*...*dn-1).
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class Flatten final : public NodeKernel {
 public:
  explicit Flatten(const KernelInit& init)
      : NodeKernel(init), axis_(init.node.attr_int("axis", 1)) {}
  void infer(InferContext& ctx) override {
    const Shape& s = ctx.shape(0);
    const int64_t r = static_cast<int64_t>(s.size());
    // axis may equal rank (everything in the outer dimension), so check against r + 1.
    if (axis_ < -r || axis_ > r)
      fail_input("node ", node_.describe(), ": axis ", axis_, " is out of range for rank ", r);
    const size_t a = static_cast<size_t>(axis_ < 0 ? axis_ + r : axis_);
    ctx.set_output(0, ctx.dtype(0), {dims_product(s, 0, a), dims_product(s, a, s.size())});
  }
  void run(RunContext& ctx) override { copy_all(ctx.input(0), ctx.output(0)); }

 private:
  int64_t axis_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Flatten", 1, INT_MAX, Flatten);

}  // namespace
}  // namespace edgeopt::rt::ref
