// ArgMax / ArgMin: int64 index of the largest / smallest element along `axis` (the first one
// on ties, the last with select_last_index=1); the axis is kept as size 1 when keepdims=1.
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

template <bool kMax>
class ArgMinMax final : public AxisKernel {
 public:
  explicit ArgMinMax(const KernelInit& init)
      : AxisKernel(init, 0),
        keepdims_(init.node.attr_int("keepdims", 1) != 0),
        last_(init.node.attr_int("select_last_index", 0) != 0) {}
  void infer(InferContext& ctx) override {
    const Shape& in = ctx.shape(0);
    const int64_t axis = check_axis(static_cast<int64_t>(in.size()));
    if (in[axis] == 0) fail_input("node ", node_.describe(), ": reduced axis is empty");
    Shape out = in;
    if (keepdims_)
      out[axis] = 1;
    else
      out.erase(out.begin() + axis);
    ctx.set_output(0, DType::kI64, out);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const AxisLayout l = layout(x.shape());
    const int64_t outer = l.outer, n = l.len, inner = l.inner;
    int64_t* out = ctx.output(0).data<int64_t>();
    EDGEOPT_DISPATCH_NUMERIC(x.dtype(), node_, {
      const T* a = x.data<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          const T* p = a + o * n * inner + i;
          int64_t best = 0;
          for (int64_t k = 1; k < n; ++k) {
            const T v = p[k * inner];
            const T b = p[best * inner];
            const bool better = kMax ? (v > b || (last_ && v == b)) : (v < b || (last_ && v == b));
            if (better) best = k;
          }
          out[o * inner + i] = best;
        }
    });
  }

 private:
  bool keepdims_;
  bool last_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "ArgMax", 1, INT_MAX, ArgMinMax<true>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "ArgMin", 1, INT_MAX, ArgMinMax<false>);

}  // namespace
}  // namespace edgeopt::rt::ref
