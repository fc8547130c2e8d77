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

class DynamicQuantizeLinear final : public Kernel {
 public:
  explicit DynamicQuantizeLinear(const KernelInit& init) : node_(init.node) {}

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

 private:
  const Node& node_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "DynamicQuantizeLinear", 11, INT_MAX, DynamicQuantizeLinear);

}  // namespace
}  // namespace edgeopt::rt::ref
