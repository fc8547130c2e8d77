// Split: cuts the input along `axis` into consecutive parts. Part sizes come from the `split`
// attribute (opset < 13) or input 1 (opset >= 13); without them the axis is divided into
// num_outputs parts, equal except for a smaller last part (opset 18 num_outputs).
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class Split final : public AxisKernel {
 public:
  explicit Split(const KernelInit& init)
      : AxisKernel(init, 0), opset_(init.opset), split_attr_(init.node.attr_ints("split")) {}
  void infer(InferContext& ctx) override {
    const Shape& in = ctx.shape(0);
    std::vector<int64_t> given = split_attr_;
    if (opset_ >= 13) given = ctx.has_input(1) ? input_ints(ctx, 1) : std::vector<int64_t>{};
    const int64_t axis = check_axis(static_cast<int64_t>(in.size()));
    const std::vector<int64_t> sizes = part_sizes(in[axis], given, ctx.num_outputs());
    for (size_t i = 0; i < sizes.size(); ++i) {
      Shape s = in;
      s[axis] = sizes[i];
      ctx.set_output(i, ctx.dtype(0), s);
    }
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const AxisLayout l = layout(x.shape());
    std::vector<int64_t> given = split_attr_;
    if (opset_ >= 13)
      given = ctx.has_input(1) ? ctx.input(1).to_i64_vector() : std::vector<int64_t>{};
    const std::vector<int64_t> sizes = part_sizes(l.len, given, ctx.out.size());
    // View the input as (outer, axis * inner): output i takes a block of sizes[i] * inner
    // elements from every outer row.
    const int64_t outer = l.outer, inner = l.inner, in_block = l.len * inner;
    int64_t col = 0;
    for (size_t i = 0; i < ctx.out.size(); ++i) {
      const int64_t block = sizes[i] * inner;
      if (ctx.out[i]) {
        ElementCopier cp(x, ctx.output(i));
        for (int64_t o = 0; o < outer; ++o) cp.copy(o * block, o * in_block + col, block);
      }
      col += block;
    }
  }

 private:
  std::vector<int64_t> part_sizes(int64_t len, std::vector<int64_t> sizes, size_t outputs) const {
    const int64_t n = static_cast<int64_t>(outputs);
    if (n == 0) fail_input("node ", node_.describe(), ": no outputs");
    if (sizes.empty()) {
      // ceil(len / n) per part; the last part takes what is left.
      const int64_t part = (len + n - 1) / n;
      if (opset_ < 18 && len % n != 0)
        fail_input("node ", node_.describe(), ": axis length ", len, " is not divisible into ", n,
                   " outputs");
      for (int64_t i = 0; i < n; ++i)
        sizes.push_back(std::max<int64_t>(0, std::min(part, len - i * part)));
    }
    int64_t total = 0;
    for (int64_t s : sizes) {
      if (s < 0) fail_input("node ", node_.describe(), ": negative split size ", s);
      total += s;
    }
    if (static_cast<int64_t>(sizes.size()) != n || total != len)
      fail_input("node ", node_.describe(), ": split sizes (", sizes.size(), " parts, sum ", total,
                 ") do not match ", n, " outputs and axis length ", len);
    return sizes;
  }

  int64_t opset_;
  std::vector<int64_t> split_attr_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Split", 1, INT_MAX, Split);

}  // namespace
}  // namespace edgeopt::rt::ref
