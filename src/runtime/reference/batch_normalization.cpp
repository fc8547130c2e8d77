// BatchNormalization, per channel c of x (N x C x D1 x ...):
//   y = (x - mean[c]) / sqrt(var[c] + epsilon) * scale[c] + B[c]
// Inference uses the given running mean/var. With training_mode = 1 (opset 14+) mean/var are the
// batch statistics over N and the spatial dims (population variance), and the optional outputs
// are running_mean = mean_in * momentum + mean * (1 - momentum) (and likewise for var).
// Opset < 9 with spatial = 0 takes per-element (C x D1 x ...) parameters.
#include <cmath>

#include "common.h"

namespace edgeopt::rt::ref {
namespace {

class BatchNormalization final : public NodeKernel {
 public:
  explicit BatchNormalization(const KernelInit& init)
      : NodeKernel(init),
        opset_(init.opset),
        epsilon_(init.node.attr_float("epsilon", 1e-5f)),
        momentum_(init.node.attr_float("momentum", 0.9f)),
        training_(init.opset >= 14 && init.node.attr_int("training_mode", 0) != 0) {
    // The extra outputs (running mean/var; before opset 14 also saved mean/var) exist only in
    // training, which before opset 14 is not expressible beyond is_test = 0.
    bool extra = false;
    for (size_t i = 1; i < node_.outputs.size(); ++i) extra = extra || !node_.outputs[i].empty();
    if (extra && opset_ < 14)
      fail_unsupported("node ", node_.describe(), ": BatchNormalization training outputs before ",
                       "opset 14 are not supported");
    if (extra && !training_)
      fail_input("node ", node_.describe(), ": running mean/var outputs need training_mode = 1");
  }

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    check_float_nc_input(node_, x);
    const int64_t c = x.dim(1);
    const int64_t planes = x.dim(0) * c;
    const int64_t inner = planes ? x.numel() / planes : 0;
    static const char* kNames[] = {"X", "scale", "B", "mean", "var"};
    for (int i = 1; i < 5; ++i) {
      const Tensor& p = ctx.input(i);
      if (!dtype_is_float(p.dtype()) || p.dtype() == DType::kBF16)
        unsupported_dtype(node_, p.dtype());
      const bool per_channel = p.numel() == c;
      const bool per_element = !training_ && p.numel() == c * inner && p.rank() == x.rank() - 1;
      if (!per_channel && !per_element)
        fail_input("node ", node_.describe(), ": ", kNames[i], " '", node_.input(i), "' has shape ",
                   shape_str(p.shape()), ", expected ", c, " (channels of ", shape_str(x.shape()),
                   ")");
    }
    ctx.set_output(0, x.dtype(), x.shape());
    if (training_) {
      ctx.set_output(1, ctx.dtype(3), {c});
      ctx.set_output(2, ctx.dtype(4), {c});
    }
  }

  void run(RunContext& ctx) override {
    EDGEOPT_DISPATCH_FLOAT(ctx.input(0).dtype(), node_, {
      const Planes<T> planes(ctx);
      if (training_) {
        train<T>(planes, ctx);
      } else {
        infer_mode<T>(planes);
      }
    });
  }

 private:
  // x as n x c planes of `inner` elements, with scale, B, mean and var (inputs 1-4; in training
  // mean and var are the running ones) and y.
  template <class T>
  struct Planes {
    explicit Planes(RunContext& ctx)
        : scale(ctx.input(1)),
          bias(ctx.input(2)),
          mean(ctx.input(3)),
          var(ctx.input(4)),
          n(ctx.input(0).dim(0)),
          c(ctx.input(0).dim(1)),
          inner(n * c != 0 ? ctx.input(0).numel() / (n * c) : 0),
          x(ctx.input(0).data<T>()),
          y(ctx.output(0).data<T>()) {}
    const Tensor &scale, &bias, &mean, &var;
    int64_t n, c, inner;
    const T* x;
    T* y;
  };

  template <class T>
  void infer_mode(const Planes<T>& planes) const {
    const auto& [scale, bias, mean, var, n, c, inner, xd, yd] = planes;
    const bool per_element = scale.numel() != c || c == 0;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t ch = 0; ch < c; ++ch) {
        const int64_t base = (b * c + ch) * inner;
        if (!per_element) {
          // y = x * a + (B - mean * a) with a = scale / sqrt(var + eps).
          const double a = scale.get_f64(ch) / std::sqrt(var.get_f64(ch) + epsilon_);
          const double shift = bias.get_f64(ch) - mean.get_f64(ch) * a;
          for (int64_t i = 0; i < inner; ++i)
            yd[base + i] = static_cast<T>(static_cast<double>(xd[base + i]) * a + shift);
        } else {
          for (int64_t i = 0; i < inner; ++i) {
            const int64_t p = ch * inner + i;
            const double a = scale.get_f64(p) / std::sqrt(var.get_f64(p) + epsilon_);
            yd[base + i] = static_cast<T>(
                (static_cast<double>(xd[base + i]) - mean.get_f64(p)) * a + bias.get_f64(p));
          }
        }
      }
  }

  template <class T>
  void train(const Planes<T>& planes, RunContext& ctx) const {
    const auto& [scale, bias, mean_in, var_in, n, c, inner, xd, yd] = planes;
    Tensor* run_mean = ctx.out.size() > 1 ? ctx.out[1] : nullptr;
    Tensor* run_var = ctx.out.size() > 2 ? ctx.out[2] : nullptr;
    const double count = static_cast<double>(n * inner);
    for (int64_t ch = 0; ch < c; ++ch) {
      double sum = 0, sq = 0;
      for (int64_t b = 0; b < n; ++b)
        for (int64_t i = 0; i < inner; ++i)
          sum += static_cast<double>(xd[(b * c + ch) * inner + i]);
      const double mean = count > 0 ? sum / count : 0;
      for (int64_t b = 0; b < n; ++b)
        for (int64_t i = 0; i < inner; ++i) {
          const double d = static_cast<double>(xd[(b * c + ch) * inner + i]) - mean;
          sq += d * d;
        }
      const double var = count > 0 ? sq / count : 0;
      const double a = scale.get_f64(ch) / std::sqrt(var + epsilon_);
      const double shift = bias.get_f64(ch) - mean * a;
      for (int64_t b = 0; b < n; ++b)
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t p = (b * c + ch) * inner + i;
          yd[p] = static_cast<T>(static_cast<double>(xd[p]) * a + shift);
        }
      if (run_mean) set(*run_mean, ch, mean_in.get_f64(ch) * momentum_ + mean * (1 - momentum_));
      if (run_var) set(*run_var, ch, var_in.get_f64(ch) * momentum_ + var * (1 - momentum_));
    }
  }

  static void set(Tensor& t, int64_t i, double v) {
    switch (t.dtype()) {
      case DType::kF32:
        t.data<float>()[i] = static_cast<float>(v);
        break;
      case DType::kF64:
        t.data<double>()[i] = v;
        break;
      case DType::kF16:
        t.data<uint16_t>()[i] = f32_to_f16(static_cast<float>(v));
        break;
      default:
        break;  // refused in infer()
    }
  }

  int64_t opset_;
  float epsilon_, momentum_;
  bool training_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "BatchNormalization", 1, INT_MAX, BatchNormalization);

}  // namespace
}  // namespace edgeopt::rt::ref
