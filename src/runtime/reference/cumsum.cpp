// CumSum along the axis given by input 1: out[k] = Σ_{j <= k} x[j] (exclusive=1: j < k;
// reverse=1: sums run from the end, j >= k or j > k).
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class CumSum final : public NodeKernel {
 public:
  explicit CumSum(const KernelInit& init)
      : NodeKernel(init),
        exclusive_(init.node.attr_int("exclusive", 0) != 0),
        reverse_(init.node.attr_int("reverse", 0) != 0) {}
  void infer(InferContext& ctx) override {
    if (ctx.input(1).numel() != 1) fail_input("node ", node_.describe(), ": axis must be a scalar");
    if (ctx.input(1).has_data())
      normalize_axis(ctx.input(1).get_i64(0), static_cast<int64_t>(ctx.shape(0).size()), node_);
    ctx.set_output(0, ctx.dtype(0), ctx.shape(0));
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const int64_t axis = normalize_axis(ctx.input(1).get_i64(0), x.rank(), node_);
    const AxisLayout l = axis_layout(x.shape(), axis);
    const int64_t outer = l.outer, n = l.len, inner = l.inner;
    EDGEOPT_DISPATCH_NUMERIC(x.dtype(), node_, {
      const T* a = x.data<T>();
      T* b = ctx.output(0).data<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t base = o * n * inner + i;
          T sum = T(0);
          for (int64_t s = 0; s < n; ++s) {
            const int64_t k = reverse_ ? n - 1 - s : s;
            const int64_t at = base + k * inner;
            if (exclusive_) {
              b[at] = sum;
              sum = static_cast<T>(sum + a[at]);
            } else {
              sum = static_cast<T>(sum + a[at]);
              b[at] = sum;
            }
          }
        }
    });
  }

 private:
  bool exclusive_;
  bool reverse_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "CumSum", 1, INT_MAX, CumSum);

}  // namespace
}  // namespace edgeopt::rt::ref
