// AveragePool: y[n, c, o...] = sum of x over the window taps / divisor, where the divisor counts
// the taps inside x (count_include_pad = 0) or inside the padded extent [-pb, in + pe)
// (count_include_pad = 1; taps beyond it, added only by ceil_mode, never count).
#include "pool_common.h"

namespace edgeopt::rt::ref {
namespace {

class AveragePool final : public Kernel {
 public:
  explicit AveragePool(const KernelInit& init)
      : node_(init.node),
        window_(init.node),
        count_include_pad_(init.node.attr_int("count_include_pad", 0) != 0) {}

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::kF32 && x.dtype() != DType::kF64) unsupported_dtype(node_, x.dtype());
    const Shape out = window_output_shape(x.dim(0), x.dim(1), window_(x.shape()));
    ctx.set_output(0, x.dtype(), out);
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Window& w = window_(x.shape());
    EDGEOPT_DISPATCH_FLOAT(x.dtype(), node_, {
      pool<T>(w, x.dim(0) * x.dim(1), x.data<T>(), ctx.output(0).data<T>());
    });
  }

 private:
  template <class T>
  void pool(const Window& w, int64_t planes, const T* x, T* y) const {
    const int nd = w.nd;
    const int64_t in_size = prod(w.in), out_size = prod(w.out);
    const SpatialIndex x_stride = spatial_strides(w.in);
    for (int64_t pl = 0; pl < planes; ++pl) {
      const T* xp = x + pl * in_size;
      SpatialIndex o{};
      int64_t p = 0;
      do {
        double sum = 0;
        int64_t inside = 0, padded = 0;
        SpatialIndex k{};
        do {
          int64_t off = 0;
          bool in_x = true, in_padded = true;
          for (int d = 0; d < nd; ++d) {
            const int64_t i = o[d] * w.stride[d] - w.pad_begin[d] + k[d] * w.dilation[d];
            in_x = in_x && i >= 0 && i < w.in[d];
            in_padded = in_padded && i >= -w.pad_begin[d] && i < w.in[d] + w.pad_end[d];
            off += i * x_stride[d];
          }
          if (in_x) {
            sum += static_cast<double>(xp[off]);
            ++inside;
          }
          if (in_padded) ++padded;
        } while (next_index(w.kernel, k));
        const int64_t divisor = count_include_pad_ ? padded : inside;
        y[pl * out_size + p] = divisor ? static_cast<T>(sum / static_cast<double>(divisor)) : T(0);
        ++p;
      } while (next_index(w.out, o));
    }
  }

  const Node& node_;
  PoolWindow window_;
  bool count_include_pad_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "AveragePool", 1, INT_MAX, AveragePool);

}  // namespace
}  // namespace edgeopt::rt::ref
