// QuantizeLinear: y = saturate(round_half_even(x / y_scale) + y_zero_point).
//
// Per-tensor (scalar scale) or, from opset 13, per-axis (1-D scale along `axis`, default 1).
// The output dtype is the zero point's; without a zero point it is `output_dtype` (opset 21)
// or uint8, with zero point 0. Blocked quantization (opset 21 `block_size`) is not supported.
#include "quant_common.h"

namespace edgeopt::rt::ref {
namespace {

class QuantizeLinear final : public Kernel {
 public:
  explicit QuantizeLinear(const KernelInit& init)
      : node_(init.node),
        per_axis_(init.opset >= 13),
        axis_(init.node.attr_int("axis", 1)),
        output_dtype_(static_cast<DType>(init.node.attr_int("output_dtype", 0))) {
    if (init.node.attr_int("block_size", 0) != 0)
      fail_unsupported("node ", node_.describe(), ": blocked quantization is not supported");
  }

  void infer(InferContext& ctx) override {
    expect_dtype(node_, ctx, 0, {DType::kF32, DType::kF16, DType::kBF16, DType::kF64, DType::kI32},
                 "x");
    expect_dtype(node_, ctx, 1, {DType::kF32, DType::kF16, DType::kBF16, DType::kF64}, "y_scale");
    const bool has_zp = ctx.has_input(2);
    DType out =
        has_zp ? ctx.dtype(2) : (output_dtype_ != DType::kUndefined ? output_dtype_ : DType::kU8);
    if (!is_quant_int_dtype(out)) unsupported_dtype(node_, out);
    if (has_zp && output_dtype_ != DType::kUndefined && output_dtype_ != out)
      fail_input("node ", node_.describe(), ": output_dtype ", dtype_name(output_dtype_),
                 " differs from the zero point's dtype ", dtype_name(out));
    quant_axis(node_, ctx.shape(0), ctx.shape(1), has_zp ? &ctx.shape(2) : nullptr, axis_,
               per_axis_, "y_scale");
    ctx.set_output(0, out, ctx.shape(0));
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& scale = ctx.input(1);
    const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    Tensor& y = ctx.output(0);
    const QuantAxis q = quant_axis(node_, x.shape(), scale.shape(), zp ? &zp->shape() : nullptr,
                                   axis_, per_axis_, "y_scale");
    const float* xf = x.dtype() == DType::kF32 ? x.data<float>() : nullptr;
    EDGEOPT_DISPATCH_QUANT(y.dtype(), node_, Q, {
      Q* out = y.data<Q>();
      for (int64_t i = 0; i < x.numel(); ++i) {
        const int64_t p = q.param(i);
        const float v = xf ? xf[i] : static_cast<float>(x.get_f64(i));
        out[i] = quantize_value<Q>(v, scale_at(scale, p), zero_point_at(zp, p));
      }
    });
  }

 private:
  const Node& node_;
  bool per_axis_;
  int64_t axis_;
  DType output_dtype_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "QuantizeLinear", 10, INT_MAX, QuantizeLinear);

}  // namespace
}  // namespace edgeopt::rt::ref
