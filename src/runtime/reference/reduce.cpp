// Reduce*: reduce the listed axes (all when none are listed, unless noop_with_empty_axes=1,
// which makes the op an identity) and keep them as size-1 dims when keepdims=1.
//   Sum Σx   Mean Σx/n   Max   Min   Prod Πx   L1 Σ|x|   L2 sqrt(Σx²)   SumSquare Σx²
//   LogSum log(Σx)   LogSumExp m + log(Σ exp(x - m)) with m = max x (avoids overflow)
// Axes come from the `axes` attribute, or from input 1 for ReduceSum from opset 13 and for
// the others from opset 18.
#include <cmath>
#include <limits>
#include <type_traits>

#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

// Integers accumulate exactly in int64, floats in double.
template <class T>
using AccOf = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

enum class ReduceOp { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare };

template <ReduceOp kOp>
class Reduce final : public NodeKernel {
 public:
  explicit Reduce(const KernelInit& init)
      : NodeKernel(init),
        axes_from_input_(init.opset >= (kOp == ReduceOp::kSum ? 13 : 18)),
        keepdims_(init.node.attr_int("keepdims", 1) != 0),
        noop_empty_(init.node.attr_int("noop_with_empty_axes", 0) != 0),
        axes_attr_(init.node.attr_ints("axes")) {}
  void infer(InferContext& ctx) override {
    std::vector<int64_t> axes = axes_attr_;
    if (axes_from_input_) axes = ctx.has_input(1) ? input_ints(ctx, 1) : std::vector<int64_t>{};
    const Shape& in = ctx.shape(0);
    const std::vector<char> mask = reduced_mask(in.size(), axes);
    Shape out;
    for (size_t d = 0; d < in.size(); ++d) {
      if (!mask[d])
        out.push_back(in[d]);
      else if (keepdims_)
        out.push_back(1);
    }
    if (ctx.dtype(0) == DType::kString || ctx.dtype(0) == DType::kBool)
      unsupported_dtype(node_, ctx.dtype(0));
    // Two accumulators per output element (LogSumExp keeps the running max too).
    ctx.request_scratch(2 * static_cast<size_t>(shape_numel(out)) * sizeof(double));
    ctx.set_output(0, ctx.dtype(0), out);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    std::vector<int64_t> axes = axes_attr_;
    if (axes_from_input_)
      axes = ctx.has_input(1) ? ctx.input(1).to_i64_vector() : std::vector<int64_t>{};
    const std::vector<char> mask = reduced_mask(x.shape().size(), axes);
    // Output strides seen from the input: 0 along reduced axes.
    Shape kept(x.shape());
    for (size_t d = 0; d < kept.size(); ++d)
      if (mask[d]) kept[d] = 1;
    const std::vector<int64_t> to_out = broadcast_strides(kept, x.shape());
    const int64_t m = y.numel();
    const int64_t count = m ? x.numel() / m : 0;
    EDGEOPT_DISPATCH_NUMERIC(x.dtype(), node_, {
      using Acc = AccOf<T>;
      Acc* acc = static_cast<Acc*>(ctx.scratch);
      Acc* peak = acc + m;
      const T* a = x.data<T>();
      T* b = y.data<T>();
      std::fill_n(acc, m, initial<Acc>());
      if constexpr (kOp == ReduceOp::kLogSumExp) {
        std::fill_n(peak, m, std::numeric_limits<Acc>::lowest());
        for_each_strided(x.shape(), to_out, 0,
                         [&](int64_t i, int64_t o) { peak[o] = std::max<Acc>(peak[o], a[i]); });
        for_each_strided(x.shape(), to_out, 0, [&](int64_t i, int64_t o) {
          acc[o] += static_cast<Acc>(std::exp(static_cast<double>(a[i] - peak[o])));
        });
      } else {
        for_each_strided(x.shape(), to_out, 0,
                         [&](int64_t i, int64_t o) { accumulate(acc[o], static_cast<Acc>(a[i])); });
      }
      for (int64_t o = 0; o < m; ++o) {
        const Acc pk = kOp == ReduceOp::kLogSumExp ? peak[o] : Acc(0);
        b[o] = static_cast<T>(finish(acc[o], pk, count));
      }
    });
  }

 private:
  std::vector<char> reduced_mask(size_t rank, const std::vector<int64_t>& axes) const {
    std::vector<char> mask(rank, axes.empty() && !noop_empty_ ? 1 : 0);
    for (int64_t a : axes) mask[normalize_axis(a, static_cast<int64_t>(rank), node_)] = 1;
    return mask;
  }
  template <class Acc>
  static Acc initial() {
    if constexpr (kOp == ReduceOp::kMax)
      return std::numeric_limits<Acc>::has_infinity ? -std::numeric_limits<Acc>::infinity()
                                                    : std::numeric_limits<Acc>::lowest();
    if constexpr (kOp == ReduceOp::kMin)
      return std::numeric_limits<Acc>::has_infinity ? std::numeric_limits<Acc>::infinity()
                                                    : std::numeric_limits<Acc>::max();
    if constexpr (kOp == ReduceOp::kProd) return Acc(1);
    return Acc(0);
  }
  template <class Acc>
  static void accumulate(Acc& s, Acc v) {
    switch (kOp) {
      case ReduceOp::kMax:
        s = std::max(s, v);
        break;
      case ReduceOp::kMin:
        s = std::min(s, v);
        break;
      case ReduceOp::kProd:
        s *= v;
        break;
      case ReduceOp::kL1:
        s += v < 0 ? -v : v;
        break;
      case ReduceOp::kL2:
      case ReduceOp::kSumSquare:
        s += v * v;
        break;
      default:
        s += v;
        break;
    }
  }
  template <class Acc>
  static double finish(Acc s, Acc peak, int64_t count) {
    const double v = static_cast<double>(s);
    switch (kOp) {
      case ReduceOp::kMean:
        if constexpr (std::is_integral_v<Acc>) return count ? static_cast<double>(s / count) : 0;
        return v / static_cast<double>(count);
      case ReduceOp::kL2:
        return std::sqrt(v);
      case ReduceOp::kLogSum:
        return std::log(v);
      case ReduceOp::kLogSumExp:
        return static_cast<double>(peak) + std::log(v);
      default:
        return v;
    }
  }

  bool axes_from_input_;
  bool keepdims_;
  bool noop_empty_;
  std::vector<int64_t> axes_attr_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "ReduceSum", 1, INT_MAX, Reduce<ReduceOp::kSum>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "ReduceMean", 1, INT_MAX, Reduce<ReduceOp::kMean>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "ReduceMax", 1, INT_MAX, Reduce<ReduceOp::kMax>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "ReduceMin", 1, INT_MAX, Reduce<ReduceOp::kMin>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "ReduceProd", 1, INT_MAX, Reduce<ReduceOp::kProd>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "ReduceL1", 1, INT_MAX, Reduce<ReduceOp::kL1>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "ReduceL2", 1, INT_MAX, Reduce<ReduceOp::kL2>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "ReduceLogSum", 1, INT_MAX, Reduce<ReduceOp::kLogSum>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "ReduceLogSumExp", 1, INT_MAX, Reduce<ReduceOp::kLogSumExp>);
EDGEOPT_REGISTER_KERNEL(kProvider, "", "ReduceSumSquare", 1, INT_MAX, Reduce<ReduceOp::kSumSquare>);

}  // namespace
}  // namespace edgeopt::rt::ref
