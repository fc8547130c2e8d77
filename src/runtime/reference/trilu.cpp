// Trilu: keeps the upper (upper=1: column - row >= k) or lower (column - row <= k) triangle of
// every matrix in the last two dims and zeroes the rest; k is the optional input 1.
#include <cstring>

#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class Trilu final : public NodeKernel {
 public:
  explicit Trilu(const KernelInit& init)
      : NodeKernel(init), upper_(init.node.attr_int("upper", 1) != 0) {}
  void infer(InferContext& ctx) override {
    if (ctx.shape(0).size() < 2)
      fail_input("node ", node_.describe(), ": input must have rank >= 2");
    if (ctx.dtype(0) == DType::kString) unsupported_dtype(node_, ctx.dtype(0));
    if (ctx.has_input(1) && ctx.input(1).numel() != 1)
      fail_input("node ", node_.describe(), ": k must be a scalar");
    ctx.set_output(0, ctx.dtype(0), ctx.shape(0));
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    copy_all(x, y);
    const int64_t k = ctx.has_input(1) ? ctx.input(1).get_i64(0) : 0;
    const int64_t rows = x.dim(-2), cols = x.dim(-1);
    const int64_t mats = rows * cols ? x.numel() / (rows * cols) : 0;
    const size_t es = dtype_size(x.dtype());
    auto* out = static_cast<uint8_t*>(y.raw());
    for (int64_t m = 0; m < mats; ++m)
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) {
          const bool keep = upper_ ? j - i >= k : j - i <= k;
          // All-zero bytes are 0 for every numeric dtype.
          if (!keep) std::memset(out + ((m * rows + i) * cols + j) * es, 0, es);
        }
  }

 private:
  bool upper_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Trilu", 1, INT_MAX, Trilu);

}  // namespace
}  // namespace edgeopt::rt::ref
