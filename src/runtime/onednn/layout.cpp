// ToNhwc / ToNchw (edgeopt.onednn): the layout changes the graph rewrite puts at the borders of
// a channels-last run, as oneDNN reorders. ToNhwc: [N, C, H, W] → [N, H, W, C] with
// y[n, h, w, c] = x[n, c, h, w]; ToNchw is the inverse. f32, u8 or s8.
#include <memory>

#include "common.h"

namespace edgeopt::rt::onednn {
namespace {

class Layout final : public Kernel {
 public:
  Layout(const KernelInit& init, bool to_nhwc)
      : node_(init.node), to_nhwc_(to_nhwc), threads_(init.threads) {}

  void infer(InferContext& ctx) override {
    set_threads(threads_);  // jit kernels fix their thread split at creation
    const Tensor& x = ctx.input(0);
    dt type = dt::undef;
    if (x.dtype() == DType::kF32) type = dt::f32;
    else if (x.dtype() == DType::kU8) type = dt::u8;
    else if (x.dtype() == DType::kI8) type = dt::s8;
    else
      fail_unsupported("node ", node_.describe(), ": layout change of ", dtype_name(x.dtype()),
                       " is not supported");
    if (x.rank() != 4) fail_input("node ", node_.describe(), ": input must be 4-D");
    const Shape& s = x.shape();
    // NCHW dims of the tensor either way.
    const Shape nchw = to_nhwc_ ? s : Shape{s[0], s[3], s[1], s[2]};
    ctx.set_output(0, x.dtype(),
                   to_nhwc_ ? Shape{s[0], s[2], s[3], s[1]} : nchw);
    if (x.numel() == 0 || (nchw == key_ && type == type_)) return;
    key_ = nchw;
    type_ = type;
    const dnnl::memory::desc nchw_md(to_dims(nchw), type, tag::nchw);
    const dnnl::memory::desc nhwc_md(to_dims(nchw), type, tag::nhwc);
    src_ = user_memory(to_nhwc_ ? nchw_md : nhwc_md);
    dst_ = user_memory(to_nhwc_ ? nhwc_md : nchw_md);
    prim_ = dnnl::reorder(src_, dst_);
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.numel() == 0) return;
    set_threads(ctx.threads);
    src_.set_data_handle(const_cast<void*>(x.raw()));
    dst_.set_data_handle(ctx.output(0).raw());
    prim_.execute(stream(), src_, dst_);
  }

 private:
  const Node& node_;
  bool to_nhwc_;
  int threads_ = 1;
  Shape key_;
  dt type_ = dt::undef;
  dnnl::memory src_, dst_;
  dnnl::reorder prim_;
};

const bool registered = [] {
  auto& reg = KernelRegistry::global();
  reg.add(KernelDef{kProvider, kDomain, "ToNhwc", 1, INT_MAX,
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
