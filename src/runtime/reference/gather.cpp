// The gathers: values of data picked by integer indices (negative ones count from the end of
// their axis).
//   Gather: out[a..., j..., b...] = data[a..., indices[j...], b...] along `axis`.
//   GatherElements: out[i] = data[i with i[axis] replaced by indices[i]]; out has the shape of
//     indices (same rank as data, no larger than data outside `axis`).
//   GatherND: each row of the last indices dimension (length q) addresses a slice of data after
//     the first batch_dims dimensions: out[b, j..., :] = data[b, indices[b, j..., 0..q), :].
//     Output shape = indices.shape[:-1] + data.shape[batch_dims + q:].
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class Gather final : public AxisKernel {
 public:
  explicit Gather(const KernelInit& init) : AxisKernel(init, 0) {}
  void infer(InferContext& ctx) override {
    const Shape& data = ctx.shape(0);
    const DType it = ctx.dtype(1);
    if (it != DType::kI32 && it != DType::kI64)
      fail_input("node ", node_.describe(), ": indices must be int32 or int64, got ",
                 dtype_name(it));
    check_axis(static_cast<int64_t>(data.size()));
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
    const AxisLayout l = layout(x.shape());
    const int64_t outer = l.outer, dim = l.len, inner = l.inner;
    const int64_t n = idx.numel();
    ElementCopier cp(x, y);
    for (int64_t j = 0; j < n; ++j) {
      const int64_t k = index_along(idx, j, dim, node_);
      for (int64_t o = 0; o < outer; ++o)
        cp.copy((o * n + j) * inner, (o * dim + k) * inner, inner);
    }
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Gather", 1, INT_MAX, Gather);

class GatherElements final : public AxisKernel {
 public:
  explicit GatherElements(const KernelInit& init) : AxisKernel(init, 0) {}
  void infer(InferContext& ctx) override {
    const Shape& data = ctx.shape(0);
    const Shape& idx = ctx.shape(1);
    const int64_t r = static_cast<int64_t>(data.size());
    check_axis(r);
    if (!indices_fit_elements(data, idx, axis_))
      fail_input("node ", node_.describe(), ": indices shape ", shape_str(idx),
                 " does not fit data shape ", shape_str(data));
    ctx.set_output(0, ctx.dtype(0), idx);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& idx = ctx.input(1);
    Tensor& y = ctx.output(0);
    ElementCopier cp(x, y);
    for_each_element_index(idx, x.shape(), axis_, node_, cp);
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "GatherElements", 1, INT_MAX, GatherElements);

class GatherND final : public NodeKernel {
 public:
  explicit GatherND(const KernelInit& init)
      : NodeKernel(init), batch_dims_(init.node.attr_int("batch_dims", 0)) {}
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
  int64_t batch_dims_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "GatherND", 1, INT_MAX, GatherND);

}  // namespace
}  // namespace edgeopt::rt::ref
