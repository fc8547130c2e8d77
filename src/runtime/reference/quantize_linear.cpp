// The linear quantizers of the default domain.
//
// QuantizeLinear: y = saturate(round_half_even(x / y_scale) + y_zero_point). The output dtype
// is the zero point's; without a zero point it is `output_dtype` (opset 21) or uint8, with zero
// point 0.
//
// DequantizeLinear: y = (x - x_zero_point) * x_scale. x is u8, i8, u16, i16 or i32 (int32 has no
// meaningful zero point but one is accepted). The output has the scale's dtype (float; f16 /
// bf16 from opset 19). The subtraction is exact in int64; the product is in float, as ONNX
// Runtime computes it.
//
// Both: per-tensor (scalar scale) or, from opset 13, per-axis (1-D scale along `axis`, default
// 1). Blocked quantization (opset 21 `block_size`) is not supported.
//
// DynamicQuantizeLinear: quantizes float x to uint8 with a scale and zero point computed from
// the data, the range always including 0:
//   x_min = min(0, min(x)), x_max = max(0, max(x))
//   y_scale = (x_max - x_min) / 255
//   y_zero_point = saturate(round_half_even(0 - x_min / y_scale))
//   y = saturate(round_half_even(x / y_scale) + y_zero_point)
// When x_max == x_min (x all zeros or empty) the formula divides by zero; like ONNX Runtime we
// use y_scale = 1 then, so y = 0 and y_zero_point = 0.
#include "quant_common.h"

namespace edgeopt::rt::ref {
namespace {

// QuantizeLinear and DequantizeLinear: x (input 0), its scale (1) and optional zero point (2).
class LinearQuantKernel : public NodeKernel {
 public:
  LinearQuantKernel(const KernelInit& init, const char* scale_name)
      : NodeKernel(init),
        per_axis_(init.opset >= 13),
        axis_(init.node.attr_int("axis", 1)),
        scale_name_(scale_name) {
    if (init.node.attr_int("block_size", 0) != 0)
      fail_unsupported("node ", node_.describe(), ": blocked quantization is not supported");
  }

 protected:
  // Which scale and zero point element each element of x takes; checks their shapes.
  QuantAxis params(const Shape& x, const Shape& scale, const Shape* zp) const {
    return quant_axis(node_, x, scale, zp, axis_, per_axis_, scale_name_);
  }
  QuantAxis params(const InferContext& ctx) const {
    return params(ctx.shape(0), ctx.shape(1), ctx.has_input(2) ? &ctx.shape(2) : nullptr);
  }
  // A run's x, scale and zero point (nullptr when absent) with their parameter layout.
  struct Inputs {
    const Tensor& x;
    const Tensor& scale;
    const Tensor* zp;
    QuantAxis q;
  };
  Inputs inputs(const RunContext& ctx) const {
    const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    return {ctx.input(0), ctx.input(1), zp,
            params(ctx.input(0).shape(), ctx.input(1).shape(), zp ? &zp->shape() : nullptr)};
  }

 private:
  bool per_axis_;
  int64_t axis_;
  const char* scale_name_;
};

class QuantizeLinear final : public LinearQuantKernel {
 public:
  explicit QuantizeLinear(const KernelInit& init)
      : LinearQuantKernel(init, "y_scale"),
        output_dtype_(static_cast<DType>(init.node.attr_int("output_dtype", 0))) {}

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
    params(ctx);
    ctx.set_output(0, out, ctx.shape(0));
  }

  void run(RunContext& ctx) override {
    const Inputs in = inputs(ctx);
    const Tensor& x = in.x;
    Tensor& y = ctx.output(0);
    const float* xf = x.dtype() == DType::kF32 ? x.data<float>() : nullptr;
    EDGEOPT_DISPATCH_QUANT(y.dtype(), node_, Q, {
      Q* out = y.data<Q>();
      for (int64_t i = 0; i < x.numel(); ++i) {
        const int64_t p = in.q.param(i);
        const float v = xf ? xf[i] : static_cast<float>(x.get_f64(i));
        out[i] = quantize_value<Q>(v, scale_at(in.scale, p), zero_point_at(in.zp, p));
      }
    });
  }

 private:
  DType output_dtype_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "QuantizeLinear", 10, INT_MAX, QuantizeLinear);

class DequantizeLinear final : public LinearQuantKernel {
 public:
  explicit DequantizeLinear(const KernelInit& init) : LinearQuantKernel(init, "x_scale") {}

  void infer(InferContext& ctx) override {
    expect_dtype(node_, ctx, 0, {DType::kU8, DType::kI8, DType::kU16, DType::kI16, DType::kI32},
                 "x");
    expect_dtype(node_, ctx, 1, {DType::kF32, DType::kF16, DType::kBF16}, "x_scale");
    if (ctx.has_input(2) && ctx.dtype(2) != ctx.dtype(0))
      fail_input("node ", node_.describe(), ": x_zero_point has dtype ", dtype_name(ctx.dtype(2)),
                 " but x has ", dtype_name(ctx.dtype(0)));
    params(ctx);
    ctx.set_output(0, ctx.dtype(1), ctx.shape(0));
  }

  void run(RunContext& ctx) override {
    const Inputs in = inputs(ctx);
    const Tensor& x = in.x;
    Tensor& y = ctx.output(0);
    const DType out = y.dtype();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const int64_t p = in.q.param(i);
      const float v =
          static_cast<float>(x.get_i64(i) - zero_point_at(in.zp, p)) * scale_at(in.scale, p);
      if (out == DType::kF32)
        y.data<float>()[i] = v;
      else if (out == DType::kF16)
        y.data<uint16_t>()[i] = f32_to_f16(v);
      else
        y.data<uint16_t>()[i] = f32_to_bf16(v);
    }
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "DequantizeLinear", 10, INT_MAX, DequantizeLinear);

class DynamicQuantizeLinear final : public NodeKernel {
 public:
  using NodeKernel::NodeKernel;

  void infer(InferContext& ctx) override {
    expect_dtype(node_, ctx, 0, {DType::kF32}, "x");
    ctx.set_output(0, DType::kU8, ctx.shape(0));
    ctx.set_output(1, DType::kF32, {});
    ctx.set_output(2, DType::kU8, {});
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const float* xv = x.data<float>();
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < x.numel(); ++i) {
      lo = std::min(lo, xv[i]);
      hi = std::max(hi, xv[i]);
    }
    const float scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
    const uint8_t zp = saturate_cast<uint8_t>(round_half_even(0.0f - lo / scale));
    uint8_t* y = ctx.output(0).data<uint8_t>();
    for (int64_t i = 0; i < x.numel(); ++i) y[i] = quantize_value<uint8_t>(xv[i], scale, zp);
    if (ctx.out.size() > 1 && ctx.out[1]) ctx.output(1).data<float>()[0] = scale;
    if (ctx.out.size() > 2 && ctx.out[2]) ctx.output(2).data<uint8_t>()[0] = zp;
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "DynamicQuantizeLinear", 11, INT_MAX, DynamicQuantizeLinear);

}  // namespace
}  // namespace edgeopt::rt::ref
