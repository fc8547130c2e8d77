// Conv: y[n, m, o...] = b[m] + sum_{c in group(m), k...} x[n, c, o * s + k * d - pb] * w[m, c,
// k...] (N-d, grouped, dilated, strided, padded; positions in the padding read as zero).
//
// Computed per image and group as im2col + GEMM: the input windows for a chunk of output
// positions are laid out as a (C/g * prod(k)) x P matrix in scratch, then
// Y_g[M/g, P] += W_g[M/g, C/g * prod(k)] * col. A 1x1 kernel with unit strides and no padding
// multiplies the input directly.
#include <algorithm>

#include "gemm_ref.h"
#include "pool_common.h"

namespace edgeopt::rt::ref {
namespace {

// im2col columns per chunk are bounded so scratch stays a few MB whatever the image size.
constexpr int64_t kColElems = int64_t{1} << 20;

struct ConvGeometry {
  Shape x_shape, w_shape;  // what it was computed for
  Window win;
  int64_t n = 0, c = 0, m = 0, cg = 0, mg = 0;
  int64_t in_size = 0, out_size = 0, kernel_size = 0;
  int64_t k = 0;      // GEMM depth: C/g * prod(kernel)
  int64_t chunk = 0;  // output positions per im2col chunk
  bool direct = false;
};

// Writes the chunk [p0, p1) of output positions of channel block x (cg channels) as rows of
// col: col[(c * prod(k) + kflat) * (p1 - p0) + (p - p0)] = x[c, o(p) * s + k * d - pb] or 0.
template <class T>
void im2col(const T* x, const ConvGeometry& g, int64_t p0, int64_t p1, T* col) {
  const Window& w = g.win;
  const int nd = w.nd;
  const int64_t pn = p1 - p0;
  const int64_t out_last = w.out[nd - 1];
  const int64_t in_last = w.in[nd - 1];
  const int64_t s_last = w.stride[nd - 1];
  const SpatialIndex in_stride = spatial_strides(w.in);
  T* dst = col;
  for (int64_t c = 0; c < g.cg; ++c) {
    const T* xc = x + c * g.in_size;
    SpatialIndex k{};
    do {
      SpatialIndex base{};  // input coordinate of output coordinate 0 for this kernel tap
      for (int d = 0; d < nd; ++d) base[d] = k[d] * w.dilation[d] - w.pad_begin[d];
      for (int64_t q = p0 / out_last; q * out_last < p1; ++q) {
        const int64_t jb = std::max<int64_t>(p0 - q * out_last, 0);
        const int64_t je = std::min<int64_t>(p1 - q * out_last, out_last);
        T* row = dst + q * out_last - p0;
        int64_t off = 0;
        bool valid = true;
        int64_t rem = q;
        for (int d = nd - 2; d >= 0; --d) {
          const int64_t o = rem % w.out[d];
          rem /= w.out[d];
          const int64_t i = o * w.stride[d] + base[d];
          valid = valid && i >= 0 && i < w.in[d];
          off += i * in_stride[d];
        }
        if (!valid) {
          std::fill(row + jb, row + je, T(0));
          continue;
        }
        const T* xr = xc + off;
        for (int64_t j = jb; j < je; ++j) {
          const int64_t i = j * s_last + base[nd - 1];
          row[j] = (i >= 0 && i < in_last) ? xr[i] : T(0);
        }
      }
      dst += pn;
    } while (next_index(w.kernel, k));
  }
}

class Conv final : public Kernel {
 public:
  explicit Conv(const KernelInit& init)
      : node_(init.node),
        attrs_(parse_window_attrs(init.node)),
        group_(init.node.attr_int("group", 1)) {}

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    check_conv_inputs(node_, x, w);
    const ConvGeometry g = geometry(x.shape(), w.shape());
    if (ctx.has_input(2)) check_conv_bias(node_, ctx.input(2), x.dtype(), g.m);
    ctx.set_output(0, x.dtype(), window_output_shape(g.n, g.m, g.win));
    if (!g.direct) ctx.request_scratch(static_cast<size_t>(g.k * g.chunk) * dtype_size(x.dtype()));
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    if (x.shape() != geo_.x_shape || w.shape() != geo_.w_shape)
      geo_ = geometry(x.shape(), w.shape());
    const Tensor* b = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    EDGEOPT_DISPATCH_FLOAT(x.dtype(), node_, {
      compute<T>(x.data<T>(), w.data<T>(), b ? b->data<T>() : nullptr, ctx.output(0).data<T>(),
                 static_cast<T*>(ctx.scratch));
    });
  }

