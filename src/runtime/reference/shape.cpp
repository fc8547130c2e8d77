// Shape: the input's dimensions as a 1-D int64 tensor, optionally only dims [start, end)
// (opset 15; negative values count from the end, both clamped to [0, rank]). The value is
// given while planning so that shape arithmetic downstream folds to constants.
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class ShapeOp final : public Kernel {
 public:
  explicit ShapeOp(const KernelInit& init)
      : start_(init.node.attr_int("start", 0)),
        end_(init.node.has_attr("end") ? init.node.attr_int("end", 0) : INT64_MAX) {}
  void infer(InferContext& ctx) override { ctx.set_output_value(0, dims(ctx.shape(0))); }
  void run(RunContext& ctx) override { copy_all(dims(ctx.input(0).shape()), ctx.output(0)); }

 private:
  Tensor dims(const Shape& in) const {
    const int64_t r = static_cast<int64_t>(in.size());
    auto clamp = [r](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + r : v, 0, r); };
    const int64_t s = clamp(start_), e = clamp(end_);
    const std::vector<int64_t> d(in.begin() + s, in.begin() + std::max(s, e));
    return Tensor::from_vector<int64_t>(d, {static_cast<int64_t>(d.size())});
  }

  int64_t start_, end_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Shape", 1, INT_MAX, ShapeOp);

}  // namespace
}  // namespace edgeopt::rt::ref
