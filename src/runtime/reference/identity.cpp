// Identity: out = in (tensors of every dtype, strings included; sequences and optionals are
// not supported).
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class Identity final : public Kernel {
 public:
  explicit Identity(const KernelInit&) {}
  void infer(InferContext& ctx) override { ctx.set_output(0, ctx.dtype(0), ctx.shape(0)); }
  void run(RunContext& ctx) override { copy_all(ctx.input(0), ctx.output(0)); }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Identity", 1, INT_MAX, Identity);

}  // namespace
}  // namespace edgeopt::rt::ref
