// Transpose: out[i0, ..., in-1] = in[j] with j[perm[k]] = i[k] (default perm reverses axes).
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

class Transpose final : public NodeKernel {
 public:
  explicit Transpose(const KernelInit& init)
      : NodeKernel(init), perm_(init.node.attr_ints("perm")) {}
  void infer(InferContext& ctx) override {
    const Shape& in = ctx.shape(0);
    const int64_t r = static_cast<int64_t>(in.size());
    perm_used_ = perm_;
    if (perm_used_.empty())
      for (int64_t d = r - 1; d >= 0; --d) perm_used_.push_back(d);
    if (static_cast<int64_t>(perm_used_.size()) != r)
      fail_input("node ", node_.describe(), ": perm has ", perm_used_.size(), " entries for rank ",
                 r);
    std::vector<char> seen(r, 0);
    Shape out(r);
    for (int64_t k = 0; k < r; ++k) {
      int64_t& p = perm_used_[k];
      p = normalize_axis(p, r, node_);
      if (seen[p]++) fail_input("node ", node_.describe(), ": perm repeats axis ", p);
      out[k] = in[p];
    }
    ctx.set_output(0, ctx.dtype(0), out);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    // Walking the output in order, output axis k steps the input by stride[perm[k]].
    const std::vector<int64_t> st = strides_of(x.shape());
    std::vector<int64_t> in_strides(perm_used_.size());
    for (size_t k = 0; k < perm_used_.size(); ++k) in_strides[k] = st[perm_used_[k]];
    copy_view(x, 0, in_strides, y);
  }

 private:
  std::vector<int64_t> perm_;
  std::vector<int64_t> perm_used_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Transpose", 1, INT_MAX, Transpose);

}  // namespace
}  // namespace edgeopt::rt::ref
