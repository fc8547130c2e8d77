// MaxPool: y[n, c, o...] = max over the window taps k of x[n, c, o * s + k * d - pb] (taps in the
// padding are skipped). Indices (optional) holds the flat position of the max in x, counting
// n and c, with the spatial part row-major (storage_order 0) or column-major (1).
#include <limits>

#include "pool_common.h"

namespace edgeopt::rt::ref {
namespace {

class MaxPool final : public Kernel {
 public:
  explicit MaxPool(const KernelInit& init)
      : node_(init.node),
        window_(init.node),
        storage_order_(init.node.attr_int("storage_order", 0)) {}

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    switch (x.dtype()) {
      case DType::kF32:
      case DType::kF64:
      case DType::kI8:
      case DType::kU8:
        break;
      default:
        unsupported_dtype(node_, x.dtype());
    }
    const Shape out = window_output_shape(x.dim(0), x.dim(1), window_(x.shape()));
    ctx.set_output(0, x.dtype(), out);
    ctx.set_output(1, DType::kI64, out);
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Window& w = window_(x.shape());
    int64_t* indices = ctx.out.size() > 1 && ctx.out[1] ? ctx.output(1).data<int64_t>() : nullptr;
    EDGEOPT_DISPATCH_NUMERIC(x.dtype(), node_, {
      pool<T>(w, x.dim(0) * x.dim(1), x.data<T>(), ctx.output(0).data<T>(), indices);
    });
  }

 private:
  template <class T>
  void pool(const Window& w, int64_t planes, const T* x, T* y, int64_t* indices) const {
    const int nd = w.nd;
    const int64_t in_size = prod(w.in), out_size = prod(w.out);
    // Flat spatial strides of x for the Indices output.
    SpatialIndex idx_stride{};
    int64_t acc = 1;
    for (int d = 0; d < nd; ++d) {
      const int dd = storage_order_ ? d : nd - 1 - d;
      idx_stride[dd] = acc;
      acc *= w.in[dd];
    }
    const SpatialIndex x_stride = spatial_strides(w.in);
    for (int64_t pl = 0; pl < planes; ++pl) {
      const T* xp = x + pl * in_size;
      SpatialIndex o{};
      int64_t p = 0;
      do {
        T best = std::numeric_limits<T>::lowest();
        int64_t best_idx = 0;
        bool found = false;
        SpatialIndex k{};
        do {
          int64_t off = 0, flat = 0;
          bool valid = true;
          for (int d = 0; d < nd && valid; ++d) {
            const int64_t i = o[d] * w.stride[d] - w.pad_begin[d] + k[d] * w.dilation[d];
            valid = i >= 0 && i < w.in[d];
            off += i * x_stride[d];
            flat += i * idx_stride[d];
          }
          if (valid && (!found || xp[off] > best)) {
            best = xp[off];
            best_idx = flat;
            found = true;
          }
        } while (next_index(w.kernel, k));
        y[pl * out_size + p] = best;
        if (indices) indices[pl * out_size + p] = pl * in_size + best_idx;
        ++p;
      } while (next_index(w.out, o));
    }
  }

  const Node& node_;
  PoolWindow window_;
  int64_t storage_order_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "MaxPool", 1, INT_MAX, MaxPool);

}  // namespace
}  // namespace edgeopt::rt::ref
