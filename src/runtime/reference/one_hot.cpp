// OneHot: inserts a new axis of length depth at `axis`; out is values[1] (on) where the index
// along that axis equals indices[...] (negative indices count from depth) and values[0] (off)
// elsewhere. Indices outside [-depth, depth) give an all-off row.
#include <cmath>

#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class OneHot final : public AxisKernel {
 public:
  explicit OneHot(const KernelInit& init) : AxisKernel(init, -1) {}
  void infer(InferContext& ctx) override {
    const Shape& in = ctx.shape(0);
    const Tensor& depth_t = ctx.value(1);
    if (depth_t.numel() != 1) fail_input("node ", node_.describe(), ": depth must be a scalar");
    const int64_t depth = depth_of(depth_t);
    if (depth < 1) fail_input("node ", node_.describe(), ": depth ", depth, " is not positive");
    if (ctx.input(2).numel() != 2)
      fail_input("node ", node_.describe(), ": values must hold [off, on]");
    const int64_t r = static_cast<int64_t>(in.size()) + 1;
    const int64_t axis = check_axis(r);
    Shape out = in;
    out.insert(out.begin() + axis, depth);
    ctx.set_output(0, ctx.dtype(2), out);
  }
  void run(RunContext& ctx) override {
    const Tensor& idx = ctx.input(0);
    const Tensor& values = ctx.input(2);
    Tensor& y = ctx.output(0);
    const int64_t depth = depth_of(ctx.input(1));
    // Index element i = (o, j) over (indices.shape[:axis], indices.shape[axis:]) lands at
    // out[o, k, j] with k the class.
    const int64_t inner = dims_product(idx.shape(), axis_, idx.shape().size());
    ElementCopier cp(values, y);
    for (int64_t i = 0; i < y.numel(); ++i) cp(i, 0);
    for (int64_t i = 0; i < idx.numel(); ++i) {
      int64_t k = static_cast<int64_t>(idx.get_f64(i));
      if (k < 0) k += depth;
      if (k < 0 || k >= depth) continue;
      const int64_t o = i / inner, j = i % inner;
      cp((o * depth + k) * inner + j, 1);
    }
  }

 private:
  static int64_t depth_of(const Tensor& t) {
    return static_cast<int64_t>(std::floor(t.get_f64(0)));
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "OneHot", 1, INT_MAX, OneHot);

}  // namespace
}  // namespace edgeopt::rt::ref
