// ConvTranspose (the gradient of Conv with respect to its input):
//   y[n, m, i * s + k * d - pb] += x[n, c, i...] * w[c, m, k...]  for c in group(m), plus b[m].
// Output size per dim: out = s * (in - 1) + output_padding + (k - 1) * d + 1 - pb - pe, unless
// output_shape (or auto_pad SAME_*, out = in * s) fixes it and the pads follow from it.
//
// Computed per image and group as GEMM + col2im: col[(m, k), p] = sum_c w[c, (m, k)] * x[c, p]
// for a chunk of input positions p, then each column is scattered into y.
#include <algorithm>

#include "gemm_ref.h"
#include "pool_common.h"

namespace edgeopt::rt::ref {
namespace {

constexpr int64_t kColElems = int64_t{1} << 20;

struct ConvTGeometry {
  Shape x_shape, w_shape;
  Window win;  // in = input spatial dims, out = output spatial dims
  int64_t n = 0, c = 0, m = 0, cg = 0, mg = 0;
  int64_t in_size = 0, out_size = 0, kernel_size = 0;
  int64_t rows = 0;   // M/g * prod(kernel)
  int64_t chunk = 0;  // input positions per chunk
};

// y[m, i * s + k * d - pb] += col[(m * prod(k) + kflat) * pn + (p - p0)] for p in [p0, p1).
template <class T>
void col2im(const T* col, const ConvTGeometry& g, int64_t p0, int64_t p1, T* y) {
  const Window& w = g.win;
  const int nd = w.nd;
  const int64_t pn = p1 - p0;
  const int64_t in_last = w.in[nd - 1];
  const int64_t out_last = w.out[nd - 1];
  const int64_t s_last = w.stride[nd - 1];
  const SpatialIndex out_stride = spatial_strides(w.out);
  const T* src = col;
  for (int64_t m = 0; m < g.mg; ++m) {
    T* ym = y + m * g.out_size;
    SpatialIndex k{};
    do {
      SpatialIndex base{};  // output coordinate of input coordinate 0 for this kernel tap
      for (int d = 0; d < nd; ++d) base[d] = k[d] * w.dilation[d] - w.pad_begin[d];
      for (int64_t q = p0 / in_last; q * in_last < p1; ++q) {
        const int64_t jb = std::max<int64_t>(p0 - q * in_last, 0);
        const int64_t je = std::min<int64_t>(p1 - q * in_last, in_last);
        const T* row = src + q * in_last - p0;
        int64_t off = 0;
        bool valid = true;
        int64_t rem = q;
        for (int d = nd - 2; d >= 0; --d) {
          const int64_t i = rem % w.in[d];
          rem /= w.in[d];
          const int64_t o = i * w.stride[d] + base[d];
          valid = valid && o >= 0 && o < w.out[d];
          off += o * out_stride[d];
        }
        if (!valid) continue;
        T* yr = ym + off;
        for (int64_t j = jb; j < je; ++j) {
          const int64_t o = j * s_last + base[nd - 1];
          if (o >= 0 && o < out_last) yr[o] += row[j];
        }
      }
      src += pn;
    } while (next_index(w.kernel, k));
  }
}

class ConvTranspose final : public Kernel {
 public:
  explicit ConvTranspose(const KernelInit& init)
      : node_(init.node),
        attrs_(parse_window_attrs(init.node)),
        group_(init.node.attr_int("group", 1)),
        output_padding_(init.node.attr_ints("output_padding")),
        output_shape_(init.node.attr_ints("output_shape")) {}

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    check_conv_inputs(node_, x, w);
    const ConvTGeometry g = geometry(x.shape(), w.shape());
    if (ctx.has_input(2)) check_conv_bias(node_, ctx.input(2), x.dtype(), g.m);
    ctx.set_output(0, x.dtype(), window_output_shape(g.n, g.m, g.win));
    ctx.request_scratch(static_cast<size_t>(g.rows * g.chunk) * dtype_size(x.dtype()));
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
  ConvTGeometry geometry(const Shape& xs, const Shape& ws) const {
    check_conv_shapes(node_, xs, ws);
    const int nd = static_cast<int>(xs.size()) - 2;
    check_window_attrs(node_, attrs_, nd);
    ConvTGeometry g;
    g.x_shape = xs;
    g.w_shape = ws;
    g.n = xs[0];
    g.c = xs[1];
    if (group_ < 1 || g.c % group_ != 0)
      fail_input("node ", node_.describe(), ": group ", group_, " does not divide ", g.c,
                 " input channels");
    if (ws[0] != g.c)
      fail_input("node ", node_.describe(), ": weight '", node_.input(1), "' has ", ws[0],
                 " input channels, input has ", g.c);
    g.cg = g.c / group_;
    g.mg = ws[1];
    g.m = g.mg * group_;
    if (!output_padding_.empty() && output_padding_.size() != static_cast<size_t>(nd))
      fail_input("node ", node_.describe(), ": output_padding has ", output_padding_.size(),
                 " values, expected ", nd);
    if (!output_shape_.empty() && output_shape_.size() != static_cast<size_t>(nd) &&
        output_shape_.size() != static_cast<size_t>(nd + 2))
      fail_input("node ", node_.describe(), ": output_shape has ", output_shape_.size(),
                 " values, expected ", nd);
    const Shape kernel(ws.begin() + 2, ws.end());
    if (!attrs_.kernel_shape.empty() && attrs_.kernel_shape != kernel)
      fail_input("node ", node_.describe(), ": kernel_shape does not match weight shape ",
                 shape_str(ws));
    g.win = resolve_transpose_window(attrs_, Shape(xs.begin() + 2, xs.end()), kernel,
                                     output_padding_, output_shape_);
    const Window& w = g.win;
    for (int d = 0; d < nd; ++d) {
      if (w.out[d] < 1 || w.kernel[d] < 1)
        fail_input("node ", node_.describe(), ": output size ", w.out[d], " in spatial dim ", d,
                   " is not positive");
    }
    g.in_size = prod(w.in);
    g.out_size = prod(w.out);
    g.kernel_size = prod(w.kernel);
    g.rows = g.mg * g.kernel_size;
    g.chunk = std::clamp<int64_t>(kColElems / std::max<int64_t>(g.rows, 1), 1,
                                  std::max<int64_t>(g.in_size, 1));
    return g;
  }

