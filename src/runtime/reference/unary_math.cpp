// Element-wise math functions y = f(x): Sqrt, Exp, Log, Erf, Abs, Neg, Reciprocal, Floor,
// Ceil, Round, Sign, Tanh and the trigonometric and hyperbolic functions. They differ only in
// f, so each op is a small functor run by UnaryKernel.
#include <cmath>

#include "elementwise.h"

namespace edgeopt::rt::ref {
namespace {

// Declares a floating-point-only op `Name` computing `expr` of x.
#define EDGEOPT_FLOAT_UNARY(Name, expr)                      \
  struct Name {                                              \
    static constexpr UnaryTypes kTypes = UnaryTypes::kFloat; \
    template <class C>                                       \
    C operator()(C x) const {                                \
      return expr;                                           \
    }                                                        \
  }

EDGEOPT_FLOAT_UNARY(SqrtOp, std::sqrt(x));
EDGEOPT_FLOAT_UNARY(ExpOp, std::exp(x));
EDGEOPT_FLOAT_UNARY(LogOp, std::log(x));
EDGEOPT_FLOAT_UNARY(ReciprocalOp, C(1) / x);
EDGEOPT_FLOAT_UNARY(FloorOp, std::floor(x));
EDGEOPT_FLOAT_UNARY(CeilOp, std::ceil(x));
// nearbyint rounds in the default mode, round-to-nearest-even: Round(2.5) = 2, Round(-1.5) = -2.
EDGEOPT_FLOAT_UNARY(RoundOp, std::nearbyint(x));
EDGEOPT_FLOAT_UNARY(SinOp, std::sin(x));
EDGEOPT_FLOAT_UNARY(CosOp, std::cos(x));
EDGEOPT_FLOAT_UNARY(TanOp, std::tan(x));
EDGEOPT_FLOAT_UNARY(AsinOp, std::asin(x));
EDGEOPT_FLOAT_UNARY(AcosOp, std::acos(x));
EDGEOPT_FLOAT_UNARY(AtanOp, std::atan(x));
EDGEOPT_FLOAT_UNARY(SinhOp, std::sinh(x));
EDGEOPT_FLOAT_UNARY(CoshOp, std::cosh(x));
EDGEOPT_FLOAT_UNARY(AsinhOp, std::asinh(x));
EDGEOPT_FLOAT_UNARY(AcoshOp, std::acosh(x));
EDGEOPT_FLOAT_UNARY(AtanhOp, std::atanh(x));
EDGEOPT_FLOAT_UNARY(TanhOp, std::tanh(x));

#undef EDGEOPT_FLOAT_UNARY

// Erf takes every numeric type since opset 9; integers are computed in double and truncated.
struct ErfOp {
  static constexpr UnaryTypes kTypes = UnaryTypes::kNumeric;
  template <class C>
  C operator()(C x) const {
    return static_cast<C>(std::erf(x));
  }
};

struct AbsOp {
  static constexpr UnaryTypes kTypes = UnaryTypes::kNumeric;
  template <class C>
  C operator()(C x) const {
    if constexpr (std::is_signed_v<C>) return x < C(0) ? static_cast<C>(-x) : x;
    return x;
  }
};

struct NegOp {
  static constexpr UnaryTypes kTypes = UnaryTypes::kSignedNumeric;
  template <class C>
  C operator()(C x) const {
    // -INT_MIN wraps to INT_MIN (computed unsigned: signed overflow is undefined).
    if constexpr (std::is_integral_v<C>)
      return static_cast<C>(0 - static_cast<std::make_unsigned_t<C>>(x));
    return -x;
  }
};

// sign(x) ∈ {-1, 0, 1}; NaN stays NaN.
struct SignOp {
  static constexpr UnaryTypes kTypes = UnaryTypes::kNumeric;
  template <class C>
  C operator()(C x) const {
    if constexpr (std::is_floating_point_v<C>) {
      if (std::isnan(x)) return x;
    }
    if (x > C(0)) return C(1);
    if constexpr (std::is_signed_v<C>) {
      if (x < C(0)) return C(-1);
    }
    return C(0);
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Sqrt", 1, INT_MAX, UnaryKernel<SqrtOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Exp", 1, INT_MAX, UnaryKernel<ExpOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Log", 1, INT_MAX, UnaryKernel<LogOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Reciprocal", 1, INT_MAX, UnaryKernel<ReciprocalOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Floor", 1, INT_MAX, UnaryKernel<FloorOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Ceil", 1, INT_MAX, UnaryKernel<CeilOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Round", 11, INT_MAX, UnaryKernel<RoundOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Sin", 7, INT_MAX, UnaryKernel<SinOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Cos", 7, INT_MAX, UnaryKernel<CosOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Tan", 7, INT_MAX, UnaryKernel<TanOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Asin", 7, INT_MAX, UnaryKernel<AsinOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Acos", 7, INT_MAX, UnaryKernel<AcosOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Atan", 7, INT_MAX, UnaryKernel<AtanOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Sinh", 9, INT_MAX, UnaryKernel<SinhOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Cosh", 9, INT_MAX, UnaryKernel<CoshOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Asinh", 9, INT_MAX, UnaryKernel<AsinhOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Acosh", 9, INT_MAX, UnaryKernel<AcoshOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Atanh", 9, INT_MAX, UnaryKernel<AtanhOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Tanh", 1, INT_MAX, UnaryKernel<TanhOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Erf", 9, INT_MAX, UnaryKernel<ErfOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Abs", 1, INT_MAX, UnaryKernel<AbsOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Neg", 1, INT_MAX, UnaryKernel<NegOp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Sign", 9, INT_MAX, UnaryKernel<SignOp>);

}  // namespace
}  // namespace edgeopt::rt::ref
