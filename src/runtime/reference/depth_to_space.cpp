// DepthToSpace: (N, C*b*b, H, W) → (N, C, H*b, W*b), moving channel blocks into b x b pixel
// blocks. For output (n, c, h*b+i, w*b+j) the input channel is
//   DCR (default): (i*b + j) * C + c        CRD: c * b*b + i*b + j
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class DepthToSpace final : public Kernel {
 public:
  explicit DepthToSpace(const KernelInit& init)
      : node_(init.node),
        b_(init.node.attr_int("blocksize", 0)),
        crd_(init.node.attr_string("mode", "DCR") == "CRD") {
    const std::string mode = init.node.attr_string("mode", "DCR");
    if (mode != "DCR" && mode != "CRD")
      fail_input("node ", node_.describe(), ": unknown mode '", mode, "'");
    if (b_ < 1) fail_input("node ", node_.describe(), ": blocksize must be positive");
  }
  void infer(InferContext& ctx) override {
    const Shape& in = ctx.shape(0);
    if (in.size() != 4 || in[1] % (b_ * b_) != 0)
      fail_input("node ", node_.describe(), ": input ", shape_str(in),
                 " is not NCHW with channels divisible by blocksize² = ", b_ * b_);
    ctx.set_output(0, ctx.dtype(0), {in[0], in[1] / (b_ * b_), in[2] * b_, in[3] * b_});
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const Shape& ys = y.shape();
    const int64_t n = ys[0], c = ys[1], oh = ys[2], ow = ys[3];
    const int64_t h = oh / b_, w = ow / b_, ic = c * b_ * b_;
    ElementCopier cp(x, y);
    int64_t o = 0;
    for (int64_t in = 0; in < n; ++in)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t y0 = 0; y0 < oh; ++y0)
          for (int64_t x0 = 0; x0 < ow; ++x0, ++o) {
            const int64_t i = y0 % b_, j = x0 % b_;
            const int64_t src_c = crd_ ? ch * b_ * b_ + i * b_ + j : (i * b_ + j) * c + ch;
            cp(o, ((in * ic + src_c) * h + y0 / b_) * w + x0 / b_);
          }
  }

 private:
  const Node& node_;
  int64_t b_;
  bool crd_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "DepthToSpace", 1, INT_MAX, DepthToSpace);

}  // namespace
}  // namespace edgeopt::rt::ref
