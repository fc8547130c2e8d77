// Variadic element-wise ops over one or more inputs broadcast together (numpy rules):
// Min, Max (every numeric type; NaN propagates, as numpy's minimum/maximum), Sum and
// Mean (floating point; Mean = Sum / n).
#include <cmath>

#include "elementwise.h"

namespace edgeopt::rt::ref {
namespace {

enum class FoldOp { kMin, kMax, kSum, kMean };

template <FoldOp kOp>
class Variadic final : public NodeKernel {
 public:
  using NodeKernel::NodeKernel;

  void infer(InferContext& ctx) override {
    if (ctx.num_inputs() == 0 || !ctx.has_input(0))
      fail_input("node ", node_.describe(), ": needs at least one input");
    if constexpr (kOp == FoldOp::kMin || kOp == FoldOp::kMax)
      require_dtype(
          ctx, 0, [](DType t) { return is_float_dtype(t) || is_integer_dtype(t); },
          "a numeric type");
    else
      require_dtype(ctx, 0, is_float_dtype, "a floating-point type");
    std::vector<Shape> shapes;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      if (!ctx.has_input(i)) fail_input("node ", node_.describe(), ": input ", i, " is empty");
      require_same_dtype(ctx, 0, i);
      shapes.push_back(ctx.shape(i));
    }
    ctx.set_output(0, ctx.dtype(0), broadcast_shapes(shapes, node_));
  }

  void run(RunContext& ctx) override {
    Tensor& y = ctx.output(0);
    visit_numeric(y.dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      T* out = y.data<T>();
      const int64_t n = y.numel();
      // out = in_0 broadcast to the output shape, then out = f(out, in_k) for k = 1 .. inputs-1.
      const Tensor& first = ctx.input(0);
      binary_broadcast(first.shape(), first.data<T>(), first.shape(), first.data<T>(), y.shape(),
                       out, [](T v, T) { return v; });
      for (size_t k = 1; k < ctx.in.size(); ++k) {
        const Tensor& in = ctx.input(k);
        binary_broadcast(y.shape(), out, in.shape(), in.data<T>(), y.shape(), out,
                         [](T acc, T v) { return combine(acc, v); });
      }
      if constexpr (kOp == FoldOp::kMean && is_floating_v<T>) {
        using C = arith_t<T>;
        const C count = static_cast<C>(ctx.in.size());
        for (int64_t i = 0; i < n; ++i) out[i] = store<T>(load(out[i]) / count);
      }
    });
  }

 private:
  template <class T>
  static T combine(T acc, T v) {
    const auto a = load(acc), b = load(v);
    if constexpr (kOp == FoldOp::kMin || kOp == FoldOp::kMax) {
      if constexpr (is_floating_v<T>) {
        if (std::isnan(a)) return acc;
        if (std::isnan(b)) return v;
      }
      if constexpr (kOp == FoldOp::kMin) return b < a ? v : acc;
      return b > a ? v : acc;
    } else {
      return store<T>(a + b);
    }
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Min", 1, INT_MAX, Variadic<FoldOp::kMin>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Max", 1, INT_MAX, Variadic<FoldOp::kMax>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Sum", 1, INT_MAX, Variadic<FoldOp::kSum>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Mean", 1, INT_MAX, Variadic<FoldOp::kMean>);

}  // namespace
}  // namespace edgeopt::rt::ref
