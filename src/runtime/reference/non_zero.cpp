// NonZero: the coordinates of the nonzero elements as int64 (rank, count), in row-major
// order. The output shape depends on the data, so the node is planned at run time.
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

bool is_nonzero(const Tensor& t, int64_t i) {
  if (t.dtype() == DType::kString) return !t.strings()[i].empty();
  return t.get_f64(i) != 0;
}

class NonZero final : public Kernel {
 public:
  explicit NonZero(const KernelInit&) {}
  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.value(0);
    int64_t count = 0;
    for (int64_t i = 0; i < x.numel(); ++i) count += is_nonzero(x, i);
    ctx.set_output(0, DType::kI64, {x.rank(), count});
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const int r = x.rank();
    const int64_t count = y.shape()[1];
    int64_t* out = y.data<int64_t>();
    std::vector<int64_t> idx(r, 0);
    int64_t c = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      if (is_nonzero(x, i)) {
        for (int d = 0; d < r; ++d) out[d * count + c] = idx[d];
        ++c;
      }
      for (int d = r - 1; d >= 0; --d) {
        if (++idx[d] < x.shape()[d]) break;
        idx[d] = 0;
      }
    }
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "NonZero", 1, INT_MAX, NonZero);

}  // namespace
}  // namespace edgeopt::rt::ref
