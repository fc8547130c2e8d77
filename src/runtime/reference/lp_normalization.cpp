// LpNormalization: y = x / ||x||_p along `axis` (default -1), p in {1, 2}. A zero vector stays
// zero (instead of 0/0).
#include <cmath>

#include "common.h"

namespace edgeopt::rt::ref {
namespace {

class LpNormalization final : public NodeKernel {
 public:
  explicit LpNormalization(const KernelInit& init)
      : NodeKernel(init), axis_(init.node.attr_int("axis", -1)), p_(init.node.attr_int("p", 2)) {
    if (p_ != 1 && p_ != 2) fail_input("node ", node_.describe(), ": p must be 1 or 2, got ", p_);
  }

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::kF32 && x.dtype() != DType::kF64) unsupported_dtype(node_, x.dtype());
    normalize_axis(axis_, x.rank(), node_);
    ctx.set_output(0, x.dtype(), x.shape());
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const int64_t axis = normalize_axis(axis_, x.rank(), node_);
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= x.dim(static_cast<int>(d));
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(static_cast<int>(d));
    const int64_t len = x.rank() ? x.dim(static_cast<int>(axis)) : 1;
    EDGEOPT_DISPATCH_FLOAT(x.dtype(), node_, {
      const T* xd = x.data<T>();
      T* yd = ctx.output(0).data<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t in = 0; in < inner; ++in) {
          const int64_t base = o * len * inner + in;
          double norm = 0;
          for (int64_t i = 0; i < len; ++i) {
            const double v = static_cast<double>(xd[base + i * inner]);
            norm += p_ == 1 ? std::abs(v) : v * v;
          }
          if (p_ == 2) norm = std::sqrt(norm);
          for (int64_t i = 0; i < len; ++i)
            yd[base + i * inner] =
                norm > 0 ? static_cast<T>(static_cast<double>(xd[base + i * inner]) / norm) : T(0);
        }
    });
  }

 private:
  int64_t axis_, p_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "LpNormalization", 1, INT_MAX, LpNormalization);

}  // namespace
}  // namespace edgeopt::rt::ref
