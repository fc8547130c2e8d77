// QLinearMatMul: numpy.matmul of quantized a and b, requantized to y.
//
//   acc[i, j] = sum_k (a[i, k] - a_zp[i]) * (b[k, j] - b_zp[j])
//   y[i, j] = saturate(round_half_even(acc * (a_scale[i] * b_scale[j] / y_scale)) + y_zp)
//
// accumulated in int32, the multiplier computed in float in ONNX Runtime's order. a's scale and
// zero point are per-tensor or per row ([M], or a's batch dims with [M, 1]); b's per-tensor or
// per column ([N], or b's batch dims with [1, N]); y's per-tensor. a, b, y are u8 or i8.
#include "quant_common.h"

namespace edgeopt::rt::ref {
namespace {

enum Input { kA, kAScale, kAZp, kB, kBScale, kBZp, kYScale, kYZp };

class QLinearMatMul final : public NodeKernel {
 public:
  using NodeKernel::NodeKernel;

  void infer(InferContext& ctx) override {
    expect_int8_operand(node_, ctx, kA, kAZp, "a");
    expect_int8_operand(node_, ctx, kB, kBZp, "b");
    expect_dtype(node_, ctx, kYZp, {DType::kU8, DType::kI8}, "y_zero_point");
    for (size_t s : {kAScale, kBScale, kYScale})
      expect_dtype(node_, ctx, s, {DType::kF32}, "scale");
    const MatMulGeometry g = matmul_geometry(node_, ctx.shape(kA), ctx.shape(kB));
    row_col_param(node_, ctx.shape(kA), ctx.shape(kAScale), true, "a_scale");
    row_col_param(node_, ctx.shape(kB), ctx.shape(kBScale), false, "b_scale");
    if (ctx.has_input(kAZp))
      row_col_param(node_, ctx.shape(kA), ctx.shape(kAZp), true, "a_zero_point");
    if (ctx.has_input(kBZp))
      row_col_param(node_, ctx.shape(kB), ctx.shape(kBZp), false, "b_zero_point");
    expect_scalar(node_, ctx, kYScale, "y_scale");
    expect_scalar(node_, ctx, kYZp, "y_zero_point");
    ctx.set_output(0, ctx.has_input(kYZp) ? ctx.dtype(kYZp) : DType::kU8, g.out_shape);
  }

  void run(RunContext& ctx) override {
    const Tensor& a = ctx.input(kA);
    const Tensor& b = ctx.input(kB);
    const Tensor& a_scale = ctx.input(kAScale);
    const Tensor& b_scale = ctx.input(kBScale);
    const Tensor* a_zp = ctx.has_input(kAZp) ? &ctx.input(kAZp) : nullptr;
    const Tensor* b_zp = ctx.has_input(kBZp) ? &ctx.input(kBZp) : nullptr;
    const float y_scale = scale_at(ctx.input(kYScale), 0);
    const int32_t y_zp = ctx.has_input(kYZp) ? zero_point_at(&ctx.input(kYZp), 0) : 0;
    const MatMulGeometry g = matmul_geometry(node_, a.shape(), b.shape());
    const RowColParam as = row_col_param(node_, a.shape(), a_scale.shape(), true, "a_scale");
    const RowColParam bs = row_col_param(node_, b.shape(), b_scale.shape(), false, "b_scale");
    const RowColParam az =
        a_zp ? row_col_param(node_, a.shape(), a_zp->shape(), true, "a_zero_point") : as;
    const RowColParam bz =
        b_zp ? row_col_param(node_, b.shape(), b_zp->shape(), false, "b_zero_point") : bs;
    const auto a_zero = [&](int64_t bt, int64_t i) { return zero_point_at(a_zp, az.index(bt, i)); };
    const auto b_zero = [&](int64_t bt, int64_t j) { return zero_point_at(b_zp, bz.index(bt, j)); };
    Tensor& y = ctx.output(0);
    EDGEOPT_DISPATCH_QUANT8(a.dtype(), node_, TA, {
      EDGEOPT_DISPATCH_QUANT8(b.dtype(), node_, TB, {
        EDGEOPT_DISPATCH_QUANT8(y.dtype(), node_, TY, {
          TY* out = y.data<TY>();
          const Shape& ash = a.shape();
          const Shape& bsh = b.shape();
          matmul_int32(g, ash, bsh, a.data<TA>(), a_zero, b.data<TB>(), b_zero,
                       [&](int64_t o, int64_t ab, int64_t bb, int64_t i, int64_t j, int32_t acc) {
                         const float mult =
                             requant_multiplier(scale_at(a_scale, as.index(ab, i)),
                                                scale_at(b_scale, bs.index(bb, j)), y_scale);
                         out[o] = requantize_value<TY>(acc, mult, y_zp);
                       });
        });
      });
    });
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "QLinearMatMul", 10, INT_MAX, QLinearMatMul);

}  // namespace
}  // namespace edgeopt::rt::ref
