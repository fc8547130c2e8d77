// Conv: y[n, m, o...] = b[m] + sum_{c in group(m), k...} x[n, c, o * s + k * d - pb] * w[m, c,
// k...] (N-d, grouped, dilated, strided, padded; positions in the padding read as zero).
//
// Computed per image and group as im2col + GEMM: the input windows for a chunk of output
// positions are laid out as a (C/g * prod(k)) x P matrix in scratch, then
// Y_g[M/g, P] += W_g[M/g, C/g * prod(k)] * col. A 1x1 kernel with unit strides and no padding
// multiplies the input directly.
#include "conv_common.h"

namespace edgeopt::rt::ref {
namespace {

// Writes the chunk [p0, p1) of output positions of channel block x (cg channels) as rows of
// col: col[(c * prod(k) + kflat) * (p1 - p0) + (p - p0)] = x[c, o(p) * s + k * d - pb] or 0.
template <class T>
void im2col(const T* x, const ColumnGeometry& g, int64_t p0, int64_t p1, T* col) {
  walk_window(
      g.win, g.win.out, g.win.in, p0, p1, g.cg, [&](int64_t at, int64_t xi) { col[at] = x[xi]; },
      [&](int64_t at) { col[at] = T(0); });
}

class Conv final : public ConvKernelBase<Conv> {
 public:
  using ConvKernelBase::ConvKernelBase;

  ColumnGeometry geometry(const Shape& xs, const Shape& ws) const {
    ColumnGeometry g = start_geometry(xs, ws);
    g.m = ws[0];
    if (g.m % group_ != 0)
      fail_input("node ", node_.describe(), ": group ", group_, " does not divide ", g.m,
                 " output channels");
    g.mg = g.m / group_;
    if (ws[1] != g.cg)
      fail_input("node ", node_.describe(), ": weight '", node_.input(1), "' has ", ws[1],
                 " input channels per group, expected ", g.cg, " (", g.c, " / group ", group_, ")");
    const Shape kernel = kernel_of(ws);
    g.win = resolve_window(node_, attrs_, Shape(xs.begin() + 2, xs.end()), kernel);
    finish_geometry(g, g.cg, prod(g.win.out));
    g.direct = true;
    for (int d = 0; d < g.win.nd; ++d)
      g.direct = g.direct && kernel[d] == 1 && g.win.stride[d] == 1 && g.win.pad_begin[d] == 0 &&
                 g.win.pad_end[d] == 0;
    return g;
  }

  int64_t scratch_elems(const ColumnGeometry& g) const { return g.direct ? 0 : g.rows * g.chunk; }

  // One image's group: x, w and y at the group's channels.
  template <class T>
  void compute_group(const T* xg, const T* wg, T* yg, T* col) const {
    const ColumnGeometry& g = geo_;
    if (g.direct) {
      gemm_accumulate<T>(g.mg, g.out_size, g.rows, T(1), wg, g.rows, 1, xg, g.in_size, 1, yg,
                         g.out_size);
      return;
    }
    for (int64_t p0 = 0; p0 < g.out_size; p0 += g.chunk) {
      const int64_t p1 = std::min(g.out_size, p0 + g.chunk);
      im2col(xg, g, p0, p1, col);
      gemm_accumulate<T>(g.mg, p1 - p0, g.rows, T(1), wg, g.rows, 1, col, p1 - p0, 1, yg + p0,
                         g.out_size);
    }
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Conv", 1, INT_MAX, Conv);

}  // namespace
}  // namespace edgeopt::rt::ref
