// InstanceNormalization: for each image n and channel c of x (N x C x D1 x ...),
//   y = (x - mean_nc) / sqrt(var_nc + epsilon) * scale[c] + B[c]
// with mean and (population) variance over the spatial dims of that image and channel.
#include <cmath>

#include "common.h"

namespace edgeopt::rt::ref {
namespace {

class InstanceNormalization final : public NodeKernel {
 public:
  explicit InstanceNormalization(const KernelInit& init)
      : NodeKernel(init), epsilon_(init.node.attr_float("epsilon", 1e-5f)) {}

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::kF32 && x.dtype() != DType::kF64) unsupported_dtype(node_, x.dtype());
    if (x.rank() < 3)
      fail_input("node ", node_.describe(), ": input '", node_.input(0),
                 "' must be N x C x D1 x ..., got ", shape_str(x.shape()));
    for (int i = 1; i < 3; ++i) {
      const Tensor& p = ctx.input(i);
      if (p.dtype() != x.dtype() || p.rank() != 1 || p.dim(0) != x.dim(1))
        fail_input("node ", node_.describe(), ": '", node_.input(i), "' must be ",
                   dtype_name(x.dtype()), " of shape ", x.dim(1), ", got ", dtype_name(p.dtype()),
                   " ", shape_str(p.shape()));
    }
    ctx.set_output(0, x.dtype(), x.shape());
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const int64_t c = x.dim(1), planes = x.dim(0) * c;
    const int64_t inner = planes ? x.numel() / planes : 0;
    EDGEOPT_DISPATCH_FLOAT(x.dtype(), node_, {
      const T* xd = x.data<T>();
      const T* sd = ctx.input(1).data<T>();
      const T* bd = ctx.input(2).data<T>();
      T* yd = ctx.output(0).data<T>();
      for (int64_t p = 0; p < planes; ++p) {
        const T* xp = xd + p * inner;
        T* yp = yd + p * inner;
        double sum = 0;
        for (int64_t i = 0; i < inner; ++i) sum += static_cast<double>(xp[i]);
        const double mean = inner ? sum / static_cast<double>(inner) : 0;
        double sq = 0;
        for (int64_t i = 0; i < inner; ++i) {
          const double d = static_cast<double>(xp[i]) - mean;
          sq += d * d;
        }
        const double var = inner ? sq / static_cast<double>(inner) : 0;
        // y = x * a + (B - mean * a) with a = scale / sqrt(var + eps).
        const double a = static_cast<double>(sd[p % c]) / std::sqrt(var + epsilon_);
        const double shift = static_cast<double>(bd[p % c]) - mean * a;
        for (int64_t i = 0; i < inner; ++i)
          yp[i] = static_cast<T>(static_cast<double>(xp[i]) * a + shift);
      }
    });
  }

 private:
  float epsilon_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "InstanceNormalization", 1, INT_MAX, InstanceNormalization);

}  // namespace
}  // namespace edgeopt::rt::ref
