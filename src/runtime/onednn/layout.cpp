// ToNhwc / ToBlocked / ToNchw (edgeopt.onednn): the layout changes the graph rewrite puts at the
// borders of a channels-last or blocked run (common.h), as oneDNN reorders. ToNhwc:
// [N, C, H, W] → [N, H, W, C] with y[n, h, w, c] = x[n, c, h, w]. ToBlocked (attribute block b):
// [N, C, H, W] → [N, ceil(C/b), H, W, b], padded lanes zero. ToNchw is the inverse of either:
// from a rank-4 input channels-last, from a rank-5 (blocked) one whose attribute `channels`
// gives C. f32, u8 or s8.
#include <memory>

#include "common.h"

namespace edgeopt::rt::onednn {
namespace {

class Layout final : public NodeKernel {
 public:
  Layout(const KernelInit& init, bool to_nhwc)
      : NodeKernel(init), to_nhwc_(to_nhwc), threads_(init.threads) {
    block_ = node_.op_type == "ToBlocked" ? node_.attr_int("block", 0) : 0;
    channels_ = node_.attr_int("channels", 0);
    if (node_.op_type == "ToBlocked") blocked_tag(block_);  // fails on a bad block
  }

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const dt type = to_dt(x.dtype());
    if (type == dt::undef)
      fail_unsupported("node ", node_.describe(), ": layout change of ", dtype_name(x.dtype()),
                       " is not supported");
    const Shape& s = x.shape();
    const bool from_blocked = !to_nhwc_ && x.rank() == 5;
    if (x.rank() != (from_blocked ? 5 : 4))
      fail_input("node ", node_.describe(), ": input must be 4-D");
    if (from_blocked && (channels_ <= (s[1] - 1) * s[4] || channels_ > s[1] * s[4]))
      fail_input("node ", node_.describe(), ": ", channels_, " channels do not fit the blocked ",
                 shape_str(s));
    // NCHW dims of the tensor either way.
    Shape nchw = s;
    if (from_blocked)
      nchw = {s[0], channels_, s[2], s[3]};
    else if (!to_nhwc_)
      nchw = {s[0], s[3], s[1], s[2]};
    // The other side: channels-last or blocked.
    const int64_t block = from_blocked ? s[4] : block_;
    const tag other = block ? blocked_tag(block) : tag::nhwc;
    Shape out = nchw;
    if (block_)
      out = blocked_shape(s[0], s[1], s[2], s[3], block_);
    else if (to_nhwc_)
      out = {s[0], s[2], s[3], s[1]};
    ctx.set_output(0, x.dtype(), out);
    run_threads_ = threads_for_bytes(threads_, 2 * x.numel() * dtype_size(x.dtype()));
    if (x.numel() == 0 || (s == key_ && type == type_)) return;
    set_threads(run_threads_);  // jit kernels fix their thread split at creation
    key_ = s;
    type_ = type;
    const dnnl::memory::desc nchw_md(to_dims(nchw), type, tag::nchw);
    const dnnl::memory::desc other_md(to_dims(nchw), type, other);
    reorder_.make(to_nhwc_ ? nchw_md : other_md, to_nhwc_ ? other_md : nchw_md);
  }

  void run(RunContext& ctx) override { reorder_.run(ctx, run_threads_); }

 private:
  bool to_nhwc_;  // from NCHW (ToNhwc, ToBlocked)
  int64_t block_ = 0, channels_ = 0;
  int threads_ = 1, run_threads_ = 1;
  Shape key_;
  dt type_ = dt::undef;
  InputReorder reorder_;
};

const bool registered = [] {
  auto& reg = KernelRegistry::global();
  reg.add(KernelDef{kProvider, kDomain, "ToNhwc", 1, INT_MAX,
                    [](const KernelInit& i) -> std::unique_ptr<Kernel> {
                      return std::make_unique<Layout>(i, true);
                    },
                    nullptr});
  reg.add(KernelDef{kProvider, kDomain, "ToBlocked", 1, INT_MAX,
                    [](const KernelInit& i) -> std::unique_ptr<Kernel> {
                      return std::make_unique<Layout>(i, true);
                    },
                    nullptr});
  reg.add(KernelDef{kProvider, kDomain, "ToNchw", 1, INT_MAX,
                    [](const KernelInit& i) -> std::unique_ptr<Kernel> {
                      return std::make_unique<Layout>(i, false);
                    },
                    nullptr});
  return true;
}();

}  // namespace
}  // namespace edgeopt::rt::onednn
