// Gather: out[a..., j..., b...] = data[a..., indices[j...], b...] along `axis`; negative
// indices count from the end of the axis.
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class Gather final : public Kernel {
 public:
  explicit Gather(const KernelInit& init)
      : node_(init.node), axis_attr_(init.node.attr_int("axis", 0)) {}
  void infer(InferContext& ctx) override {
    const Shape& data = ctx.shape(0);
    const DType it = ctx.dtype(1);
    if (it != DType::kI32 && it != DType::kI64)
      fail_input("node ", node_.describe(), ": indices must be int32 or int64, got ",
                 dtype_name(it));
    axis_ = normalize_axis(axis_attr_, static_cast<int64_t>(data.size()), node_);
    if (data.empty()) fail_input("node ", node_.describe(), ": data must not be a scalar");
    Shape out(data.begin(), data.begin() + axis_);
    out.insert(out.end(), ctx.shape(1).begin(), ctx.shape(1).end());
    out.insert(out.end(), data.begin() + axis_ + 1, data.end());
    ctx.set_output(0, ctx.dtype(0), out);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& idx = ctx.input(1);
    Tensor& y = ctx.output(0);
    const Shape& xs = x.shape();
    const int64_t outer = dims_product(xs, 0, axis_);
    const int64_t inner = dims_product(xs, axis_ + 1, xs.size());
    const int64_t dim = xs[axis_];
    const int64_t n = idx.numel();
    ElementCopier cp(x, y);
    for (int64_t j = 0; j < n; ++j) {
      const int64_t k = index_along(idx, j, dim, node_);
      for (int64_t o = 0; o < outer; ++o)
        cp.copy((o * n + j) * inner, (o * dim + k) * inner, inner);
    }
  }

 private:
  const Node& node_;
  int64_t axis_attr_;
  int64_t axis_ = 0;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Gather", 1, INT_MAX, Gather);

}  // namespace
}  // namespace edgeopt::rt::ref
