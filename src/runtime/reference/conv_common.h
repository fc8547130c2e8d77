// What the reference Conv and ConvTranspose share: their geometry, the walk between a chunk of
// one spatial grid and the other grid through the window's taps (im2col reads through it,
// col2im scatters through it), and the kernel around their compute (checks, output shape,
// geometry cached per input shapes, float dispatch).
#pragma once

#include <algorithm>

#include "gemm_ref.h"
#include "pool_common.h"

namespace edgeopt::rt::ref {

// im2col/col2im columns per chunk are bounded so scratch stays a few MB whatever the image size.
constexpr int64_t kColElems = int64_t{1} << 20;

struct ColumnGeometry {
  Shape x_shape, w_shape;  // what it was computed for
  Window win;              // in = input spatial dims, out = output spatial dims
  int64_t n = 0, c = 0, m = 0, cg = 0, mg = 0;
  int64_t in_size = 0, out_size = 0, kernel_size = 0;
  // Rows of the column buffer: C/g * prod(kernel) for Conv (the GEMM depth), M/g * prod(kernel)
  // for ConvTranspose.
  int64_t rows = 0;
  int64_t chunk = 0;    // positions per column chunk (output positions for Conv, input for ConvT)
  bool direct = false;  // Conv with a 1x1 kernel, unit strides, no padding: no im2col
};

// Smallest j with j * s >= a (s > 0).
inline int64_t ceil_div(int64_t a, int64_t s) { return a >= 0 ? (a + s - 1) / s : -(-a / s); }

// The column buffer of a chunk [p0, p1) of positions of grid `from` (row-major spatial dims),
// for `blocks` channel blocks of grids `to` (each prod(to) elements, one after the other): for
// block b, tap k of window w (next_index order) and position f, with
// at = (b * prod(kernel) + k) * (p1 - p0) + f - p0 the column element, calls
//   inside(at, ti) when f * stride + k * dilation - pad_begin lands inside `to`, at position ti
//     (counting the blocks before: b * prod(to) + ...),
//   outside(at) when it falls outside (in the padding).
// Conv's im2col reads through it (from = output grid, to = input), ConvTranspose's col2im
// scatters through it (from = input grid, to = output). The bounds are worked out per row, so
// the calls along a row are branch-free runs.
template <class Inside, class Outside>
void walk_window(const Window& w, const Shape& from, const Shape& to, int64_t p0, int64_t p1,
                 int64_t blocks, Inside&& inside, Outside&& outside) {
  const int nd = w.nd;
  const int64_t from_last = from[nd - 1];
  const int64_t to_last = to[nd - 1];
  const int64_t s_last = w.stride[nd - 1];
  const int64_t to_size = prod(to);
  const SpatialIndex to_stride = spatial_strides(to);
  int64_t at = 0;  // the column element where the current tap's chunk starts
  for (int64_t b = 0; b < blocks; ++b) {
    SpatialIndex k{};
    do {
      SpatialIndex base{};  // `to` coordinate of `from` coordinate 0 for this tap
      for (int d = 0; d < nd; ++d) base[d] = k[d] * w.dilation[d] - w.pad_begin[d];
      const int64_t bl = base[nd - 1];
      for (int64_t q = p0 / from_last; q * from_last < p1; ++q) {  // rows of the chunk
        const int64_t jb = std::max<int64_t>(p0 - q * from_last, 0);
        const int64_t je = std::min<int64_t>(p1 - q * from_last, from_last);
        const int64_t row_at = at + q * from_last - p0;
        int64_t off = b * to_size;
        bool valid = true;
        int64_t rem = q;
        for (int d = nd - 2; d >= 0; --d) {
          const int64_t t = rem % from[d] * w.stride[d] + base[d];
          rem /= from[d];
          valid = valid && t >= 0 && t < to[d];
          off += t * to_stride[d];
        }
        // j in [ja, jz) lands in [0, to_last) along the last dim: j * s_last + bl.
        const int64_t ja = valid ? std::clamp(ceil_div(-bl, s_last), jb, je) : je;
        const int64_t jz = valid ? std::clamp(ceil_div(to_last - bl, s_last), ja, je) : je;
        for (int64_t j = jb; j < ja; ++j) outside(row_at + j);
        for (int64_t j = ja; j < jz; ++j) inside(row_at + j, off + j * s_last + bl);
        for (int64_t j = jz; j < je; ++j) outside(row_at + j);
      }
      at += p1 - p0;
    } while (next_index(w.kernel, k));
  }
}

// The kernel of Conv and ConvTranspose. Derived gives
//   ColumnGeometry geometry(const Shape& x, const Shape& w) const  (checks the shapes too),
//   int64_t scratch_elems(const ColumnGeometry&) const,
//   template <class T> void compute_group(const T* x, const T* w, T* y, T* col) const
// (one image's group of channels, y holding the bias already; reading geo_, the geometry of the
// latest input shapes).
template <class Derived>
class ConvKernelBase : public NodeKernel {
 public:
  explicit ConvKernelBase(const KernelInit& init)
      : NodeKernel(init),
        attrs_(parse_window_attrs(init.node)),
        group_(init.node.attr_int("group", 1)) {}

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    check_conv_inputs(node_, x, w);
    const ColumnGeometry g = self().geometry(x.shape(), w.shape());
    if (ctx.has_input(2)) check_conv_bias(node_, ctx.input(2), x.dtype(), g.m);
    ctx.set_output(0, x.dtype(), window_output_shape(g.n, g.m, g.win));
    const int64_t scratch = self().scratch_elems(g);
    if (scratch > 0) ctx.request_scratch(static_cast<size_t>(scratch) * dtype_size(x.dtype()));
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    if (x.shape() != geo_.x_shape || w.shape() != geo_.w_shape)
      geo_ = self().geometry(x.shape(), w.shape());
    const Tensor* b = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    EDGEOPT_DISPATCH_FLOAT(x.dtype(), node_, {
      compute<T>(x.data<T>(), w.data<T>(), b ? b->data<T>() : nullptr, ctx.output(0).data<T>(),
                 static_cast<T*>(ctx.scratch));
    });
  }

