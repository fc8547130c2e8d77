// Dropout at inference: out = in, and the optional mask is all true (nothing dropped).
// Training mode (opset >= 12, input 2) with a nonzero ratio drops at random and is refused.
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class Dropout final : public NodeKernel {
 public:
  explicit Dropout(const KernelInit& init) : NodeKernel(init), opset_(init.opset) {}
  void infer(InferContext& ctx) override {
    if (opset_ >= 12 && ctx.has_input(2) && ctx.value(2).get_i64(0) != 0) {
      const double ratio = ctx.has_input(1) ? ctx.value(1).get_f64(0) : 0.5;
      if (ratio != 0)
        fail_unsupported("node ", node_.describe(), ": training-mode Dropout is not supported");
    }
    ctx.set_output(0, ctx.dtype(0), ctx.shape(0));
    // The mask is bool from opset 10, the input's type before.
    ctx.set_output(1, opset_ >= 10 ? DType::kBool : ctx.dtype(0), ctx.shape(0));
  }
  void run(RunContext& ctx) override {
    copy_all(ctx.input(0), ctx.output(0));
    if (ctx.out.size() < 2 || !ctx.out[1]) return;
    Tensor& mask = ctx.output(1);
    if (mask.dtype() == DType::kBool) {
      std::fill_n(mask.data<uint8_t>(), mask.numel(), uint8_t{1});
      return;
    }
    EDGEOPT_DISPATCH_NUMERIC(mask.dtype(), node_,
                             { std::fill_n(mask.data<T>(), mask.numel(), T(1)); });
  }

 private:
  int64_t opset_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Dropout", 1, INT_MAX, Dropout);

}  // namespace
}  // namespace edgeopt::rt::ref
