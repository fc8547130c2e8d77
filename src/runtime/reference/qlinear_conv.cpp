// QLinearConv: convolution of quantized x and w, requantized to y.
//
//   acc[n, m, o] = sum_{c, k} (x[n, c, o*s + k*d - p] - x_zp) * (w[m, c, k] - w_zp[m]) + B[m]
//   y = saturate(round_half_even(acc * (x_scale * w_scale[m] / y_scale)) + y_zp)
//
// accumulated in int32, the multiplier computed in float in ONNX Runtime's order, so results
// match it exactly. x and y are u8 or i8, w is u8 or i8; w_scale / w_zero_point are
// per-tensor or per output channel; B is optional int32 [M]. Attributes as Conv: group,
// strides, pads, dilations, auto_pad, kernel_shape.
#include "quant_common.h"

namespace edgeopt::rt::ref {
namespace {

enum Input { kX, kXScale, kXZp, kW, kWScale, kWZp, kYScale, kYZp, kB };

class QLinearConv final : public NodeKernel {
 public:
  explicit QLinearConv(const KernelInit& init)
      : NodeKernel(init), attrs_(parse_conv_attrs(init.node)) {}

  void infer(InferContext& ctx) override {
    const ConvGeometry g = check(ctx);
    ctx.set_output(0, ctx.has_input(kYZp) ? ctx.dtype(kYZp) : DType::kU8, g.out_shape());
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(kX);
    const Tensor& w = ctx.input(kW);
    const Tensor& w_scale = ctx.input(kWScale);
    const Tensor* w_zp = ctx.has_input(kWZp) ? &ctx.input(kWZp) : nullptr;
    const int32_t* bias = ctx.has_input(kB) ? ctx.input(kB).data<int32_t>() : nullptr;
    const ConvGeometry g = conv_geometry(node_, attrs_, x.shape(), w.shape());
    const float x_scale = scale_at(ctx.input(kXScale), 0);
    const float y_scale = scale_at(ctx.input(kYScale), 0);
    const int32_t x_zp = ctx.has_input(kXZp) ? zero_point_at(&ctx.input(kXZp), 0) : 0;
    const int32_t y_zp = ctx.has_input(kYZp) ? zero_point_at(&ctx.input(kYZp), 0) : 0;
    const bool w_per_channel = w_scale.numel() > 1;
    const bool zp_per_channel = w_zp && w_zp->numel() > 1;
    const auto w_zero = [&](int64_t m) { return zero_point_at(w_zp, zp_per_channel ? m : 0); };
    Tensor& y = ctx.output(0);
    EDGEOPT_DISPATCH_QUANT8(x.dtype(), node_, TX, {
      EDGEOPT_DISPATCH_QUANT8(w.dtype(), node_, TW, {
        EDGEOPT_DISPATCH_QUANT8(y.dtype(), node_, TY, {
          TY* out = y.data<TY>();
          conv_int32(
              g, x.data<TX>(), x_zp, w.data<TW>(), w_zero, [&](int64_t i, int64_t m, int32_t acc) {
                const float mult =
                    requant_multiplier(x_scale, scale_at(w_scale, w_per_channel ? m : 0), y_scale);
                // int32 wrap-around (C++20 conversion) as the accumulator itself.
                const int32_t total = static_cast<int32_t>(int64_t{acc} + (bias ? bias[m] : 0));
                out[i] = requantize_value<TY>(total, mult, y_zp);
              });
        });
      });
    });
  }

 private:
  ConvGeometry check(const InferContext& ctx) const {
    expect_int8_operand(node_, ctx, kX, kXZp, "x");
    expect_int8_operand(node_, ctx, kW, kWZp, "w");
    expect_dtype(node_, ctx, kYZp, {DType::kU8, DType::kI8}, "y_zero_point");
    for (size_t s : {kXScale, kWScale, kYScale})
      expect_dtype(node_, ctx, s, {DType::kF32}, "scale");
    expect_dtype(node_, ctx, kB, {DType::kI32}, "B");
    expect_scalar(node_, ctx, kXScale, "x_scale");
    expect_scalar(node_, ctx, kXZp, "x_zero_point");
    expect_scalar(node_, ctx, kYScale, "y_scale");
    expect_scalar(node_, ctx, kYZp, "y_zero_point");
    const ConvGeometry g = conv_geometry(node_, attrs_, ctx.shape(kX), ctx.shape(kW));
    // w_scale / w_zero_point: one value or one per output channel (axis 0 of w).
    quant_axis(node_, ctx.shape(kW), ctx.shape(kWScale), nullptr, 0, true, "w_scale");
    if (ctx.has_input(kWZp))
      quant_axis(node_, ctx.shape(kW), ctx.shape(kWZp), nullptr, 0, true, "w_zero_point");
    if (ctx.has_input(kB) && (ctx.shape(kB).size() != 1 || ctx.shape(kB)[0] != g.out_channels))
      fail_input("node ", node_.describe(), ": B of shape ", shape_str(ctx.shape(kB)),
                 " must be 1-D with ", g.out_channels, " elements");
    return g;
  }

  ConvAttrs attrs_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "QLinearConv", 10, INT_MAX, QLinearConv);

}  // namespace
}  // namespace edgeopt::rt::ref
