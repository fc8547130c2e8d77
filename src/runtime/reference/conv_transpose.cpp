// ConvTranspose (the gradient of Conv with respect to its input):
//   y[n, m, i * s + k * d - pb] += x[n, c, i...] * w[c, m, k...]  for c in group(m), plus b[m].
// Output size per dim: out = s * (in - 1) + output_padding + (k - 1) * d + 1 - pb - pe, unless
// output_shape (or auto_pad SAME_*, out = in * s) fixes it and the pads follow from it.
//
// Computed per image and group as GEMM + col2im: col[(m, k), p] = sum_c w[c, (m, k)] * x[c, p]
// for a chunk of input positions p, then each column is scattered into y.
#include "conv_common.h"

namespace edgeopt::rt::ref {
namespace {

// y[m, i * s + k * d - pb] += col[(m * prod(k) + kflat) * pn + (p - p0)] for p in [p0, p1).
template <class T>
void col2im(const T* col, const ColumnGeometry& g, int64_t p0, int64_t p1, T* y) {
  walk_window(
      g.win, g.win.in, g.win.out, p0, p1, g.mg, [&](int64_t at, int64_t yi) { y[yi] += col[at]; },
      [](int64_t) {});
}

class ConvTranspose final : public ConvKernelBase<ConvTranspose> {
 public:
  explicit ConvTranspose(const KernelInit& init)
      : ConvKernelBase(init),
        output_padding_(init.node.attr_ints("output_padding")),
        output_shape_(init.node.attr_ints("output_shape")) {}

  ColumnGeometry geometry(const Shape& xs, const Shape& ws) const {
    ColumnGeometry g = start_geometry(xs, ws);
    const int nd = static_cast<int>(xs.size()) - 2;
    check_window_attrs(node_, attrs_, nd);
    if (ws[0] != g.c)
      fail_input("node ", node_.describe(), ": weight '", node_.input(1), "' has ", ws[0],
                 " input channels, input has ", g.c);
    g.mg = ws[1];
    g.m = g.mg * group_;
    if (!output_padding_.empty() && output_padding_.size() != static_cast<size_t>(nd))
      fail_input("node ", node_.describe(), ": output_padding has ", output_padding_.size(),
                 " values, expected ", nd);
    if (!output_shape_.empty() && output_shape_.size() != static_cast<size_t>(nd) &&
        output_shape_.size() != static_cast<size_t>(nd + 2))
      fail_input("node ", node_.describe(), ": output_shape has ", output_shape_.size(),
                 " values, expected ", nd);
    g.win = resolve_transpose_window(attrs_, Shape(xs.begin() + 2, xs.end()), kernel_of(ws),
                                     output_padding_, output_shape_);
    for (int d = 0; d < nd; ++d) {
      if (g.win.out[d] < 1 || g.win.kernel[d] < 1)
        fail_input("node ", node_.describe(), ": output size ", g.win.out[d], " in spatial dim ", d,
                   " is not positive");
    }
    finish_geometry(g, g.mg, prod(g.win.in));
    return g;
  }

  int64_t scratch_elems(const ColumnGeometry& g) const { return g.rows * g.chunk; }

  // One image's group: x, w and y at the group's channels.
  template <class T>
  void compute_group(const T* xg, const T* wg, T* yg, T* col) const {
    const ColumnGeometry& g = geo_;
    for (int64_t p0 = 0; p0 < g.in_size; p0 += g.chunk) {
      const int64_t p1 = std::min(g.in_size, p0 + g.chunk);
      const int64_t pn = p1 - p0;
      std::fill(col, col + g.rows * pn, T(0));
      // col[r, p] = sum_c w_g[c, r] * x_g[c, p]: A = w_g transposed.
      gemm_accumulate<T>(g.rows, pn, g.cg, T(1), wg, 1, g.rows, xg + p0, g.in_size, 1, col, pn);
      col2im(col, g, p0, p1, yg);
    }
  }

 private:
  std::vector<int64_t> output_padding_;
  std::vector<int64_t> output_shape_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "ConvTranspose", 1, INT_MAX, ConvTranspose);

}  // namespace
}  // namespace edgeopt::rt::ref
