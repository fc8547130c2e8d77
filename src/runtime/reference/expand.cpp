// Expand: broadcasts the input to the numpy broadcast of its shape and the shape in input 1
// (so a 1 in the given shape keeps the input's dimension).
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class Expand final : public Kernel {
 public:
  explicit Expand(const KernelInit& init) : node_(init.node) {}
  void infer(InferContext& ctx) override {
    const Shape target = input_ints(ctx, 1);
    ctx.set_output(0, ctx.dtype(0), broadcast_shapes({ctx.shape(0), target}, node_));
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    copy_view(x, 0, broadcast_strides(x.shape(), y.shape()), y);
  }

 private:
  const Node& node_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Expand", 1, INT_MAX, Expand);

}  // namespace
}  // namespace edgeopt::rt::ref
