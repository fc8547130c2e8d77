// Comparisons with numpy broadcasting, bool output: Equal, Less, LessOrEqual, Greater,
// GreaterOrEqual. Any NaN compares false (IEEE), so Equal(NaN, NaN) is false.
#include "elementwise.h"

namespace edgeopt::rt::ref {
namespace {

enum class CmpOp { kEq, kLt, kLe, kGt, kGe };

template <CmpOp kOp>
class Compare final : public BinaryKernel {
 public:
  using BinaryKernel::BinaryKernel;

  void run(RunContext& ctx) override {
    visit_any(ctx.input(0).dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      apply<T, T, bool>(ctx, [](T x, T y) {
        const auto a = load(x), b = load(y);
        if constexpr (kOp == CmpOp::kEq) return a == b;
        if constexpr (kOp == CmpOp::kLt) return a < b;
        if constexpr (kOp == CmpOp::kLe) return a <= b;
        if constexpr (kOp == CmpOp::kGt) return a > b;
        if constexpr (kOp == CmpOp::kGe) return a >= b;
      });
    });
  }

 private:
  DType check_dtypes(const InferContext& ctx) override {
    require_dtype(
        ctx, 0,
        [](DType t) { return t == DType::kBool || is_float_dtype(t) || is_integer_dtype(t); },
        "a numeric type or bool");
    require_same_dtype(ctx, 0, 1);
    return DType::kBool;
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Equal", 1, INT_MAX, Compare<CmpOp::kEq>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Less", 1, INT_MAX, Compare<CmpOp::kLt>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "LessOrEqual", 12, INT_MAX, Compare<CmpOp::kLe>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Greater", 1, INT_MAX, Compare<CmpOp::kGt>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "GreaterOrEqual", 12, INT_MAX, Compare<CmpOp::kGe>);

}  // namespace
}  // namespace edgeopt::rt::ref
