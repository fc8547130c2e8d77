// ConvInteger: integer convolution with zero points, int32 output.
//
//   y[n, m, o] = sum_{c, k} (x[n, c, o*s + k*d - p] - x_zp) * (w[m, c, k] - w_zp[m])
//
// x and w are u8 or i8; x_zero_point is per-tensor, w_zero_point per-tensor or per output
// channel; both default to 0. Padding contributes 0 (a padded x equals x_zp). Attributes as
// Conv: group, strides, pads, dilations, auto_pad, kernel_shape.
#include "quant_common.h"

namespace edgeopt::rt::ref {
namespace {

class ConvInteger final : public Kernel {
 public:
  explicit ConvInteger(const KernelInit& init)
      : node_(init.node), attrs_(parse_conv_attrs(init.node)) {}

  void infer(InferContext& ctx) override {
    const auto q8 = {DType::kU8, DType::kI8};
    expect_dtype(node_, ctx, 0, q8, "x");
    expect_dtype(node_, ctx, 1, q8, "w");
    if (ctx.has_input(2) && ctx.dtype(2) != ctx.dtype(0))
      fail_input("node ", node_.describe(), ": x_zero_point's dtype differs from x's");
    if (ctx.has_input(3) && ctx.dtype(3) != ctx.dtype(1))
      fail_input("node ", node_.describe(), ": w_zero_point's dtype differs from w's");
    expect_scalar(node_, ctx, 2, "x_zero_point");
    const ConvGeometry g = conv_geometry(node_, attrs_, ctx.shape(0), ctx.shape(1));
    if (ctx.has_input(3))
      quant_axis(node_, ctx.shape(1), ctx.shape(3), nullptr, 0, true, "w_zero_point");
    ctx.set_output(0, DType::kI32, g.out_shape());
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    const int32_t x_zp = ctx.has_input(2) ? zero_point_at(&ctx.input(2), 0) : 0;
    const Tensor* w_zp = ctx.has_input(3) ? &ctx.input(3) : nullptr;
    const bool zp_per_channel = w_zp && w_zp->numel() > 1;
    const auto w_zero = [&](int64_t m) { return zero_point_at(w_zp, zp_per_channel ? m : 0); };
    const ConvGeometry g = conv_geometry(node_, attrs_, x.shape(), w.shape());
    int32_t* out = ctx.output(0).data<int32_t>();
    EDGEOPT_DISPATCH_QUANT8(x.dtype(), node_, TX, {
      EDGEOPT_DISPATCH_QUANT8(w.dtype(), node_, TW, {
        conv_int32(g, x.data<TX>(), x_zp, w.data<TW>(), w_zero,
                   [&](int64_t i, int64_t, int32_t acc) { out[i] = acc; });
      });
    });
  }

 private:
  const Node& node_;
  ConvAttrs attrs_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "ConvInteger", 10, INT_MAX, ConvInteger);

}  // namespace
}  // namespace edgeopt::rt::ref
