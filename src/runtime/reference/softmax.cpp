// Softmax:    y_i = exp(x_i - max) / sum_j exp(x_j - max)
// LogSoftmax: y_i = x_i - max - log(sum_j exp(x_j - max))
// along an axis (see softmax.h for the opset < 13 2-D coercion). Subtracting the max keeps
// exp() from overflowing; the sum is accumulated in double.
#include "softmax.h"

#include <cmath>

namespace edgeopt::rt::ref {

AxisLayout softmax_layout(const Node& node, int64_t opset, const Shape& shape) {
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t axis = normalize_axis(node.attr_int("axis", opset < 13 ? 1 : -1), rank, node);
  AxisLayout l;
  for (int64_t d = 0; d < axis; ++d) l.outer *= shape[d];
  if (opset < 13) {
    for (int64_t d = axis; d < rank; ++d) l.len *= shape[d];
  } else {
    l.len = rank ? shape[axis] : 1;
    for (int64_t d = axis + 1; d < rank; ++d) l.inner *= shape[d];
  }
  return l;
}

void softmax_infer(InferContext& ctx, const Node& node, int64_t opset) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kF32 && x.dtype() != DType::kF64) unsupported_dtype(node, x.dtype());
  softmax_layout(node, opset, x.shape());  // validates the axis
  ctx.set_output(0, x.dtype(), x.shape());
}

namespace {

template <bool kLog>
class SoftmaxOp final : public Kernel {
 public:
  explicit SoftmaxOp(const KernelInit& init) : node_(init.node), opset_(init.opset) {}

  void infer(InferContext& ctx) override { softmax_infer(ctx, node_, opset_); }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const AxisLayout l = softmax_layout(node_, opset_, x.shape());
    EDGEOPT_DISPATCH_FLOAT(x.dtype(), node_, {
      const T* xd = x.data<T>();
      T* yd = ctx.output(0).data<T>();
      for_each_axis_line(l, [&](int64_t base) {
        const T* xp = xd + base;
        T* yp = yd + base;
        T mx = xp[0];
        for (int64_t i = 1; i < l.len; ++i) mx = std::max(mx, xp[i * l.inner]);
        double sum = 0;
        for (int64_t i = 0; i < l.len; ++i)
          sum += std::exp(static_cast<double>(xp[i * l.inner]) - static_cast<double>(mx));
        if (kLog) {
          const double shift = static_cast<double>(mx) + std::log(sum);
          for (int64_t i = 0; i < l.len; ++i)
            yp[i * l.inner] = static_cast<T>(static_cast<double>(xp[i * l.inner]) - shift);
        } else {
          for (int64_t i = 0; i < l.len; ++i)
            yp[i * l.inner] = static_cast<T>(
                std::exp(static_cast<double>(xp[i * l.inner]) - static_cast<double>(mx)) / sum);
        }
      });
    });
  }

 private:
  const Node& node_;
  int64_t opset_;
};

using Softmax = SoftmaxOp<false>;
using LogSoftmax = SoftmaxOp<true>;
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Softmax", 1, INT_MAX, Softmax);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "LogSoftmax", 1, INT_MAX, LogSoftmax);

}  // namespace
}  // namespace edgeopt::rt::ref
