// The scatters: out = data, then updates are placed (or combined, per `reduction`) at positions
// given by integer indices (negative ones count from the end of their axis).
//   ScatterElements (and its predecessor Scatter, opset 9-10): for every position i of indices,
//     out[i with i[axis] replaced by indices[i]] (reduction)= updates[i].
//   ScatterND: each row of the last indices dimension (length q) addresses a slice
//     data[row, :] of shape data.shape[q:] that takes the matching slice of updates, whose shape
//     is indices.shape[:-1] + data.shape[q:].
#include <algorithm>
#include <string>

#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

// `reduction`: how an update combines with the value already at its position.
enum class ScatterReduction { kNone, kAdd, kMul, kMax, kMin };

ScatterReduction parse_scatter_reduction(const Node& node) {
  const std::string r = node.attr_string("reduction", "none");
  if (r == "none") return ScatterReduction::kNone;
  if (r == "add") return ScatterReduction::kAdd;
  if (r == "mul") return ScatterReduction::kMul;
  if (r == "max") return ScatterReduction::kMax;
  if (r == "min") return ScatterReduction::kMin;
  fail_input("node ", node.describe(), ": unknown reduction '", r, "'");
}

// out = out (reduction) update
template <class T>
void scatter_combine(ScatterReduction r, T& out, T update) {
  switch (r) {
    case ScatterReduction::kNone:
      out = update;
      break;
    case ScatterReduction::kAdd:
      out = static_cast<T>(out + update);
      break;
    case ScatterReduction::kMul:
      out = static_cast<T>(out * update);
      break;
    case ScatterReduction::kMax:
      out = std::max(out, update);
      break;
    case ScatterReduction::kMin:
      out = std::min(out, update);
      break;
  }
}

// Data (input 0), indices (1) and updates (2) of one dtype with data, the output a copy of data
// with the updates in.
class ScatterKernel : public NodeKernel {
 public:
  explicit ScatterKernel(const KernelInit& init)
      : NodeKernel(init), reduction_(parse_scatter_reduction(init.node)) {}
  void infer(InferContext& ctx) override {
    const Shape& data = ctx.shape(0);
    if (!fits(data, ctx.shape(1), ctx.shape(2)) || ctx.dtype(2) != ctx.dtype(0))
      fail_input("node ", node_.describe(), ": indices ", shape_str(ctx.shape(1)), " and updates ",
                 shape_str(ctx.shape(2)), " do not fit data ", shape_str(data));
    if (reduction_ != ScatterReduction::kNone && ctx.dtype(0) == DType::kString)
      unsupported_dtype(node_, ctx.dtype(0));
    ctx.set_output(0, ctx.dtype(0), data);
  }
  void run(RunContext& ctx) override {
    Tensor& y = ctx.output(0);
    copy_all(ctx.input(0), y);
    scatter(ctx.input(1), ctx.input(2), y);
  }

 protected:
  // Whether indices and updates of these shapes fit data (axis_ is set from data's rank).
  virtual bool fits(const Shape& data, const Shape& indices, const Shape& updates) = 0;
  // Puts the updates into y (a copy of data); indices are checked here because they are data.
  virtual void scatter(const Tensor& indices, const Tensor& updates, Tensor& y) const = 0;

  ScatterReduction reduction_;
};

class ScatterElements final : public ScatterKernel {
 public:
  explicit ScatterElements(const KernelInit& init)
      : ScatterKernel(init), axis_attr_(init.node.attr_int("axis", 0)) {}

 private:
  bool fits(const Shape& data, const Shape& idx, const Shape& upd) override {
    axis_ = normalize_axis(axis_attr_, static_cast<int64_t>(data.size()), node_);
    return upd == idx && indices_fit_elements(data, idx, axis_);
  }

  void scatter(const Tensor& idx, const Tensor& upd, Tensor& y) const override {
    if (reduction_ == ScatterReduction::kNone) {
      ElementCopier cp(upd, y);
      for_each_element_index(idx, y.shape(), axis_, node_,
                             [&](int64_t i, int64_t dst) { cp(dst, i); });
      return;
    }
    EDGEOPT_DISPATCH_NUMERIC(y.dtype(), node_, {
      T* out = y.data<T>();
      const T* u = upd.data<T>();
      for_each_element_index(idx, y.shape(), axis_, node_, [&](int64_t i, int64_t dst) {
        scatter_combine(reduction_, out[dst], u[i]);
      });
    });
  }

  int64_t axis_attr_;
  int64_t axis_ = 0;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "ScatterElements", 1, INT_MAX, ScatterElements);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "Scatter", 1, 10, ScatterElements);

class ScatterND final : public ScatterKernel {
 public:
  using ScatterKernel::ScatterKernel;

 private:
  bool fits(const Shape& data, const Shape& idx, const Shape& upd) override {
    if (idx.empty() || idx.back() < 1 || idx.back() > static_cast<int64_t>(data.size()))
      return false;
    Shape want(idx.begin(), idx.end() - 1);
    want.insert(want.end(), data.begin() + idx.back(), data.end());
    return want == upd;
  }

  void scatter(const Tensor& idx, const Tensor& upd, Tensor& y) const override {
    const Shape& ys = y.shape();
    const int64_t q = idx.shape().back();
    const int64_t rows = idx.numel() / q;
    const int64_t slice = dims_product(ys, q, ys.size());
    const std::vector<int64_t> st = strides_of(ys);
    ElementCopier cp(upd, y);
    for (int64_t j = 0; j < rows; ++j) {
      int64_t off = 0;
      for (int64_t k = 0; k < q; ++k) {
        const int64_t v = index_along(idx, j * q + k, ys[k], node_);
        off += v * st[k];
      }
      if (reduction_ == ScatterReduction::kNone) {
        cp.copy(off, j * slice, slice);
        continue;
      }
      EDGEOPT_DISPATCH_NUMERIC(y.dtype(), node_, {
        T* out = y.data<T>() + off;
        const T* u = upd.data<T>() + j * slice;
        for (int64_t e = 0; e < slice; ++e) scatter_combine(reduction_, out[e], u[e]);
      });
    }
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "ScatterND", 1, INT_MAX, ScatterND);

}  // namespace
}  // namespace edgeopt::rt::ref
