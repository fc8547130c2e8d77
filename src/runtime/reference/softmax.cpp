// Along an axis (before opset 13 the input is coerced to 2-D at `axis`, default 1; from 13 the
// op runs along dims[axis] alone, default -1):
//   Softmax:    y_i = exp(x_i - max) / sum_j exp(x_j - max)
//   LogSoftmax: y_i = x_i - max - log(sum_j exp(x_j - max))
//   Hardmax:    1 at the first maximum, 0 elsewhere.
// Subtracting the max keeps exp() from overflowing; the sum is accumulated in double.
#include <cmath>

#include "common.h"

namespace edgeopt::rt::ref {
namespace {

// Calls f(base) for every line along the axis: elements base + i * l.inner for i < l.len.
template <class F>
void for_each_axis_line(const AxisLayout& l, F&& f) {
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t in = 0; in < l.inner; ++in) f(o * l.len * l.inner + in);
}

// Before opset 13: len is the product of dims[axis:], inner = 1.
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

enum class Mode { kSoftmax, kLogSoftmax, kHardmax };

template <Mode kMode>
class SoftmaxOp final : public NodeKernel {
 public:
  explicit SoftmaxOp(const KernelInit& init) : NodeKernel(init), opset_(init.opset) {}

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::kF32 && x.dtype() != DType::kF64) unsupported_dtype(node_, x.dtype());
    softmax_layout(node_, opset_, x.shape());  // validates the axis
    ctx.set_output(0, x.dtype(), x.shape());
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const AxisLayout l = softmax_layout(node_, opset_, x.shape());
    EDGEOPT_DISPATCH_FLOAT(x.dtype(), node_, {
      const T* xd = x.data<T>();
      T* yd = ctx.output(0).data<T>();
      for_each_axis_line(l, [&](int64_t base) {
        const T* xp = xd + base;
        T* yp = yd + base;
        if constexpr (kMode == Mode::kHardmax) {
          int64_t best = 0;
          for (int64_t i = 1; i < l.len; ++i)
            if (xp[i * l.inner] > xp[best * l.inner]) best = i;
          for (int64_t i = 0; i < l.len; ++i) yp[i * l.inner] = T(i == best ? 1 : 0);
          return;
        }
        T mx = xp[0];
        for (int64_t i = 1; i < l.len; ++i) mx = std::max(mx, xp[i * l.inner]);
        double sum = 0;
        for (int64_t i = 0; i < l.len; ++i)
          sum += std::exp(static_cast<double>(xp[i * l.inner]) - static_cast<double>(mx));
        if (kMode == Mode::kLogSoftmax) {
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
  int64_t opset_;
};

using Softmax = SoftmaxOp<Mode::kSoftmax>;
using LogSoftmax = SoftmaxOp<Mode::kLogSoftmax>;
using Hardmax = SoftmaxOp<Mode::kHardmax>;
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Softmax", 1, INT_MAX, Softmax);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "LogSoftmax", 1, INT_MAX, LogSoftmax);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Hardmax", 1, INT_MAX, Hardmax);

}  // namespace
}  // namespace edgeopt::rt::ref
