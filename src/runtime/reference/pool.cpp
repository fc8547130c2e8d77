// The windowed pools (window from kernel_shape, strides, pads, dilations, auto_pad, ceil_mode):
//
// AveragePool: y[n, c, o...] = sum of x over the window taps / divisor, where the divisor counts
// the taps inside x (count_include_pad = 0) or inside the padded extent [-pb, in + pe)
// (count_include_pad = 1; taps beyond it, added only by ceil_mode, never count).
//
// MaxPool: y[n, c, o...] = max over the window taps k of x[n, c, o * s + k * d - pb] (taps in the
// padding are skipped). Indices (optional) holds the flat position of the max in x, counting
// n and c, with the spatial part row-major (storage_order 0) or column-major (1).
#include <limits>

#include "pool_common.h"

namespace edgeopt::rt::ref {
namespace {

// For every plane pl (n and c) and output position p (row-major within the plane) of window w:
// start(), then tap(pl, o, k) for every tap k of the window at output position o (in_coord()
// gives the input coordinates it reads, in x or in the padding), then finish(pl, p).
template <class Start, class Tap, class Finish>
void for_each_pool_tap(const Window& w, int64_t planes, Start&& start, Tap&& tap, Finish&& finish) {
  for (int64_t pl = 0; pl < planes; ++pl) {
    SpatialIndex o{};
    int64_t p = 0;
    do {
      start();
      SpatialIndex k{};
      do {
        tap(pl, o, k);
      } while (next_index(w.kernel, k));
      finish(pl, p++);
    } while (next_index(w.out, o));
  }
}

// The input coordinate along dim d of output position o's tap k.
inline int64_t in_coord(const Window& w, const SpatialIndex& o, const SpatialIndex& k, int d) {
  return o[d] * w.stride[d] - w.pad_begin[d] + k[d] * w.dilation[d];
}

// A pool over x (input 0) of one of the `dtypes`; y has x's dtype and the window's shape.
class PoolKernel : public NodeKernel {
 public:
  PoolKernel(const KernelInit& init, std::vector<DType> dtypes)
      : NodeKernel(init), window_(init.node), dtypes_(std::move(dtypes)) {}

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (std::find(dtypes_.begin(), dtypes_.end(), x.dtype()) == dtypes_.end())
      unsupported_dtype(node_, x.dtype());
    const Shape out = window_output_shape(x.dim(0), x.dim(1), window_(x.shape()));
    for (size_t i = 0; i < ctx.num_outputs(); ++i)
      ctx.set_output(i, i == 0 ? x.dtype() : DType::kI64, out);  // MaxPool's Indices
  }

 protected:
  PoolWindow window_;

 private:
  std::vector<DType> dtypes_;
};

class AveragePool final : public PoolKernel {
 public:
  explicit AveragePool(const KernelInit& init)
      : PoolKernel(init, {DType::kF32, DType::kF64}),
        count_include_pad_(init.node.attr_int("count_include_pad", 0) != 0) {}

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
    const int64_t in_size = prod(w.in), out_size = prod(w.out);
    const SpatialIndex x_stride = spatial_strides(w.in);
    double sum = 0;
    int64_t inside = 0, padded = 0;
    for_each_pool_tap(
        w, planes, [&] { sum = 0, inside = 0, padded = 0; },
        [&](int64_t pl, const SpatialIndex& o, const SpatialIndex& k) {
          const T* xp = x + pl * in_size;
          int64_t off = 0;
          bool in_x = true, in_padded = true;
          for (int d = 0; d < w.nd; ++d) {
            const int64_t i = in_coord(w, o, k, d);
            in_x = in_x && i >= 0 && i < w.in[d];
            in_padded = in_padded && i >= -w.pad_begin[d] && i < w.in[d] + w.pad_end[d];
            off += i * x_stride[d];
          }
          if (in_x) {
            sum += static_cast<double>(xp[off]);
            ++inside;
          }
          if (in_padded) ++padded;
        },
        [&](int64_t pl, int64_t p) {
          const int64_t divisor = count_include_pad_ ? padded : inside;
          y[pl * out_size + p] =
              divisor ? static_cast<T>(sum / static_cast<double>(divisor)) : T(0);
        });
  }

  bool count_include_pad_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "AveragePool", 1, INT_MAX, AveragePool);

class MaxPool final : public PoolKernel {
 public:
  explicit MaxPool(const KernelInit& init)
      : PoolKernel(init, {DType::kF32, DType::kF64, DType::kI8, DType::kU8}),
        storage_order_(init.node.attr_int("storage_order", 0)) {}

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
    T best{};
    int64_t best_idx = 0;
    bool found = false;
    for_each_pool_tap(
        w, planes, [&] { best = std::numeric_limits<T>::lowest(), best_idx = 0, found = false; },
        [&](int64_t pl, const SpatialIndex& o, const SpatialIndex& k) {
          const T* xp = x + pl * in_size;
          int64_t off = 0, flat = 0;
          for (int d = 0; d < nd; ++d) {
            const int64_t i = in_coord(w, o, k, d);
            if (i < 0 || i >= w.in[d]) return;  // in the padding
            off += i * x_stride[d];
            flat += i * idx_stride[d];
          }
          if (!found || xp[off] > best) {
            best = xp[off];
            best_idx = flat;
            found = true;
          }
        },
        [&](int64_t pl, int64_t p) {
          y[pl * out_size + p] = best;
          if (indices) indices[pl * out_size + p] = pl * in_size + best_idx;
        });
  }

  int64_t storage_order_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "MaxPool", 1, INT_MAX, MaxPool);

}  // namespace
}  // namespace edgeopt::rt::ref