 private:
  ConvGeometry geometry(const Shape& xs, const Shape& ws) const {
    check_conv_shapes(node_, xs, ws);
    ConvGeometry g;
    g.x_shape = xs;
    g.w_shape = ws;
    g.n = xs[0];
    g.c = xs[1];
    g.m = ws[0];
    if (group_ < 1 || g.c % group_ != 0 || g.m % group_ != 0)
      fail_input("node ", node_.describe(), ": group ", group_, " does not divide ", g.c,
                 " input channels and ", g.m, " output channels");
    g.cg = g.c / group_;
    g.mg = g.m / group_;
    if (ws[1] != g.cg)
      fail_input("node ", node_.describe(), ": weight '", node_.input(1), "' has ", ws[1],
                 " input channels per group, expected ", g.cg, " (", g.c, " / group ", group_, ")");
    const Shape in(xs.begin() + 2, xs.end());
    const Shape kernel(ws.begin() + 2, ws.end());
    if (!attrs_.kernel_shape.empty() && attrs_.kernel_shape != kernel)
      fail_input("node ", node_.describe(), ": kernel_shape does not match weight shape ",
                 shape_str(ws));
    g.win = resolve_window(node_, attrs_, in, kernel);
    g.in_size = prod(in);
    g.out_size = prod(g.win.out);
    g.kernel_size = prod(kernel);
    g.k = g.cg * g.kernel_size;
    g.direct = true;
    for (int d = 0; d < g.win.nd; ++d)
      g.direct = g.direct && kernel[d] == 1 && g.win.stride[d] == 1 && g.win.pad_begin[d] == 0 &&
                 g.win.pad_end[d] == 0;
    g.chunk = std::clamp<int64_t>(kColElems / std::max<int64_t>(g.k, 1), 1,
                                  std::max<int64_t>(g.out_size, 1));
    return g;
  }

  template <class T>
  void compute(const T* x, const T* w, const T* bias, T* y, T* col) const {
    const ConvGeometry& g = geo_;
    for (int64_t n = 0; n < g.n; ++n) {
      for (int64_t gr = 0; gr < group_; ++gr) {
        const T* xg = x + (n * g.c + gr * g.cg) * g.in_size;
        const T* wg = w + gr * g.mg * g.k;
        T* yg = y + (n * g.m + gr * g.mg) * g.out_size;
        fill_bias(yg, g.mg, g.out_size, bias ? bias + gr * g.mg : nullptr);
        if (g.direct) {
          gemm_accumulate<T>(g.mg, g.out_size, g.k, T(1), wg, g.k, 1, xg, g.in_size, 1, yg,
                             g.out_size);
          continue;
        }
        for (int64_t p0 = 0; p0 < g.out_size; p0 += g.chunk) {
          const int64_t p1 = std::min(g.out_size, p0 + g.chunk);
          im2col(xg, g, p0, p1, col);
          gemm_accumulate<T>(g.mg, p1 - p0, g.k, T(1), wg, g.k, 1, col, p1 - p0, 1, yg + p0,
                             g.out_size);
        }
      }
    }
  }

  const Node& node_;
  WindowAttrs attrs_;
  int64_t group_;
  ConvGeometry geo_;  // for the latest input shapes seen by run()
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Conv", 1, INT_MAX, Conv);

}  // namespace
}  // namespace edgeopt::rt::ref
