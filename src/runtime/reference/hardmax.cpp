// Hardmax: 1 at the first maximum along the axis, 0 elsewhere (axis layout as Softmax).
#include "softmax.h"

namespace edgeopt::rt::ref {
namespace {

class Hardmax final : public Kernel {
 public:
  explicit Hardmax(const KernelInit& init) : node_(init.node), opset_(init.opset) {}

  void infer(InferContext& ctx) override { softmax_infer(ctx, node_, opset_); }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const AxisLayout l = softmax_layout(node_, opset_, x.shape());
    EDGEOPT_DISPATCH_FLOAT(x.dtype(), node_, {
      const T* xd = x.data<T>();
      T* yd = ctx.output(0).data<T>();
      for_each_axis_line(l, [&](int64_t base) {
        int64_t best = 0;
        for (int64_t i = 1; i < l.len; ++i)
          if (xd[base + i * l.inner] > xd[base + best * l.inner]) best = i;
        for (int64_t i = 0; i < l.len; ++i) yd[base + i * l.inner] = T(i == best ? 1 : 0);
      });
    });
  }

 private:
  const Node& node_;
  int64_t opset_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Hardmax", 1, INT_MAX, Hardmax);

}  // namespace
}  // namespace edgeopt::rt::ref
