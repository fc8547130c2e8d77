// DepthToSpace: (N, C*b*b, H, W) → (N, C, H*b, W*b), moving channel blocks into b x b pixel
// blocks; SpaceToDepth: the other way. Position (n, c, h*b + i, w*b + j) of the spatial tensor
// (N, C, H*b, W*b) holds channel
//   DCR (default, SpaceToDepth's only mode): (i*b + j) * C + c     CRD: c * b*b + i*b + j
// at (n, h, w) of the deep tensor (N, C*b*b, H, W).
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class BlockMove final : public NodeKernel {
 public:
  explicit BlockMove(const KernelInit& init)
      : NodeKernel(init),
        to_space_(init.node.op_type == "DepthToSpace"),
        b_(init.node.attr_int("blocksize", 0)),
        crd_(init.node.attr_string("mode", "DCR") == "CRD") {
    const std::string mode = init.node.attr_string("mode", "DCR");
    if (mode != "DCR" && mode != "CRD")
      fail_input("node ", node_.describe(), ": unknown mode '", mode, "'");
    if (b_ < 1) fail_input("node ", node_.describe(), ": blocksize must be positive");
  }
  void infer(InferContext& ctx) override {
    const Shape& in = ctx.shape(0);
    const int64_t bb = b_ * b_;
    if (to_space_ && (in.size() != 4 || in[1] % bb != 0))
      fail_input("node ", node_.describe(), ": input ", shape_str(in),
                 " is not NCHW with channels divisible by blocksize² = ", bb);
    if (!to_space_ && (in.size() != 4 || in[2] % b_ != 0 || in[3] % b_ != 0))
      fail_input("node ", node_.describe(), ": input ", shape_str(in),
                 " is not NCHW with H and W divisible by blocksize ", b_);
    ctx.set_output(0, ctx.dtype(0),
                   to_space_ ? Shape{in[0], in[1] / bb, in[2] * b_, in[3] * b_}
                             : Shape{in[0], in[1] * bb, in[2] / b_, in[3] / b_});
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const Shape& s = (to_space_ ? y : x).shape();  // the spatial tensor
    const int64_t n = s[0], c = s[1], sh = s[2], sw = s[3];
    const int64_t h = sh / b_, w = sw / b_, dc = c * b_ * b_;
    ElementCopier cp(x, y);
    int64_t o = 0;  // position in the spatial tensor
    for (int64_t in = 0; in < n; ++in)
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t y0 = 0; y0 < sh; ++y0)
          for (int64_t x0 = 0; x0 < sw; ++x0, ++o) {
            const int64_t i = y0 % b_, j = x0 % b_;
            const int64_t deep_c = crd_ ? ch * b_ * b_ + i * b_ + j : (i * b_ + j) * c + ch;
            const int64_t d = ((in * dc + deep_c) * h + y0 / b_) * w + x0 / b_;
            if (to_space_)
              cp(o, d);
            else
              cp(d, o);
          }
  }

 private:
  bool to_space_;  // DepthToSpace
  int64_t b_;
  bool crd_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "DepthToSpace", 1, INT_MAX, BlockMove);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "SpaceToDepth", 1, INT_MAX, BlockMove);

}  // namespace
}  // namespace edgeopt::rt::ref
