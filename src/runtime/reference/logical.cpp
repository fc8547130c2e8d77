// Boolean logic: And, Or, Xor (numpy broadcasting; legacy broadcast attribute before opset 7)
// and Not.
#include "elementwise.h"

namespace edgeopt::rt::ref {
namespace {

enum class LogicOp { kAnd, kOr, kXor };

template <LogicOp kOp>
class Logical final : public BinaryKernel {
 public:
  using BinaryKernel::BinaryKernel;

  void run(RunContext& ctx) override {
    apply<bool, bool, bool>(ctx, [](bool a, bool b) {
      if constexpr (kOp == LogicOp::kAnd) return a && b;
      if constexpr (kOp == LogicOp::kOr) return a || b;
      if constexpr (kOp == LogicOp::kXor) return a != b;
    });
  }

 private:
  DType check_dtypes(const InferContext& ctx) override {
    require_dtype(
        ctx, 0, [](DType t) { return t == DType::kBool; }, "bool");
    require_dtype(
        ctx, 1, [](DType t) { return t == DType::kBool; }, "bool");
    return DType::kBool;
  }
};

class Not final : public Kernel {
 public:
  explicit Not(const KernelInit& init) {}
  void infer(InferContext& ctx) override {
    require_dtype(
        ctx, 0, [](DType t) { return t == DType::kBool; }, "bool");
    ctx.set_output(0, DType::kBool, ctx.shape(0));
  }
  void run(RunContext& ctx) override {
    const bool* x = ctx.input(0).data<bool>();
    bool* y = ctx.output(0).data<bool>();
    for (int64_t i = 0; i < ctx.input(0).numel(); ++i) y[i] = !x[i];
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "And", 1, INT_MAX, Logical<LogicOp::kAnd>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Or", 1, INT_MAX, Logical<LogicOp::kOr>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Xor", 1, INT_MAX, Logical<LogicOp::kXor>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Not", 1, INT_MAX, Not);

}  // namespace
}  // namespace edgeopt::rt::ref
