// Where: y = condition ? x : y, all three broadcast together (numpy rules).
#include "elementwise.h"

namespace edgeopt::rt::ref {
namespace {

class Where final : public NodeKernel {
 public:
  using NodeKernel::NodeKernel;

  void infer(InferContext& ctx) override {
    if (ctx.dtype(0) != DType::kBool)
      fail_input("node ", node_.describe(), ": condition '", node_.input(0), "' has dtype ",
                 dtype_name(ctx.dtype(0)), ", expected bool");
    require_same_dtype(ctx, 1, 2);
    if (ctx.dtype(1) == DType::kString)
      fail_unsupported("node ", node_.describe(), ": string tensors are not supported");
    ctx.set_output(0, ctx.dtype(1),
                   broadcast_shapes({ctx.shape(0), ctx.shape(1), ctx.shape(2)}, node_));
  }

  void run(RunContext& ctx) override {
    // Only the element size matters for a selection, so copy 1, 2, 4 or 8-byte words.
    switch (dtype_size(ctx.input(1).dtype())) {
      case 1:
        select<uint8_t>(ctx);
        break;
      case 2:
        select<uint16_t>(ctx);
        break;
      case 4:
        select<uint32_t>(ctx);
        break;
      case 8:
        select<uint64_t>(ctx);
        break;
      default:
        unsupported_dtype(node_, ctx.input(1).dtype());
    }
  }

 private:
  template <class W>
  void select(RunContext& ctx) const {
    const Tensor& c = ctx.input(0);
    const Tensor& a = ctx.input(1);
    const Tensor& b = ctx.input(2);
    Tensor& y = ctx.output(0);
    const bool* pc = c.data<bool>();
    const W* pa = static_cast<const W*>(a.raw());
    const W* pb = static_cast<const W*>(b.raw());
    W* py = static_cast<W*>(y.raw());
    const int64_t n = y.numel();
    if (c.numel() == n && a.numel() == n && b.numel() == n) {
      for (int64_t i = 0; i < n; ++i) py[i] = pc[i] ? pa[i] : pb[i];
      return;
    }
    const Shape& s = y.shape();
    for_each_broadcast(s,
                       {broadcast_strides(c.shape(), s), broadcast_strides(a.shape(), s),
                        broadcast_strides(b.shape(), s)},
                       [&](int64_t i, const std::vector<int64_t>& off) {
                         py[i] = pc[off[0]] ? pa[off[1]] : pb[off[2]];
                       });
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Where", 9, INT_MAX, Where);

}  // namespace
}  // namespace edgeopt::rt::ref
