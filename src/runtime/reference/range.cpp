// Range: out[i] = start + i * delta for i < max(ceil((limit - start) / delta), 0); the three
// inputs are scalars of one numeric dtype.
#include <cmath>

#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class Range final : public NodeKernel {
 public:
  using NodeKernel::NodeKernel;
  void infer(InferContext& ctx) override {
    const Tensor& start = ctx.value(0);
    const Tensor& limit = ctx.value(1);
    const Tensor& delta = ctx.value(2);
    for (const Tensor* t : {&start, &limit, &delta})
      if (t->numel() != 1 || t->dtype() != start.dtype())
        fail_input("node ", node_.describe(),
                   ": start, limit and delta must be scalars of one "
                   "dtype");
    if (start.dtype() == DType::kString || start.dtype() == DType::kBool)
      unsupported_dtype(node_, start.dtype());
    ctx.set_output(0, start.dtype(), {count(start, limit, delta)});
  }
  void run(RunContext& ctx) override {
    Tensor& y = ctx.output(0);
    EDGEOPT_DISPATCH_NUMERIC(y.dtype(), node_, {
      const T s = ctx.input(0).data<T>()[0];
      const T d = ctx.input(2).data<T>()[0];
      T* out = y.data<T>();
      for (int64_t i = 0; i < y.numel(); ++i) out[i] = static_cast<T>(s + static_cast<T>(i) * d);
    });
  }

 private:
  int64_t count(const Tensor& start, const Tensor& limit, const Tensor& delta) const {
    if (dtype_is_float(start.dtype())) {
      const double d = delta.get_f64(0);
      if (d == 0) fail_input("node ", node_.describe(), ": delta is 0");
      return std::max<int64_t>(
          0, static_cast<int64_t>(std::ceil((limit.get_f64(0) - start.get_f64(0)) / d)));
    }
    const int64_t s = start.get_i64(0), l = limit.get_i64(0), d = delta.get_i64(0);
    if (d == 0) fail_input("node ", node_.describe(), ": delta is 0");
    // ceil((l - s) / d) in integers.
    const int64_t span = l - s;
    if ((span > 0) != (d > 0) || span == 0) return 0;
    return (span + d + (d > 0 ? -1 : 1)) / d;
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Range", 1, INT_MAX, Range);

}  // namespace
}  // namespace edgeopt::rt::ref
