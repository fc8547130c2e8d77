// Add, Sub, Mul, Div: y = a ∘ b with numpy broadcasting (legacy broadcast/axis attributes
// before opset 7).
//
// Integers wrap around on overflow (two's complement, as numpy). Integer Div truncates toward
// zero (C semantics, as ONNX Runtime and the ONNX reference implementation); a zero divisor
// gives 0 instead of trapping.
#include <limits>

#include "elementwise.h"

namespace edgeopt::rt::ref {
namespace {

enum class ArithOp { kAdd, kSub, kMul, kDiv };

// Integer quotient truncated toward zero, defined for every input: x / 0 = 0 and
// INT_MIN / -1 = INT_MIN (wraps), where C would trap.
template <class T>
T int_div(T x, T y) {
  if (y == 0) return 0;
  if constexpr (std::is_signed_v<T>) {
    if (y == -1) return static_cast<T>(0 - static_cast<std::make_unsigned_t<T>>(x));
  }
  return static_cast<T>(x / y);
}

template <ArithOp kOp>
class BinaryArith final : public BinaryKernel {
 public:
  using BinaryKernel::BinaryKernel;

  void run(RunContext& ctx) override {
    visit_numeric(ctx.input(0).dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      apply<T, T, T>(ctx, [](T x, T y) { return compute(x, y); });
    });
  }

 private:
  DType check_dtypes(const InferContext& ctx) override {
    require_dtype(
        ctx, 0, [](DType t) { return is_float_dtype(t) || is_integer_dtype(t); }, "a numeric type");
    require_same_dtype(ctx, 0, 1);
    return ctx.dtype(0);
  }

  template <class T>
  static T compute(T x, T y) {
    if constexpr (std::is_integral_v<T>) {
      // Unsigned arithmetic so that overflow wraps instead of being undefined.
      using U = std::make_unsigned_t<T>;
      const U ux = static_cast<U>(x), uy = static_cast<U>(y);
      if constexpr (kOp == ArithOp::kAdd) return static_cast<T>(static_cast<U>(ux + uy));
      if constexpr (kOp == ArithOp::kSub) return static_cast<T>(static_cast<U>(ux - uy));
      if constexpr (kOp == ArithOp::kMul) {
        // Promote to at least unsigned int so that u16 * u16 cannot overflow a signed int.
        using W = std::common_type_t<U, unsigned>;
        return static_cast<T>(static_cast<W>(ux) * static_cast<W>(uy));
      }
      if constexpr (kOp == ArithOp::kDiv) return int_div(x, y);
    } else {
      const auto a = load(x), b = load(y);
      if constexpr (kOp == ArithOp::kAdd) return store<T>(a + b);
      if constexpr (kOp == ArithOp::kSub) return store<T>(a - b);
      if constexpr (kOp == ArithOp::kMul) return store<T>(a * b);
      if constexpr (kOp == ArithOp::kDiv) return store<T>(a / b);
    }
  }
};

using Add = BinaryArith<ArithOp::kAdd>;
using Sub = BinaryArith<ArithOp::kSub>;
using Mul = BinaryArith<ArithOp::kMul>;
using Div = BinaryArith<ArithOp::kDiv>;

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Add", 1, INT_MAX, Add);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Sub", 1, INT_MAX, Sub);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Mul", 1, INT_MAX, Mul);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Div", 1, INT_MAX, Div);

}  // namespace
}  // namespace edgeopt::rt::ref
