// IsNaN and IsInf: bool masks of floating-point input. IsInf's attributes detect_negative and
// detect_positive (both default 1) choose which infinities count.
#include <cmath>

#include "elementwise.h"

namespace edgeopt::rt::ref {
namespace {

class FloatClassKernel : public NodeKernel {
 public:
  using NodeKernel::NodeKernel;
  void infer(InferContext& ctx) override {
    require_dtype(ctx, 0, is_float_dtype, "a floating-point type");
    ctx.set_output(0, DType::kBool, ctx.shape(0));
  }

 protected:
  template <class F>
  void classify(RunContext& ctx, F&& pred) const {
    const Tensor& x = ctx.input(0);
    bool* y = ctx.output(0).data<bool>();
    visit_float(x.dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* in = x.data<T>();
      for (int64_t i = 0; i < x.numel(); ++i) y[i] = pred(load(in[i]));
    });
  }
};

class IsNaN final : public FloatClassKernel {
 public:
  using FloatClassKernel::FloatClassKernel;
  void run(RunContext& ctx) override {
    classify(ctx, [](auto v) { return std::isnan(v); });
  }
};

class IsInf final : public FloatClassKernel {
 public:
  explicit IsInf(const KernelInit& init)
      : FloatClassKernel(init),
        negative_(init.node.attr_int("detect_negative", 1) != 0),
        positive_(init.node.attr_int("detect_positive", 1) != 0) {}
  void run(RunContext& ctx) override {
    classify(ctx, [&](auto v) { return std::isinf(v) && (v > 0 ? positive_ : negative_); });
  }

 private:
  bool negative_, positive_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "IsNaN", 9, INT_MAX, IsNaN);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "IsInf", 10, INT_MAX, IsInf);

}  // namespace
}  // namespace edgeopt::rt::ref
