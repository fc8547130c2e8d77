// ChannelShuffle (edgeopt.onednn, attribute group g): y[n, c] = x[n, (c mod g) * C/g + c / g]
// for c < C, over [N, C, H, W] — ShuffleNet's Reshape [N, g, C/g, H, W] → Transpose (0, 2, 1,
// 3, 4) → Reshape back, which the provider's rewrite turns into this node (rewrite.cpp). One
// oneDNN shuffle primitive, in the layout the rewrite gave: NCHW (rank 4), channels-last
// (rank 4, attribute channels_last = 1) or blocked (rank 5 [N, C/b, H, W, b], attribute
// channels = C). f32. oneDNN's group_size is the other factor of C: C/g.
#include <unordered_map>

#include "common.h"

namespace edgeopt::rt::onednn {
namespace {

class ChannelShuffle final : public Kernel {
 public:
  explicit ChannelShuffle(const KernelInit& init)
      : node_(init.node),
        group_(init.node.attr_int("group", 0)),
        channels_(init.node.attr_int("channels", 0)),
        channels_last_(init.node.attr_int("channels_last", 0) != 0),
        threads_(init.threads) {
    if (group_ < 1) fail_input("node ", node_.describe(), ": group must be positive");
  }

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    require_f32(node_, x, "input");
    const Shape& s = x.shape();
    const bool blocked = x.rank() == 5;
    if (x.rank() != 4 && !blocked)
      fail_input("node ", node_.describe(), ": input must be 4-D, got ", shape_str(s));
    Shape nchw = s;
    if (blocked)
      nchw = {s[0], channels_, s[2], s[3]};
    else if (channels_last_)
      nchw = {s[0], s[3], s[1], s[2]};
    if (blocked && (channels_ <= (s[1] - 1) * s[4] || channels_ > s[1] * s[4]))
      fail_input("node ", node_.describe(), ": ", channels_, " channels do not fit the blocked ",
                 shape_str(s));
    if (nchw[1] % group_)
      fail_input("node ", node_.describe(), ": ", nchw[1], " channels are not ", group_, " groups");
    ctx.set_output(0, DType::kF32, s);
    if (x.numel() == 0) return;
    run_threads_ = threads_for_bytes(threads_, 8 * x.numel());
    if (s == key_) return;
    set_threads(run_threads_);  // jit kernels fix their thread split at creation
    key_ = s;
    const tag t = blocked ? blocked_tag(s[4]) : (channels_last_ ? tag::nhwc : tag::nchw);
    const dnnl::memory::desc md(to_dims(nchw), dt::f32, t);
    const dnnl::shuffle_forward::primitive_desc pd(
        dnnl::shuffle_forward::desc(dnnl::prop_kind::forward_inference, md, 1,
                                    static_cast<int>(nchw[1] / group_)),
        engine());
    prim_ = dnnl::shuffle_forward(pd);
    src_ = user_memory(md);
    dst_ = user_memory(md);
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.numel() == 0) return;
    set_threads(run_threads_);
    src_.set_data_handle(const_cast<void*>(x.raw()));
    dst_.set_data_handle(ctx.output(0).raw());
    prim_.execute(stream(), {{DNNL_ARG_SRC, src_}, {DNNL_ARG_DST, dst_}});
  }

 private:
  const Node& node_;
  int64_t group_, channels_;
  bool channels_last_;
  int threads_ = 1, run_threads_ = 1;
  Shape key_;
  dnnl::shuffle_forward prim_;
  dnnl::memory src_, dst_;
};

const bool registered = [] {
  KernelRegistry::global().add(KernelDef{kProvider, kDomain, "ChannelShuffle", 1, INT_MAX,
                                         [](const KernelInit& i) -> std::unique_ptr<Kernel> {
                                           return std::make_unique<ChannelShuffle>(i);
                                         },
                                         nullptr});
  return true;
}();

}  // namespace
}  // namespace edgeopt::rt::onednn
