// PRelu: y = x for x >= 0, slope * x otherwise, with slope broadcast to x's shape
// (unidirectional numpy broadcasting: the output always has x's shape).
#include "elementwise.h"

namespace edgeopt::rt::ref {
namespace {

class PRelu final : public NodeKernel {
 public:
  explicit PRelu(const KernelInit& init) : NodeKernel(init), legacy_(init.opset < 7) {}

  void infer(InferContext& ctx) override {
    require_dtype(
        ctx, 0, [](DType t) { return is_float_dtype(t) || is_integer_dtype(t); }, "a numeric type");
    require_same_dtype(ctx, 0, 1);
    const Shape& x = ctx.shape(0);
    if (broadcast_shapes({x, slope_shape(x, ctx.shape(1))}, node_) != x)
      fail_input("node ", node_.describe(), ": slope '", node_.input(1), "' (",
                 shape_str(ctx.shape(1)), ") does not broadcast to x (", shape_str(x), ")");
    ctx.set_output(0, ctx.dtype(0), x);
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& slope = ctx.input(1);
    Tensor& y = ctx.output(0);
    visit_numeric(x.dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      binary_broadcast(x.shape(), x.data<T>(), slope_shape(x.shape(), slope.shape()),
                       slope.data<T>(), y.shape(), y.data<T>(), [](T v, T s) {
                         const auto a = load(v);
                         return a < 0 ? store<T>(load(s) * a) : v;
                       });
    });
  }

 private:
  // Before opset 7 a 1-D slope of length C applies per channel (axis 1), as PyTorch's PReLU.
  Shape slope_shape(const Shape& x, const Shape& slope) const {
    if (!legacy_ || slope.size() != 1 || x.size() < 2 || slope[0] != x[1] || slope[0] == 1)
      return slope;
    Shape s(x.size() - 1, 1);
    s[0] = slope[0];
    return s;
  }

  bool legacy_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "PRelu", 1, INT_MAX, PRelu);

}  // namespace
}  // namespace edgeopt::rt::ref
