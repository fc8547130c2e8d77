// Compress: keeps the slices along `axis` whose entry in the 1-D bool condition is true (the
// condition may be shorter than the axis: missing entries count as false). Without `axis` the
// input is flattened first. The output shape depends on the condition's values.
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class Compress final : public AxisKernel {
 public:
  explicit Compress(const KernelInit& init)
      : AxisKernel(init, 0), has_axis_(init.node.has_attr("axis")) {}
  void infer(InferContext& ctx) override {
    const Shape& in = ctx.shape(0);
    const Tensor& cond = ctx.value(1);
    if (cond.rank() != 1) fail_input("node ", node_.describe(), ": condition must be 1-D");
    Shape out;
    if (has_axis_) {
      const int64_t axis = check_axis(static_cast<int64_t>(in.size()));
      out = in;
      out[axis] = selected(cond, in[axis]);
    } else {
      out = {selected(cond, shape_numel(in))};
    }
    ctx.set_output(0, ctx.dtype(0), out);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& cond = ctx.input(1);
    // Without an axis, x is flattened.
    const AxisLayout l = has_axis_ ? layout(x.shape()) : AxisLayout{1, x.numel(), 1};
    const int64_t outer = l.outer, n = l.len, inner = l.inner;
    const int64_t kept = selected(cond, n);
    ElementCopier cp(x, ctx.output(0));
    for (int64_t o = 0; o < outer; ++o) {
      int64_t j = 0;
      for (int64_t k = 0; k < n && k < cond.numel(); ++k)
        if (cond.get_f64(k) != 0) cp.copy((o * kept + j++) * inner, (o * n + k) * inner, inner);
    }
  }

 private:
  static int64_t selected(const Tensor& cond, int64_t n) {
    int64_t c = 0;
    for (int64_t k = 0; k < n && k < cond.numel(); ++k) c += cond.get_f64(k) != 0;
    return c;
  }

  bool has_axis_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Compress", 1, INT_MAX, Compress);

}  // namespace
}  // namespace edgeopt::rt::ref