  template <class T>
  void compute(const T* x, const T* w, const T* bias, T* y, T* col) const {
    const ConvTGeometry& g = geo_;
    for (int64_t n = 0; n < g.n; ++n) {
      for (int64_t gr = 0; gr < group_; ++gr) {
        const T* xg = x + (n * g.c + gr * g.cg) * g.in_size;
        const T* wg = w + gr * g.cg * g.rows;
        T* yg = y + (n * g.m + gr * g.mg) * g.out_size;
        fill_bias(yg, g.mg, g.out_size, bias ? bias + gr * g.mg : nullptr);
        for (int64_t p0 = 0; p0 < g.in_size; p0 += g.chunk) {
          const int64_t p1 = std::min(g.in_size, p0 + g.chunk);
          const int64_t pn = p1 - p0;
          std::fill(col, col + g.rows * pn, T(0));
          // col[r, p] = sum_c w_g[c, r] * x_g[c, p]: A = w_g transposed.
          gemm_accumulate<T>(g.rows, pn, g.cg, T(1), wg, 1, g.rows, xg + p0, g.in_size, 1, col, pn);
          col2im(col, g, p0, p1, yg);
        }
      }
    }
  }

  const Node& node_;
  WindowAttrs attrs_;
  int64_t group_;
  std::vector<int64_t> output_padding_;
  std::vector<int64_t> output_shape_;
  ConvTGeometry geo_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "ConvTranspose", 1, INT_MAX, ConvTranspose);

}  // namespace
}  // namespace edgeopt::rt::ref
