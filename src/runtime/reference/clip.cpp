// Clip: y = min(max(x, lo), hi). Before opset 11 lo and hi are the float attributes min and
// max; from opset 11 they are optional scalar inputs 1 and 2. A missing bound is the type's
// lowest/highest value. When lo > hi every element becomes hi (as the spec states).
#include <limits>

#include "elementwise.h"

namespace edgeopt::rt::ref {
namespace {

class Clip final : public NodeKernel {
 public:
  explicit Clip(const KernelInit& init) : NodeKernel(init), opset_(init.opset) {}

  void infer(InferContext& ctx) override {
    require_dtype(
        ctx, 0, [](DType t) { return is_float_dtype(t) || is_integer_dtype(t); }, "a numeric type");
    if (opset_ < 11 && !dtype_is_float(ctx.dtype(0)))
      fail_unsupported("node ", node_.describe(), ": Clip before opset 11 takes only floats");
    for (size_t i = 1; i <= 2 && opset_ >= 11; ++i) {
      if (!ctx.has_input(i)) continue;
      require_same_dtype(ctx, 0, i);
      if (shape_numel(ctx.shape(i)) != 1)
        fail_input("node ", node_.describe(), ": bound '", node_.input(i), "' has shape ",
                   shape_str(ctx.shape(i)), ", expected a scalar");
    }
    ctx.set_output(0, ctx.dtype(0), ctx.shape(0));
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    visit_numeric(x.dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      using C = arith_t<T>;
      C lo = std::numeric_limits<C>::lowest();
      C hi = std::numeric_limits<C>::max();
      if (opset_ < 11) {
        if (node_.has_attr("min")) lo = static_cast<C>(node_.attr_float("min", 0));
        if (node_.has_attr("max")) hi = static_cast<C>(node_.attr_float("max", 0));
      } else {
        if (ctx.has_input(1)) lo = load(ctx.input(1).data<T>()[0]);
        if (ctx.has_input(2)) hi = load(ctx.input(2).data<T>()[0]);
      }
      const T* in = x.data<T>();
      T* out = y.data<T>();
      for (int64_t i = 0; i < x.numel(); ++i) {
        C v = load(in[i]);
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
        out[i] = store<T>(v);
      }
    });
  }

 private:
  int64_t opset_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Clip", 1, INT_MAX, Clip);

}  // namespace
}  // namespace edgeopt::rt::ref
