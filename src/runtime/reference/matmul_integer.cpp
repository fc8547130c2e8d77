// MatMulInteger: numpy.matmul of u8/i8 a and b with zero points, int32 output.
//
//   y[i, j] = sum_k (a[i, k] - a_zp[i]) * (b[k, j] - b_zp[j])
//
// a_zero_point is per-tensor or per row ([M], or a's batch dims with [M, 1]); b_zero_point is
// per-tensor or per column ([N], or b's batch dims with [1, N]); both default to 0.
#include "quant_common.h"

namespace edgeopt::rt::ref {
namespace {

class MatMulInteger final : public Kernel {
 public:
  explicit MatMulInteger(const KernelInit& init) : node_(init.node) {}

  void infer(InferContext& ctx) override {
    const auto q8 = {DType::kU8, DType::kI8};
    expect_dtype(node_, ctx, 0, q8, "A");
    expect_dtype(node_, ctx, 1, q8, "B");
    if (ctx.has_input(2) && ctx.dtype(2) != ctx.dtype(0))
      fail_input("node ", node_.describe(), ": a_zero_point's dtype differs from A's");
    if (ctx.has_input(3) && ctx.dtype(3) != ctx.dtype(1))
      fail_input("node ", node_.describe(), ": b_zero_point's dtype differs from B's");
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

 private:
  const Node& node_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "MatMulInteger", 10, INT_MAX, MatMulInteger);

}  // namespace
}  // namespace edgeopt::rt::ref
