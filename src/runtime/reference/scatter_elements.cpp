// ScatterElements (and its predecessor Scatter, opset 9-10): out = data, then for every
// position i of indices, out[i with i[axis] replaced by indices[i]] (reduction)= updates[i].
#include "shape_common.h"
#include "shape_scatter.h"

namespace edgeopt::rt::ref {
namespace {

class ScatterElements final : public Kernel {
 public:
  explicit ScatterElements(const KernelInit& init)
      : node_(init.node),
        axis_attr_(init.node.attr_int("axis", 0)),
        reduction_(parse_scatter_reduction(init.node)) {}
  void infer(InferContext& ctx) override {
    const Shape& data = ctx.shape(0);
    const Shape& idx = ctx.shape(1);
    const int64_t r = static_cast<int64_t>(data.size());
    axis_ = normalize_axis(axis_attr_, r, node_);
    bool ok = idx.size() == data.size() && ctx.shape(2) == idx && ctx.dtype(2) == ctx.dtype(0);
    for (int64_t d = 0; ok && d < r; ++d) ok = d == axis_ || idx[d] <= data[d];
    if (!ok)
      fail_input("node ", node_.describe(), ": indices ", shape_str(idx), " and updates ",
                 shape_str(ctx.shape(2)), " do not fit data ", shape_str(data));
    if (reduction_ != ScatterReduction::kNone && ctx.dtype(0) == DType::kString)
      unsupported_dtype(node_, ctx.dtype(0));
    ctx.set_output(0, ctx.dtype(0), data);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& idx = ctx.input(1);
    const Tensor& upd = ctx.input(2);
    Tensor& y = ctx.output(0);
    copy_all(x, y);
    std::vector<int64_t> st = strides_of(x.shape());
    const int64_t axis_stride = st[axis_];
    const int64_t dim = x.shape()[axis_];
    st[axis_] = 0;
    // Destination offset of update i; indices are checked here because they are data.
    auto dest = [&](int64_t i, int64_t base) {
      const int64_t k = index_along(idx, i, dim, node_);
      return base + k * axis_stride;
    };
    if (reduction_ == ScatterReduction::kNone) {
      ElementCopier cp(upd, y);
      for_each_strided(idx.shape(), st, 0, [&](int64_t i, int64_t base) { cp(dest(i, base), i); });
      return;
    }
    EDGEOPT_DISPATCH_NUMERIC(x.dtype(), node_, {
      T* out = y.data<T>();
      const T* u = upd.data<T>();
      for_each_strided(idx.shape(), st, 0, [&](int64_t i, int64_t base) {
        scatter_combine(reduction_, out[dest(i, base)], u[i]);
      });
    });
  }

 private:
  const Node& node_;
  int64_t axis_attr_;
  ScatterReduction reduction_;
  int64_t axis_ = 0;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "ScatterElements", 1, INT_MAX, ScatterElements);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Scatter", 1, 10, ScatterElements);

}  // namespace
}  // namespace edgeopt::rt::ref
