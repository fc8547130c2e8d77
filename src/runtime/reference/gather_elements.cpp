// GatherElements: out[i] = data[i with i[axis] replaced by indices[i]]; out has the shape of
// indices (same rank as data, no larger than data outside `axis`).
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class GatherElements final : public Kernel {
 public:
  explicit GatherElements(const KernelInit& init)
      : node_(init.node), axis_attr_(init.node.attr_int("axis", 0)) {}
  void infer(InferContext& ctx) override {
    const Shape& data = ctx.shape(0);
    const Shape& idx = ctx.shape(1);
    const int64_t r = static_cast<int64_t>(data.size());
    axis_ = normalize_axis(axis_attr_, r, node_);
    bool ok = idx.size() == data.size();
    for (int64_t d = 0; ok && d < r; ++d) ok = d == axis_ || idx[d] <= data[d];
    if (!ok)
      fail_input("node ", node_.describe(), ": indices shape ", shape_str(idx),
                 " does not fit data shape ", shape_str(data));
    ctx.set_output(0, ctx.dtype(0), idx);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& idx = ctx.input(1);
    Tensor& y = ctx.output(0);
    std::vector<int64_t> st = strides_of(x.shape());
    const int64_t axis_stride = st[axis_];
    const int64_t dim = x.shape()[axis_];
    st[axis_] = 0;  // the axis coordinate comes from indices instead
    ElementCopier cp(x, y);
    for_each_strided(y.shape(), st, 0, [&](int64_t i, int64_t base) {
      const int64_t k = index_along(idx, i, dim, node_);
      cp(i, base + k * axis_stride);
    });
  }

 private:
  const Node& node_;
  int64_t axis_attr_;
  int64_t axis_ = 0;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "GatherElements", 1, INT_MAX, GatherElements);

}  // namespace
}  // namespace edgeopt::rt::ref
