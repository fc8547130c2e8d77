// Tile: repeats the input repeats[d] times along every axis d:
// out[i] = in[i mod in.shape] elementwise over the index.
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class Tile final : public Kernel {
 public:
  explicit Tile(const KernelInit& init) : node_(init.node) {}
  void infer(InferContext& ctx) override {
    const Shape& in = ctx.shape(0);
    const std::vector<int64_t> rep = input_ints(ctx, 1);
    if (rep.size() != in.size())
      fail_input("node ", node_.describe(), ": ", rep.size(), " repeats for rank ", in.size());
    Shape out(in.size());
    for (size_t d = 0; d < in.size(); ++d) {
      if (rep[d] < 0) fail_input("node ", node_.describe(), ": negative repeat ", rep[d]);
      out[d] = in[d] * rep[d];
    }
    ctx.set_output(0, ctx.dtype(0), out);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const Shape& xs = x.shape();
    const Shape& ys = y.shape();
    const int r = x.rank();
    const std::vector<int64_t> st = strides_of(xs);
    ElementCopier cp(x, y);
    // out[o] = in[o mod in.shape], coordinate by coordinate.
    std::vector<int64_t> o(r, 0);
    for (int64_t i = 0; i < y.numel(); ++i) {
      int64_t off = 0;
      for (int d = 0; d < r; ++d) off += (o[d] % xs[d]) * st[d];
      cp(i, off);
      for (int d = r - 1; d >= 0; --d) {
        if (++o[d] < ys[d]) break;
        o[d] = 0;
      }
    }
  }

 private:
  const Node& node_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Tile", 1, INT_MAX, Tile);

}  // namespace
}  // namespace edgeopt::rt::ref
