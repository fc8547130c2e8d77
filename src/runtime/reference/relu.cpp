// Relu: y = max(x, 0).
#include "common.h"

namespace edgeopt::rt::ref {
namespace {

class Relu final : public NodeKernel {
 public:
  using NodeKernel::NodeKernel;
  void infer(InferContext& ctx) override { ctx.set_output(0, ctx.dtype(0), ctx.shape(0)); }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    EDGEOPT_DISPATCH_NUMERIC(x.dtype(), node_, {
      const T* a = x.data<T>();
      T* b = y.data<T>();
      for (int64_t i = 0; i < x.numel(); ++i) b[i] = a[i] > T(0) ? a[i] : T(0);
    });
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Relu", 1, INT_MAX, Relu);

}  // namespace
}  // namespace edgeopt::rt::ref
