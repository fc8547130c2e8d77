// LayerNormalization (opset 17): x is viewed as rows of the dims from `axis` on; per row
//   mean = sum(x) / n, inv_std = 1 / sqrt(sum((x - mean)^2) / n + epsilon),
//   y = (x - mean) * inv_std * scale + B
// with scale and B broadcast to the normalized dims. Optional outputs Mean and InvStdDev have
// x's shape with the normalized dims set to 1 (float, stash_type 1).
#include <cmath>

#include "common.h"

namespace edgeopt::rt::ref {
namespace {

class LayerNormalization final : public NodeKernel {
 public:
  explicit LayerNormalization(const KernelInit& init)
      : NodeKernel(init),
        axis_(init.node.attr_int("axis", -1)),
        epsilon_(init.node.attr_float("epsilon", 1e-5f)) {
    const int64_t stash = init.node.attr_int("stash_type", 1);
    if (stash != 1)
      fail_unsupported("node ", node_.describe(), ": stash_type ", stash, " is not supported");
  }

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::kF32 && x.dtype() != DType::kF64) unsupported_dtype(node_, x.dtype());
    const int64_t axis = normalize_axis(axis_, x.rank(), node_);
    const Shape norm(x.shape().begin() + axis, x.shape().end());
    for (int i = 1; i < 3; ++i) {
      if (!ctx.has_input(i)) {
        if (i == 1) fail_input("node ", node_.describe(), ": input Scale is required");
        continue;
      }
      const Tensor& p = ctx.input(i);
      if (p.dtype() != x.dtype())
        fail_input("node ", node_.describe(), ": '", node_.input(i), "' is ", dtype_name(p.dtype()),
                   " but X is ", dtype_name(x.dtype()));
      // Unidirectional broadcast to the normalized dims.
      bool ok = p.rank() <= static_cast<int>(norm.size());
      for (int d = 0; ok && d < p.rank(); ++d) {
        const int64_t want = norm[norm.size() - p.rank() + d];
        ok = p.shape()[d] == want || p.shape()[d] == 1;
      }
      if (!ok)
        fail_input("node ", node_.describe(), ": '", node_.input(i), "' of shape ",
                   shape_str(p.shape()), " does not broadcast to the normalized shape ",
                   shape_str(norm));
    }
    ctx.set_output(0, x.dtype(), x.shape());
    Shape stat = x.shape();
    for (size_t d = axis; d < stat.size(); ++d) stat[d] = 1;
    ctx.set_output(1, DType::kF32, stat);
    ctx.set_output(2, DType::kF32, stat);
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.shape() != x_shape_) {
      x_shape_ = x.shape();
      norm_.assign(x_shape_.begin() + normalize_axis(axis_, x.rank(), node_), x_shape_.end());
      norm_size_ = 1;
      for (int64_t d : norm_) norm_size_ *= d;
    }
    const int64_t n = norm_size_;
    const int64_t rows = n ? x.numel() / n : 0;
    const Tensor& scale = ctx.input(1);
    const Tensor* bias = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    float* mean_out = ctx.out.size() > 1 && ctx.out[1] ? ctx.output(1).data<float>() : nullptr;
    float* inv_out = ctx.out.size() > 2 && ctx.out[2] ? ctx.output(2).data<float>() : nullptr;
    EDGEOPT_DISPATCH_FLOAT(x.dtype(), node_, {
      const T* xd = x.data<T>();
      T* yd = ctx.output(0).data<T>();
      const T* sd = scale.data<T>();
      const T* bd = bias ? bias->data<T>() : nullptr;
      const int64_t sn = scale.numel();
      const int64_t bn = bias ? bias->numel() : 0;
      for (int64_t r = 0; r < rows; ++r) {
        const T* xr = xd + r * n;
        T* yr = yd + r * n;
        double sum = 0;
        for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(xr[i]);
        const double mean = sum / static_cast<double>(n);
        double sq = 0;
        for (int64_t i = 0; i < n; ++i) {
          const double d = static_cast<double>(xr[i]) - mean;
          sq += d * d;
        }
        const double inv_std = 1.0 / std::sqrt(sq / static_cast<double>(n) + epsilon_);
        for (int64_t i = 0; i < n; ++i) {
          const double s = static_cast<double>(sd[broadcast_index(i, scale, sn)]);
          const double b = bd ? static_cast<double>(bd[broadcast_index(i, *bias, bn)]) : 0.0;
          yr[i] = static_cast<T>((static_cast<double>(xr[i]) - mean) * inv_std * s + b);
        }
        if (mean_out) mean_out[r] = static_cast<float>(mean);
        if (inv_out) inv_out[r] = static_cast<float>(inv_std);
      }
    });
  }

 private:
  // Index into a parameter broadcast (numpy rules, aligned at the end) to the normalized dims
  // for flat normalized position i. The common cases (full shape, one element) need no math.
  int64_t broadcast_index(int64_t i, const Tensor& p, int64_t pn) const {
    if (pn == 1) return 0;
    if (pn == norm_size_) return i;
    int64_t idx = 0, mul = 1;
    for (int d = p.rank() - 1, nd = static_cast<int>(norm_.size()) - 1; d >= 0; --d, --nd) {
      const int64_t digit = i % norm_[nd];
      i /= norm_[nd];
      if (p.shape()[d] != 1) idx += digit * mul;
      mul *= p.shape()[d];
    }
    return idx;
  }

  int64_t axis_;
  float epsilon_;
  Shape x_shape_;  // input shape of the latest run, and its normalized dims
  Shape norm_;
  int64_t norm_size_ = 0;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "LayerNormalization", 17, INT_MAX, LayerNormalization);

}  // namespace
}  // namespace edgeopt::rt::ref
