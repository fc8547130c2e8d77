// Concat: joins inputs along `axis`; every other dimension must match.
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class Concat final : public AxisKernel {
 public:
  explicit Concat(const KernelInit& init) : AxisKernel(init, 1) {}
  void infer(InferContext& ctx) override {
    const Shape& first = ctx.shape(0);
    const int64_t r = static_cast<int64_t>(first.size());
    if (r == 0) fail_input("node ", node_.describe(), ": cannot concatenate scalars");
    check_axis(r);
    Shape out = first;
    out[axis_] = 0;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const Shape& s = ctx.shape(i);
      bool ok = s.size() == first.size() && ctx.dtype(i) == ctx.dtype(0);
      for (int64_t d = 0; ok && d < r; ++d) ok = d == axis_ || s[d] == first[d];
      if (!ok)
        fail_input("node ", node_.describe(), ": input ", i, " (", dtype_name(ctx.dtype(i)), " ",
                   shape_str(s), ") does not match input 0 (", dtype_name(ctx.dtype(0)), " ",
                   shape_str(first), ") outside axis ", axis_);
      out[axis_] += s[axis_];
    }
    ctx.set_output(0, ctx.dtype(0), out);
  }
  void run(RunContext& ctx) override {
    Tensor& y = ctx.output(0);
    // View every tensor as (outer, axis * inner): each input contributes one contiguous block
    // per outer index.
    const AxisLayout l = layout(y.shape());
    const int64_t outer = l.outer, inner = l.inner, out_block = l.len * inner;
    int64_t col = 0;
    for (size_t i = 0; i < ctx.in.size(); ++i) {
      const Tensor& x = ctx.input(i);
      const int64_t block = x.shape()[axis_] * inner;
      ElementCopier cp(x, y);
      for (int64_t o = 0; o < outer; ++o) cp.copy(o * out_block + col, o * block, block);
      col += block;
    }
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Concat", 1, INT_MAX, Concat);

}  // namespace
}  // namespace edgeopt::rt::ref
