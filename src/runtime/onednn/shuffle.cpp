// ChannelShuffle (edgeopt.onednn, attribute group g): y[n, c] = x[n, (c mod g) * C/g + c / g]
// for c < C, over [N, C, H, W] — ShuffleNet's Reshape [N, g, C/g, H, W] → Transpose (0, 2, 1,
// 3, 4) → Reshape back, which the provider's rewrite turns into this node (rewrite.cpp), in the
// layout the rewrite gave: NCHW (rank 4), channels-last (rank 4, attribute channels_last = 1)
// or blocked (rank 5 [N, C/b, H, W, b], attribute channels = C). f32, u8 or s8. Blocked, it is
// oneDNN's shuffle primitive (jit; group_size is the other factor of C, C/g). oneDNN 2.6 has
// only `ref:any` for the plain layouts (50-70 us for a 37 KB u8 map of ShuffleNet, three times
// the reference provider's Reshape-Transpose-Reshape). NCHW moves whole H x W planes (one
// strided copy, runtime/ops); channels-last transposes each pixel's channels [g, C/g] → [C/g,
// g], for ShuffleNet's g = 2 an interleave of two halves that the compiler vectorizes.
#include "common.h"
#include "runtime/ops/strided_copy.h"

namespace edgeopt::rt::onednn {
namespace {

// Channels-last: out[p, j * g + i] = in[p, i * per + j] for every pixel p, i < g, j < per.
template <class T>
void shuffle_pixels(const T* in, T* out, int64_t pixels, int64_t g, int64_t per) {
  const int64_t c = g * per;
  for (int64_t p = 0; p < pixels; ++p, in += c, out += c) {
    if (g == 2) {
      for (int64_t j = 0; j < per; ++j) {
        out[2 * j] = in[j];
        out[2 * j + 1] = in[per + j];
      }
      continue;
    }
    for (int64_t j = 0; j < per; ++j)
      for (int64_t i = 0; i < g; ++i) out[j * g + i] = in[i * per + j];
  }
}

class ChannelShuffle final : public NodeKernel {
 public:
  explicit ChannelShuffle(const KernelInit& init)
      : NodeKernel(init),
        group_(init.node.attr_int("group", 0)),
        channels_(init.node.attr_int("channels", 0)),
        channels_last_(init.node.attr_int("channels_last", 0) != 0),
        threads_(init.threads) {
    if (group_ < 1) fail_input("node ", node_.describe(), ": group must be positive");
  }

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const dt type = to_dt(x.dtype());
    if (type != dt::f32 && type != dt::u8 && type != dt::s8)
      fail_unsupported("node ", node_.describe(), ": ChannelShuffle of ", dtype_name(x.dtype()),
                       " is not supported");
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
    ctx.set_output(0, x.dtype(), s);
    blocked_ = blocked;
    if (!blocked) {
      const int64_t c = nchw[1], per = c / group_, hw = nchw[2] * nchw[3];
      pixels_ = nchw[0] * hw;
      // NCHW output index (n, j, i, p), j < C/g, i < g, reads channel i * C/g + j.
      copy_out_ = Shape{nchw[0], per, group_, hw};
      copy_strides_ = std::vector<int64_t>{c * hw, hw, per * hw, 1};
      return;
    }
    if (x.numel() == 0) return;
    run_threads_ = threads_for_bytes(threads_, 8 * x.numel());
    if (s != key_ || type != type_) {
      set_threads(run_threads_);  // jit kernels fix their thread split at creation
      key_ = s;
      type_ = type;
      const dnnl::memory::desc md(to_dims(nchw), type, blocked_tag(s[4]));
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      const dnnl::shuffle_forward::primitive_desc pd(
          dnnl::shuffle_forward::desc(dnnl::prop_kind::forward_inference, md, 1,
                                      static_cast<int>(nchw[1] / group_)),
          engine(), attr);
      e_ = SrcDstPrimitive(dnnl::shuffle_forward(pd), md, md, pd.scratchpad_desc());
    }
    ctx.request_scratch(e_.scratch_bytes);
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.numel() == 0) return;
    if (!blocked_ && channels_last_) {
      const int64_t per = x.dim(3) / group_;
      if (dtype_size(x.dtype()) == 1)
        shuffle_pixels(x.data<uint8_t>(), ctx.output(0).data<uint8_t>(), pixels_, group_, per);
      else
        shuffle_pixels(x.data<float>(), ctx.output(0).data<float>(), pixels_, group_, per);
      return;
    }
    if (!blocked_) {
      ops::strided_copy(x.raw(), 0, copy_strides_, copy_out_, dtype_size(x.dtype()),
                        ctx.output(0).raw());
      return;
    }
    set_threads(run_threads_);
    e_.execute(x.raw(), ctx.output(0).raw(), ctx.scratch);
  }

 private:
  int64_t group_, channels_;
  bool channels_last_;
  int threads_ = 1, run_threads_ = 1;
  bool blocked_ = false;
  int64_t pixels_ = 0;  // channels-last: N * H * W
  Shape copy_out_;      // NCHW: the strided copy
  std::vector<int64_t> copy_strides_;
  Shape key_;
  dt type_ = dt::undef;
  SrcDstPrimitive e_;  // blocked: oneDNN's shuffle for the latest shape
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
