// TopK: the k largest (largest=1) or smallest elements along `axis`, sorted, with their int64
// indices; equal values keep the lower index first. k is an attribute in opset 1, input 1
// from opset 10.
#include <algorithm>
#include <numeric>

#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class TopK final : public AxisKernel {
 public:
  explicit TopK(const KernelInit& init)
      : AxisKernel(init, -1),
        opset_(init.opset),
        k_attr_(init.node.attr_int("k", -1)),
        largest_(init.node.attr_int("largest", 1) != 0) {}
  void infer(InferContext& ctx) override {
    const Shape& in = ctx.shape(0);
    const int64_t axis = check_axis(static_cast<int64_t>(in.size()));
    const int64_t k = opset_ >= 10 ? ctx.value(1).get_i64(0) : k_attr_;
    if (k < 0 || k > in[axis])
      fail_input("node ", node_.describe(), ": k = ", k, " is out of range for axis of size ",
                 in[axis]);
    Shape out = in;
    out[axis] = k;
    ctx.set_output(0, ctx.dtype(0), out);
    ctx.set_output(1, DType::kI64, out);
    ctx.request_scratch(static_cast<size_t>(in[axis]) * sizeof(int64_t));
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const AxisLayout l = layout(x.shape());
    const int64_t outer = l.outer, n = l.len, inner = l.inner;
    const int64_t k = ctx.output(0).shape()[axis_];
    int64_t* order = static_cast<int64_t*>(ctx.scratch);
    int64_t* idx_out = ctx.out.size() > 1 && ctx.out[1] ? ctx.output(1).data<int64_t>() : nullptr;
    EDGEOPT_DISPATCH_NUMERIC(x.dtype(), node_, {
      const T* a = x.data<T>();
      T* vals = ctx.output(0).data<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          const T* p = a + o * n * inner + i;
          std::iota(order, order + n, int64_t{0});
          // A total order: value first, then lower index. The k first found in linear time,
          // then sorted (partial_sort's heap costs n log k comparisons: SSDlite's 90 TopKs of
          // 300 out of 3234 scores each).
          auto before = [&](int64_t l, int64_t r) {
            const T lv = p[l * inner];
            const T rv = p[r * inner];
            if (lv != rv) return largest_ ? lv > rv : lv < rv;
            return l < r;
          };
          if (k < n) std::nth_element(order, order + k, order + n, before);
          std::sort(order, order + k, before);
          for (int64_t j = 0; j < k; ++j) {
            const int64_t at = (o * k + j) * inner + i;
            vals[at] = p[order[j] * inner];
            if (idx_out) idx_out[at] = order[j];
          }
        }
    });
  }

 private:
  int64_t opset_;
  int64_t k_attr_;
  bool largest_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "TopK", 1, INT_MAX, TopK);

}  // namespace
}  // namespace edgeopt::rt::ref
