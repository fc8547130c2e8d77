// The integer ops with int32 outputs, their u8/i8 operands shifted by zero points.
//
// ConvInteger: integer convolution.
//
//   y[n, m, o] = sum_{c, k} (x[n, c, o*s + k*d - p] - x_zp) * (w[m, c, k] - w_zp[m])
//
// x and w are u8 or i8; x_zero_point is per-tensor, w_zero_point per-tensor or per output
// channel; both default to 0. Padding contributes 0 (a padded x equals x_zp). Attributes as
// Conv: group, strides, pads, dilations, auto_pad, kernel_shape.
//
// MatMulInteger: numpy.matmul of a and b.
//
//   y[i, j] = sum_k (a[i, k] - a_zp[i]) * (b[k, j] - b_zp[j])
//
// a_zero_point is per-tensor or per row ([M], or a's batch dims with [M, 1]); b_zero_point is
// per-tensor or per column ([N], or b's batch dims with [1, N]); both default to 0.
#include "quant_common.h"

namespace edgeopt::rt::ref {
namespace {

class ConvInteger final : public NodeKernel {
 public:
  explicit ConvInteger(const KernelInit& init)
      : NodeKernel(init), attrs_(parse_conv_attrs(init.node)) {}

  void infer(InferContext& ctx) override {
    expect_int8_operand(node_, ctx, 0, 2, "x");
    expect_int8_operand(node_, ctx, 1, 3, "w");
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
  ConvAttrs attrs_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "ConvInteger", 10, INT_MAX, ConvInteger);

class MatMulInteger final : public NodeKernel {
 public:
  using NodeKernel::NodeKernel;

  void infer(InferContext& ctx) override {
    expect_int8_operand(node_, ctx, 0, 2, "a");
    expect_int8_operand(node_, ctx, 1, 3, "b");
    const MatMulGeometry g = matmul_geometry(node_, ctx.shape(0), ctx.shape(1));
    if (ctx.has_input(2)) row_col_param(node_, ctx.shape(0), ctx.shape(2), true, "a_zero_point");
    if (ctx.has_input(3)) row_col_param(node_, ctx.shape(1), ctx.shape(3), false, "b_zero_point");
    ctx.set_output(0, DType::kI32, g.out_shape);
  }

  void run(RunContext& ctx) override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    const Tensor* a_zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    const Tensor* b_zp = ctx.has_input(3) ? &ctx.input(3) : nullptr;
    const MatMulGeometry g = matmul_geometry(node_, a.shape(), b.shape());
    const RowColParam az =
        a_zp ? row_col_param(node_, a.shape(), a_zp->shape(), true, "a_zero_point") : RowColParam{};
    const RowColParam bz =
        b_zp ? row_col_param(node_, b.shape(), b_zp->shape(), false, "b_zero_point")
             : RowColParam{};
    const auto a_zero = [&](int64_t bt, int64_t i) { return zero_point_at(a_zp, az.index(bt, i)); };
    const auto b_zero = [&](int64_t bt, int64_t j) { return zero_point_at(b_zp, bz.index(bt, j)); };
    int32_t* out = ctx.output(0).data<int32_t>();
    EDGEOPT_DISPATCH_QUANT8(a.dtype(), node_, TA, {
      EDGEOPT_DISPATCH_QUANT8(b.dtype(), node_, TB, {
        matmul_int32(
            g, a.shape(), b.shape(), a.data<TA>(), a_zero, b.data<TB>(), b_zero,
            [&](int64_t o, int64_t, int64_t, int64_t, int64_t, int32_t acc) { out[o] = acc; });
      });
    });
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "MatMulInteger", 10, INT_MAX, MatMulInteger);

}  // namespace
}  // namespace edgeopt::rt::ref
