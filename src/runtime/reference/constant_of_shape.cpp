// ConstantOfShape: a tensor of the shape given by input 0 (1-D int64) filled with the single
// element of the `value` attribute (float32 zero by default).
#include <algorithm>
#include <cstring>

#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class ConstantOfShape final : public NodeKernel {
 public:
  explicit ConstantOfShape(const KernelInit& init) : NodeKernel(init) {
    const Attribute* a = init.node.attr("value");
    value_ = a ? a->t.tensor : Tensor::scalar<float>(0.0f);
    if (value_.numel() != 1)
      fail_input("node ", node_.describe(), ": value must hold one element, has ", value_.numel());
    if (value_.dtype() == DType::kString) unsupported_dtype(node_, value_.dtype());
  }
  void infer(InferContext& ctx) override {
    const Shape shape = input_ints(ctx, 0);
    for (int64_t d : shape)
      if (d < 0) fail_input("node ", node_.describe(), ": negative dimension ", d);
    ctx.set_output(0, value_.dtype(), shape);
  }
  void run(RunContext& ctx) override {
    Tensor& y = ctx.output(0);
    const size_t es = dtype_size(value_.dtype()), total = y.nbytes();
    if (total == 0) return;
    auto* dst = static_cast<uint8_t*>(y.raw());
    const auto* v = static_cast<const uint8_t*>(value_.raw());
    if (std::all_of(v, v + es, [](uint8_t b) { return b == 0; })) {
      std::memset(dst, 0, total);
      return;
    }
    // One element, then the filled part copied after itself: log2(n) memcpy calls.
    std::memcpy(dst, v, es);
    for (size_t have = es; have < total;) {
      const size_t n = std::min(have, total - have);
      std::memcpy(dst + have, dst, n);
      have += n;
    }
  }

 private:
  Tensor value_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "ConstantOfShape", 1, INT_MAX, ConstantOfShape);

}  // namespace
}  // namespace edgeopt::rt::ref
