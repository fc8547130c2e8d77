// GatherND: each row of the last indices dimension (length q) addresses a slice of data after
// the first batch_dims dimensions: out[b, j..., :] = data[b, indices[b, j..., 0..q), :].
// Output shape = indices.shape[:-1] + data.shape[batch_dims + q:].
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class GatherND final : public Kernel {
 public:
  explicit GatherND(const KernelInit& init)
      : node_(init.node), batch_dims_(init.node.attr_int("batch_dims", 0)) {}
  void infer(InferContext& ctx) override {
    const Shape& data = ctx.shape(0);
    const Shape& idx = ctx.shape(1);
    const int64_t b = batch_dims_;
    if (idx.empty() || b < 0 || b >= static_cast<int64_t>(idx.size()) ||
        b >= static_cast<int64_t>(data.size()))
      fail_input("node ", node_.describe(), ": bad batch_dims ", b, " for data ", shape_str(data),
                 " and indices ", shape_str(idx));
    const int64_t q = idx.back();
    if (q < 1 || b + q > static_cast<int64_t>(data.size()))
      fail_input("node ", node_.describe(), ": index rows of length ", q, " do not fit data ",
                 shape_str(data));
    for (int64_t d = 0; d < b; ++d)
      if (data[d] != idx[d])
        fail_input("node ", node_.describe(), ": batch dimensions of data ", shape_str(data),
                   " and indices ", shape_str(idx), " differ");
    Shape out(idx.begin(), idx.end() - 1);
    out.insert(out.end(), data.begin() + b + q, data.end());
    ctx.set_output(0, ctx.dtype(0), out);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& idx = ctx.input(1);
    Tensor& y = ctx.output(0);
    const Shape& xs = x.shape();
    const Shape& is = idx.shape();
    const size_t b = static_cast<size_t>(batch_dims_);
    const int64_t q = is.back();
    const std::vector<int64_t> st = strides_of(xs);
    const int64_t batches = dims_product(is, 0, b);
    const int64_t rows = dims_product(is, b, is.size() - 1);  // rows per batch
    const int64_t slice = dims_product(xs, b + q, xs.size());
    const int64_t batch_stride = dims_product(xs, b, xs.size());
    ElementCopier cp(x, y);
    for (int64_t n = 0; n < batches; ++n)
      for (int64_t j = 0; j < rows; ++j) {
        const int64_t row = (n * rows + j) * q;
        int64_t off = n * batch_stride;
        for (int64_t k = 0; k < q; ++k) {
          const int64_t dim = xs[b + k];
          const int64_t v = index_along(idx, row + k, dim, node_);
          off += v * st[b + k];
        }
        cp.copy((n * rows + j) * slice, off, slice);
      }
  }

 private:
  const Node& node_;
  int64_t batch_dims_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "GatherND", 1, INT_MAX, GatherND);

}  // namespace
}  // namespace edgeopt::rt::ref
