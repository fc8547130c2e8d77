// Pow: z = x ^ y with numpy broadcasting; z has the base's dtype. Since opset 12 the exponent
// may have another numeric dtype than the base.
//   integer ^ integer: exact repeated squaring, wrapping on overflow; a negative exponent
//                      gives the truncated real result (1 for base 1, ±1 for base -1, else 0).
//   otherwise:         computed in the base's float type (double for an integer base), an
//                      integer result truncated toward zero.
#include <cmath>

#include "elementwise.h"

namespace edgeopt::rt::ref {
namespace {

template <class B, class E>
B int_pow(B base, E exp) {
  using U = std::make_unsigned_t<B>;
  if constexpr (std::is_signed_v<E>) {
    if (exp < 0) {
      if (base == 1) return 1;
      if constexpr (std::is_signed_v<B>) {
        if (base == -1) return (exp % 2 == 0) ? 1 : -1;
      }
      return 0;
    }
  }
  // Unsigned arithmetic wraps (numpy's behaviour) where signed overflow would be undefined.
  using W = std::common_type_t<U, unsigned>;
  W result = 1, b = static_cast<W>(static_cast<U>(base));
  for (auto e = static_cast<std::make_unsigned_t<E>>(exp); e != 0; e >>= 1) {
    if (e & 1) result = static_cast<W>(static_cast<U>(result * b));
    b = static_cast<W>(static_cast<U>(b * b));
  }
  return static_cast<B>(static_cast<U>(result));
}

class Pow final : public BinaryKernel {
 public:
  using BinaryKernel::BinaryKernel;

  void run(RunContext& ctx) override {
    visit_numeric(ctx.input(0).dtype(), node_, [&](auto base_tag) {
      using B = typename decltype(base_tag)::type;
      visit_numeric(ctx.input(1).dtype(), node_, [&](auto exp_tag) {
        using E = typename decltype(exp_tag)::type;
        apply<B, E, B>(ctx, [](B x, E y) { return power(x, y); });
      });
    });
  }

 private:
  template <class B, class E>
  static B power(B x, E y) {
    if constexpr (std::is_integral_v<B> && std::is_integral_v<E>) {
      return int_pow(x, y);
    } else if constexpr (is_floating_v<B>) {
      using C = arith_t<B>;
      return store<B>(std::pow(load(x), static_cast<C>(load(y))));
    } else {
      return float_to_int<B>(std::pow(static_cast<double>(x), static_cast<double>(load(y))));
    }
  }

  DType check_dtypes(const InferContext& ctx) override {
    auto numeric = [](DType t) { return is_float_dtype(t) || is_integer_dtype(t); };
    require_dtype(ctx, 0, numeric, "a numeric type");
    require_dtype(ctx, 1, numeric, "a numeric type");
    if (opset_ < 12) require_same_dtype(ctx, 0, 1);
    return ctx.dtype(0);
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Pow", 1, INT_MAX, Pow);

}  // namespace
}  // namespace edgeopt::rt::ref
