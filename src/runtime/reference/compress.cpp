// Compress: keeps the slices along `axis` whose entry in the 1-D bool condition is true (the
// condition may be shorter than the axis: missing entries count as false). Without `axis` the
// input is flattened first. The output shape depends on the condition's values.
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class Compress final : public Kernel {
 public:
  explicit Compress(const KernelInit& init)
      : node_(init.node),
        has_axis_(init.node.has_attr("axis")),
        axis_attr_(init.node.attr_int("axis", 0)) {}
  void infer(InferContext& ctx) override {
    const Shape& in = ctx.shape(0);
    const Tensor& cond = ctx.value(1);
    if (cond.rank() != 1) fail_input("node ", node_.describe(), ": condition must be 1-D");
    Shape out;
    if (has_axis_) {
      const int64_t axis = normalize_axis(axis_attr_, static_cast<int64_t>(in.size()), node_);
      out = in;
      out[axis] = selected(cond, in[axis]);
    } else {
      out = {selected(cond, shape_numel(in))};
    }
    ctx.set_output(0, ctx.dtype(0), out);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& cond = ctx.input(1);
    const Shape& xs = x.shape();
    int64_t axis = 0, outer = 1, inner = 1, n = x.numel();
    if (has_axis_) {
      axis = axis_attr_ < 0 ? axis_attr_ + x.rank() : axis_attr_;
      outer = dims_product(xs, 0, axis);
      inner = dims_product(xs, axis + 1, xs.size());
      n = xs[axis];
    }
    const int64_t kept = selected(cond, n);
    ElementCopier cp(x, ctx.output(0));
    for (int64_t o = 0; o < outer; ++o) {
      int64_t j = 0;
      for (int64_t k = 0; k < n && k < cond.numel(); ++k)
        if (cond.get_f64(k) != 0) cp.copy((o * kept + j++) * inner, (o * n + k) * inner, inner);
    }
  }

 private:
  static int64_t selected(const Tensor& cond, int64_t n) {
    int64_t c = 0;
    for (int64_t k = 0; k < n && k < cond.numel(); ++k) c += cond.get_f64(k) != 0;
    return c;
  }

  const Node& node_;
  bool has_axis_;
  int64_t axis_attr_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Compress", 1, INT_MAX, Compress);

}  // namespace
}  // namespace edgeopt::rt::ref
