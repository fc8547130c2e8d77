// EyeLike: a 2-D tensor shaped like the input with ones on diagonal k (column - row = k) and
// zeros elsewhere; dtype from the `dtype` attribute, else the input's.
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class EyeLike final : public NodeKernel {
 public:
  explicit EyeLike(const KernelInit& init)
      : NodeKernel(init),
        dtype_attr_(init.node.attr_int("dtype", 0)),
        k_(init.node.attr_int("k", 0)) {}
  void infer(InferContext& ctx) override {
    if (ctx.shape(0).size() != 2) fail_input("node ", node_.describe(), ": input must be 2-D");
    DType dt = ctx.dtype(0);
    if (dtype_attr_ != 0) {
      if (!dtype_known(static_cast<int32_t>(dtype_attr_)))
        fail_input("node ", node_.describe(), ": unknown dtype ", dtype_attr_);
      dt = static_cast<DType>(dtype_attr_);
    }
    if (dt == DType::kString) unsupported_dtype(node_, dt);
    ctx.set_output(0, dt, ctx.shape(0));
  }
  void run(RunContext& ctx) override {
    Tensor& y = ctx.output(0);
    const int64_t rows = y.dim(0), cols = y.dim(1);
    // The output starts zeroed; set the diagonal to one in the output dtype.
    Tensor one(y.dtype(), {});
    switch (y.dtype()) {
      case DType::kBool:
        one.data<uint8_t>()[0] = 1;
        break;
      case DType::kF16:
        one.data<uint16_t>()[0] = f32_to_f16(1.0f);
        break;
      case DType::kBF16:
        one.data<uint16_t>()[0] = f32_to_bf16(1.0f);
        break;
      default:
        EDGEOPT_DISPATCH_NUMERIC(y.dtype(), node_, { one.data<T>()[0] = T(1); });
    }
    const size_t es = dtype_size(y.dtype());
    auto* out = static_cast<uint8_t*>(y.raw());
    std::memset(out, 0, y.nbytes());
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t j = i + k_;
      if (j >= 0 && j < cols) std::memcpy(out + (i * cols + j) * es, one.raw(), es);
    }
  }

 private:
  int64_t dtype_attr_;
  int64_t k_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "EyeLike", 1, INT_MAX, EyeLike);

}  // namespace
}  // namespace edgeopt::rt::ref