 protected:
  // The fields both geometries fill the same way, and the group check common to both.
  ColumnGeometry start_geometry(const Shape& xs, const Shape& ws) const {
    check_conv_shapes(node_, xs, ws);
    ColumnGeometry g;
    g.x_shape = xs;
    g.w_shape = ws;
    g.n = xs[0];
    g.c = xs[1];
    if (group_ < 1 || g.c % group_ != 0)
      fail_input("node ", node_.describe(), ": group ", group_, " does not divide ", g.c,
                 " input channels");
    g.cg = g.c / group_;
    return g;
  }

  // The kernel's spatial dims from the weight, checked against kernel_shape.
  Shape kernel_of(const Shape& ws) const {
    const Shape kernel(ws.begin() + 2, ws.end());
    if (!attrs_.kernel_shape.empty() && attrs_.kernel_shape != kernel)
      fail_input("node ", node_.describe(), ": kernel_shape does not match weight shape ",
                 shape_str(ws));
    return kernel;
  }

  // The sizes that follow from g.win, and the chunk of `positions` whose columns fit kColElems.
  static void finish_geometry(ColumnGeometry& g, int64_t rows_per_group_channel,
                              int64_t positions) {
    g.in_size = prod(g.win.in);
    g.out_size = prod(g.win.out);
    g.kernel_size = prod(g.win.kernel);
    g.rows = rows_per_group_channel * g.kernel_size;
    g.chunk = std::clamp<int64_t>(kColElems / std::max<int64_t>(g.rows, 1), 1,
                                  std::max<int64_t>(positions, 1));
  }

  WindowAttrs attrs_;
  int64_t group_;
  ColumnGeometry geo_;  // for the latest input shapes seen by run()

  template <class T>
  void compute(const T* x, const T* w, const T* bias, T* y, T* col) const {
    const ColumnGeometry& g = geo_;
    for (int64_t n = 0; n < g.n; ++n) {
      for (int64_t gr = 0; gr < group_; ++gr) {
        T* yg = y + (n * g.m + gr * g.mg) * g.out_size;
        fill_bias(yg, g.mg, g.out_size, bias ? bias + gr * g.mg : nullptr);
        self().template compute_group<T>(x + (n * g.c + gr * g.cg) * g.in_size,
                                         w + gr * g.mg * g.cg * g.kernel_size, yg, col);
      }
    }
  }

 private:
  const Derived& self() const { return static_cast<const Derived&>(*this); }
};

}  // namespace edgeopt::rt::ref
