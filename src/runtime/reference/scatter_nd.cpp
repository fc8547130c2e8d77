// ScatterND: out = data, then each row of the last indices dimension (length q) addresses a
// slice data[row, :] of shape data.shape[q:] that is replaced (or combined, per `reduction`)
// with the matching slice of updates, whose shape is indices.shape[:-1] + data.shape[q:].
#include "shape_common.h"
#include "shape_scatter.h"

namespace edgeopt::rt::ref {
namespace {

class ScatterND final : public Kernel {
 public:
  explicit ScatterND(const KernelInit& init)
      : node_(init.node), reduction_(parse_scatter_reduction(init.node)) {}
  void infer(InferContext& ctx) override {
    const Shape& data = ctx.shape(0);
    const Shape& idx = ctx.shape(1);
    const Shape& upd = ctx.shape(2);
    bool ok = !idx.empty() && idx.back() >= 1 && idx.back() <= static_cast<int64_t>(data.size());
    if (ok) {
      Shape want(idx.begin(), idx.end() - 1);
      want.insert(want.end(), data.begin() + idx.back(), data.end());
      ok = want == upd && ctx.dtype(2) == ctx.dtype(0);
    }
    if (!ok)
      fail_input("node ", node_.describe(), ": indices ", shape_str(idx), " and updates ",
                 shape_str(upd), " do not fit data ", shape_str(data));
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
    const Shape& xs = x.shape();
    const int64_t q = idx.shape().back();
    const int64_t rows = idx.numel() / q;
    const int64_t slice = dims_product(xs, q, xs.size());
    const std::vector<int64_t> st = strides_of(xs);
    ElementCopier cp(upd, y);
    for (int64_t j = 0; j < rows; ++j) {
      int64_t off = 0;
      for (int64_t k = 0; k < q; ++k) {
        const int64_t v = index_along(idx, j * q + k, xs[k], node_);
        off += v * st[k];
      }
      if (reduction_ == ScatterReduction::kNone) {
        cp.copy(off, j * slice, slice);
        continue;
      }
      EDGEOPT_DISPATCH_NUMERIC(x.dtype(), node_, {
        T* out = y.data<T>() + off;
        const T* u = upd.data<T>() + j * slice;
        for (int64_t e = 0; e < slice; ++e) scatter_combine(reduction_, out[e], u[e]);
      });
    }
  }

 private:
  const Node& node_;
  ScatterReduction reduction_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "ScatterND", 1, INT_MAX, ScatterND);

}  // namespace
}  // namespace edgeopt::rt::ref
