// LRN (local response normalization across channels), for x of shape N x C x D1 x ...:
//   square_sum[n, c, d] = sum of x[n, i, d]^2 for i in [c - floor((size - 1) / 2),
//                                                       c + ceil((size - 1) / 2)] within [0, C)
//   y = x / (bias + alpha / size * square_sum)^beta
#include <cmath>

#include "common.h"

namespace edgeopt::rt::ref {
namespace {

class Lrn final : public NodeKernel {
 public:
  explicit Lrn(const KernelInit& init)
      : NodeKernel(init),
        alpha_(init.node.attr_float("alpha", 1e-4f)),
        beta_(init.node.attr_float("beta", 0.75f)),
        bias_(init.node.attr_float("bias", 1.0f)),
        size_(init.node.attr_int("size", 0)) {
    if (size_ < 1) fail_input("node ", node_.describe(), ": attribute size must be >= 1");
  }

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    check_float_nc_input(node_, x);
    ctx.set_output(0, x.dtype(), x.shape());
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const int64_t n = x.dim(0), c = x.dim(1);
    const int64_t inner = n * c != 0 ? x.numel() / (n * c) : 0;
    const int64_t before = (size_ - 1) / 2, after = size_ - 1 - before;
    EDGEOPT_DISPATCH_FLOAT(x.dtype(), node_, {
      const T* xd = x.data<T>();
      T* yd = ctx.output(0).data<T>();
      for (int64_t b = 0; b < n; ++b)
        for (int64_t ch = 0; ch < c; ++ch)
          for (int64_t i = 0; i < inner; ++i) {
            double sq = 0;
            const int64_t lo = std::max<int64_t>(0, ch - before);
            const int64_t hi = std::min<int64_t>(c - 1, ch + after);
            for (int64_t k = lo; k <= hi; ++k) {
              const double v = static_cast<double>(xd[(b * c + k) * inner + i]);
              sq += v * v;
            }
            const int64_t p = (b * c + ch) * inner + i;
            yd[p] = static_cast<T>(static_cast<double>(xd[p]) /
                                   std::pow(bias_ + alpha_ / size_ * sq, beta_));
          }
    });
  }

 private:
  double alpha_, beta_, bias_;
  int64_t size_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "LRN", 1, INT_MAX, Lrn);

}  // namespace
}  // namespace edgeopt::rt::ref
