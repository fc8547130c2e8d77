// The input repeated along its axes, a strided view of it copied out:
//   Expand: broadcast to the numpy broadcast of its shape and the shape in input 1 (so a 1 in
//     the given shape keeps the input's dimension).
//   Tile: repeated repeats[d] times along every axis d: out[i] = in[i mod in.shape] elementwise
//     over the index.
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class Expand final : public NodeKernel {
 public:
  using NodeKernel::NodeKernel;
  void infer(InferContext& ctx) override {
    const Shape target = input_ints(ctx, 1);
    ctx.set_output(0, ctx.dtype(0), broadcast_shapes({ctx.shape(0), target}, node_));
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    copy_view(x, 0, broadcast_strides(x.shape(), y.shape()), y);
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Expand", 1, INT_MAX, Expand);

class Tile final : public NodeKernel {
 public:
  using NodeKernel::NodeKernel;
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
    if (y.numel() == 0) return;
    // y as [r0, x0, r1, x1, ...] (r: the repeats): a view of x, stride 0 along the repeats.
    const std::vector<int64_t> st = strides_of(x.shape());
    Shape view;
    std::vector<int64_t> strides;
    for (int d = 0; d < x.rank(); ++d) {
      view.insert(view.end(), {y.dim(d) / x.dim(d), x.dim(d)});
      strides.insert(strides.end(), {0, st[d]});
    }
    copy_view(x, 0, strides, view, y);
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Tile", 1, INT_MAX, Tile);

}  // namespace
}  // namespace edgeopt::rt::ref
