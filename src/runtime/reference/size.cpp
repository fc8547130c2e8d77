// Size: the input's element count as an int64 scalar, given while planning (see Shape).
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class Size final : public Kernel {
 public:
  explicit Size(const KernelInit&) {}
  void infer(InferContext& ctx) override {
    ctx.set_output_value(0, Tensor::scalar<int64_t>(shape_numel(ctx.shape(0))));
  }
  void run(RunContext& ctx) override { ctx.output(0).data<int64_t>()[0] = ctx.input(0).numel(); }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Size", 1, INT_MAX, Size);

}  // namespace
}  // namespace edgeopt::rt::ref
