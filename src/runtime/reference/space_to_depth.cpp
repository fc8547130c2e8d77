// SpaceToDepth: (N, C, H*b, W*b) → (N, C*b*b, H, W), the inverse of DepthToSpace in DCR
// mode: out[n, (i*b + j) * C + c, h, w] = in[n, c, h*b + i, w*b + j].
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class SpaceToDepth final : public Kernel {
 public:
  explicit SpaceToDepth(const KernelInit& init)
      : node_(init.node), b_(init.node.attr_int("blocksize", 0)) {
    if (b_ < 1) fail_input("node ", node_.describe(), ": blocksize must be positive");
  }
  void infer(InferContext& ctx) override {
    const Shape& in = ctx.shape(0);
    if (in.size() != 4 || in[2] % b_ != 0 || in[3] % b_ != 0)
      fail_input("node ", node_.describe(), ": input ", shape_str(in),
                 " is not NCHW with H and W divisible by blocksize ", b_);
    ctx.set_output(0, ctx.dtype(0), {in[0], in[1] * b_ * b_, in[2] / b_, in[3] / b_});
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const Shape& xs = x.shape();
    const int64_t n = xs[0], c = xs[1], ih = xs[2], iw = xs[3];
    const int64_t h = ih / b_, w = iw / b_, oc = c * b_ * b_;
    ElementCopier cp(x, y);
    int64_t src = 0;
    for (int64_t in = 0; in < n; ++in)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t y0 = 0; y0 < ih; ++y0)
          for (int64_t x0 = 0; x0 < iw; ++x0, ++src) {
            const int64_t dst_c = ((y0 % b_) * b_ + x0 % b_) * c + ch;
            cp(((in * oc + dst_c) * h + y0 / b_) * w + x0 / b_, src);
          }
  }

 private:
  const Node& node_;
  int64_t b_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "SpaceToDepth", 1, INT_MAX, SpaceToDepth);

}  // namespace
}  // namespace edgeopt::rt::ref
