// GlobalAveragePool / GlobalMaxPool: y[n, c, 1, ..., 1] = mean / max of x[n, c, ...] over all
// spatial positions.
#include <algorithm>

#include "common.h"

namespace edgeopt::rt::ref {
namespace {

template <bool kMax>
class GlobalPool final : public NodeKernel {
 public:
  using NodeKernel::NodeKernel;

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    check_float_nc_input(node_, x);
    Shape out = x.shape();
    std::fill(out.begin() + 2, out.end(), 1);
    ctx.set_output(0, x.dtype(), out);
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const int64_t planes = x.dim(0) * x.dim(1);
    const int64_t size = planes ? x.numel() / planes : 0;
    EDGEOPT_DISPATCH_FLOAT(x.dtype(), node_, {
      const T* xd = x.data<T>();
      T* yd = ctx.output(0).data<T>();
      for (int64_t p = 0; p < planes; ++p) {
        const T* xp = xd + p * size;
        if (kMax) {
          yd[p] = size ? *std::max_element(xp, xp + size) : T(0);
        } else {
          double sum = 0;
          for (int64_t i = 0; i < size; ++i) sum += static_cast<double>(xp[i]);
          yd[p] = size ? static_cast<T>(sum / static_cast<double>(size)) : T(0);
        }
      }
    });
  }
};

using GlobalAveragePool = GlobalPool<false>;
using GlobalMaxPool = GlobalPool<true>;
EDGEOPT_REGISTER_KERNEL(kProvider, "", "GlobalAveragePool", 1, INT_MAX, GlobalAveragePool);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "GlobalMaxPool", 1, INT_MAX, GlobalMaxPool);

}  // namespace
}  // namespace edgeopt::rt::ref
