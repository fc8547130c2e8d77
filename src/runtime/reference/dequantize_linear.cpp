// DequantizeLinear: y = (x - x_zero_point) * x_scale.
//
// x is u8, i8, u16, i16 or i32 (int32 has no meaningful zero point but one is accepted).
// Per-tensor or, from opset 13, per-axis (1-D scale along `axis`, default 1). The output has
// the scale's dtype (float; f16 / bf16 from opset 19). The subtraction is exact in int64; the
// product is in float, as ONNX Runtime computes it.
#include "quant_common.h"

namespace edgeopt::rt::ref {
namespace {

class DequantizeLinear final : public Kernel {
 public:
  explicit DequantizeLinear(const KernelInit& init)
      : node_(init.node), per_axis_(init.opset >= 13), axis_(init.node.attr_int("axis", 1)) {
    if (init.node.attr_int("block_size", 0) != 0)
      fail_unsupported("node ", node_.describe(), ": blocked quantization is not supported");
  }

  void infer(InferContext& ctx) override {
    expect_dtype(node_, ctx, 0, {DType::kU8, DType::kI8, DType::kU16, DType::kI16, DType::kI32},
                 "x");
    expect_dtype(node_, ctx, 1, {DType::kF32, DType::kF16, DType::kBF16}, "x_scale");
    if (ctx.has_input(2) && ctx.dtype(2) != ctx.dtype(0))
      fail_input("node ", node_.describe(), ": x_zero_point has dtype ", dtype_name(ctx.dtype(2)),
                 " but x has ", dtype_name(ctx.dtype(0)));
    quant_axis(node_, ctx.shape(0), ctx.shape(1), ctx.has_input(2) ? &ctx.shape(2) : nullptr, axis_,
               per_axis_, "x_scale");
    ctx.set_output(0, ctx.dtype(1), ctx.shape(0));
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& scale = ctx.input(1);
    const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    Tensor& y = ctx.output(0);
    const QuantAxis q = quant_axis(node_, x.shape(), scale.shape(), zp ? &zp->shape() : nullptr,
                                   axis_, per_axis_, "x_scale");
    const DType out = y.dtype();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const int64_t p = q.param(i);
      const float v = static_cast<float>(x.get_i64(i) - zero_point_at(zp, p)) * scale_at(scale, p);
      if (out == DType::kF32)
        y.data<float>()[i] = v;
      else if (out == DType::kF16)
        y.data<uint16_t>()[i] = f32_to_f16(v);
      else
        y.data<uint16_t>()[i] = f32_to_bf16(v);
    }
  }

 private:
  const Node& node_;
  bool per_axis_;
  int64_t axis_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "DequantizeLinear", 10, INT_MAX, DequantizeLinear);

}  // namespace
}  // namespace edgeopt::rt::ref
