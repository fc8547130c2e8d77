// ConvTranspose of the edgeopt.onednn domain on oneDNN deconvolution: y = post_ops(deconv(x, w)
// + b), 2-D, constant weights prepacked once per input shape (format_tag::any), in the layout
// the rewrite chose (common.h): blocked [N, ceil(C/b), H, W, b] in and [N, ceil(M/b), OH, OW, b]
// out (attribute `block`), else channels-last [N, H, W, C]. Post-ops as for Conv (post_ops,
// post_alpha, post_beta; "Add" inputs follow the bias slot).
//
// ONNX weights are [C, M/g, kh, kw]: oneDNN's deconvolution weights {M, C, kh, kw} (or {g, M/g,
// C/g, kh, kw}) read in the order i, o, h, w (tag iohw / giohw), so no copy. The output size
// per spatial dim (ONNX):
//   out = s·(in − 1) + output_padding + (k − 1)·d + 1 − pad_begin − pad_end,
// or given (output_shape, auto_pad SAME_*: in·s) with pads total = full − out, the odd unit at
// the end for SAME_UPPER, at the beginning otherwise. oneDNN relates the sizes as
//   out = (in − 1)·s + (k − 1)·d + 1 − pad_l − pad_r,
// so output_padding enters as pad_r = pad_end − output_padding (negative: columns past the
// last input tap, which get only the bias).
#include <memory>

#include "common.h"
#include "runtime/ops/window.h"

namespace edgeopt::rt::onednn {
namespace {

class ConvTranspose final : public NodeKernel {
 public:
  explicit ConvTranspose(const KernelInit& init)
      : NodeKernel(init), attrs_(ops::parse_window_attrs(init.node)) {
    block_ = node_.attr_int("block", 0);
    group_ = node_.attr_int("group", 1);
    output_padding_ = node_.attr_ints("output_padding");
    output_shape_ = node_.attr_ints("output_shape");
    threads_ = init.threads;
    if (!init.constants.at(1) || init.constants[1]->rank() != 4)
      fail_unsupported("node ", node_.describe(),
                       ": onednn ConvTranspose needs 2-D constant weights");
    w_ = *init.constants[1];
    if (init.constants.size() > 2 && init.constants[2])
      b_ = *init.constants[2];
    else if (node_.inputs.size() > 2 && !node_.inputs[2].empty())
      fail_unsupported("node ", node_.describe(), ": onednn ConvTranspose needs a constant bias");
    post_ = parse_post_ops(node_);
    if (group_ < 1 || w_.dim(0) % group_)
      fail_input("node ", node_.describe(), ": group ", group_, " does not divide the ", w_.dim(0),
                 " input channels of weights ", shape_str(w_.shape()));
    if (b_.defined() && (b_.dtype() != DType::kF32 || b_.numel() != w_.dim(1) * group_))
      fail_input("node ", node_.describe(), ": bias must be f32 with ", w_.dim(1) * group_,
                 " elements");
  }

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    require_f32(node_, x, "input");
    require_f32(node_, w_, "weights");
    const bool blocked = block_ > 0;
    const int64_t c = w_.dim(0), m = w_.dim(1) * group_;
    if (x.rank() != (blocked ? 5 : 4) ||
        (blocked &&
         (x.dim(4) != block_ || c > x.dim(1) * block_ || c <= (x.dim(1) - 1) * block_)) ||
        (!blocked && x.dim(3) != c))
      fail_input("node ", node_.describe(), ": input ", shape_str(x.shape()), " and weights ",
                 shape_str(w_.shape()), " do not match");
    const int64_t n = x.dim(0);
    const Shape in = blocked ? Shape{x.dim(2), x.dim(3)} : Shape{x.dim(1), x.dim(2)};
    const ops::Window win = window(in);
    const Shape out = blocked ? blocked_shape(n, m, win.out[0], win.out[1], block_)
                              : Shape{n, win.out[0], win.out[1], m};
    for (int k = 0; k < count_adds(post_); ++k) {
      const Tensor& r = ctx.input(3 + k);
      require_f32(node_, r, "residual");
      if (r.shape() != out)
        fail_input("node ", node_.describe(), ": residual ", shape_str(r.shape()),
                   " must have the output shape ", shape_str(out));
    }
    ctx.set_output(0, DType::kF32, out);
    if (x.numel() == 0 || shape_numel(out) == 0) return;
    run_threads_ = threads_for(threads_, n * in[0] * in[1] * w_.numel(),
                               4 * (x.numel() + shape_numel(out) + w_.numel()));
    set_threads(run_threads_);  // jit kernels fix their thread split at creation
    ctx.request_scratch(entry(x.shape(), win, n, c, m).scratch_bytes);
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    if (y.numel() == 0) return;
    Entry* e = find(x.shape());
    if (!e) fail_input("node ", node_.describe(), ": run() before infer() for this shape");
    set_threads(run_threads_);
    e->src.set_data_handle(const_cast<void*>(x.raw()));
    e->dst.set_data_handle(y.raw());
    for (size_t k = 0; k < e->adds.size(); ++k)
      e->adds[k].set_data_handle(const_cast<void*>(ctx.input(3 + k).raw()));
    if (e->scratch_bytes) e->scratch.set_data_handle(ctx.scratch);
    e->prim.execute(stream(), e->args);
  }

 private:
  struct Entry {
    Shape key;
    dnnl::deconvolution_forward prim;
    dnnl::memory src, dst, weights, bias, scratch;
    std::vector<dnnl::memory> adds;
    std::unordered_map<int, dnnl::memory> args;
    size_t scratch_bytes = 0;
  };

  // The ONNX geometry (see the top); pad_end may end up below output_padding.
  ops::Window window(const Shape& in) const {
    ops::check_window_attrs(node_, attrs_, 2);
    if (!output_padding_.empty() && output_padding_.size() != 2)
      fail_input("node ", node_.describe(), ": output_padding needs 2 values");
    if (!output_shape_.empty() && output_shape_.size() != 2 && output_shape_.size() != 4)
      fail_input("node ", node_.describe(), ": output_shape needs 2 values");
    ops::Window w = ops::resolve_transpose_window(attrs_, in, {w_.dim(2), w_.dim(3)},
                                                  output_padding_, output_shape_);
    for (int d = 0; d < 2; ++d) {
      w.pad_end[d] -= output_padding_.empty() ? 0 : output_padding_[d];  // oneDNN's pad_r
      if (w.out[d] < 1)
        fail_input("node ", node_.describe(), ": output size ", w.out[d], " in spatial dim ", d,
                   " is not positive");
    }
    return w;
  }

  Entry* find(const Shape& key) {
    for (auto& e : cache_)
      if (e->key == key) return e.get();
    return nullptr;
  }

  Entry& entry(const Shape& key, const ops::Window& win, int64_t n, int64_t c, int64_t m) {
    if (Entry* e = find(key)) return *e;
    const tag t = block_ > 0 ? blocked_tag(block_) : tag::nhwc;
    const dnnl::memory::desc src_md({n, c, win.in[0], win.in[1]}, dt::f32, t);
    const dnnl::memory::desc dst_md({n, m, win.out[0], win.out[1]}, dt::f32, t);
    const dims k{w_.dim(2), w_.dim(3)};
    const dims w_dims =
        group_ > 1 ? dims{group_, m / group_, c / group_, k[0], k[1]} : dims{m, c, k[0], k[1]};
    const dnnl::memory::desc w_user_md(w_dims, dt::f32, group_ > 1 ? tag::giohw : tag::iohw);
    const dnnl::memory::desc w_any_md(w_dims, dt::f32, tag::any);
    const dnnl::memory::desc b_md =
        b_.defined() ? dnnl::memory::desc({m}, dt::f32, tag::a) : dnnl::memory::desc();
    const dims strides{win.stride[0], win.stride[1]};
    const dims dil{win.dilation[0] - 1, win.dilation[1] - 1};  // oneDNN counts the holes
    const dims pad_l{win.pad_begin[0], win.pad_begin[1]};
    const dims pad_r{win.pad_end[0], win.pad_end[1]};
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (!post_.empty()) attr.set_post_ops(make_post_ops(node_, post_, dst_md));
    dnnl::deconvolution_forward::primitive_desc pd;
    try {
      pd = dnnl::deconvolution_forward::primitive_desc(
          dnnl::deconvolution_forward::desc(dnnl::prop_kind::forward_inference,
                                            dnnl::algorithm::deconvolution_direct, src_md, w_any_md,
                                            b_md, dst_md, strides, dil, pad_l, pad_r),
          attr, engine());
    } catch (const dnnl::error& err) {
      fail_unsupported("node ", node_.describe(), ": oneDNN has no deconvolution for input ",
                       shape_str(key), ": ", err.what());
    }
    auto e = std::make_unique<Entry>();
    e->key = key;
    e->prim = dnnl::deconvolution_forward(pd);
    // Prepack: reorder the constant weights once into the layout the kernel chose.
    dnnl::memory w_user(w_user_md, engine(), const_cast<void*>(w_.raw()));
    e->weights = dnnl::memory(pd.weights_desc(), engine());
    dnnl::reorder(w_user, e->weights).execute(stream(), w_user, e->weights);
    stream().wait();
    e->src = user_memory(src_md);
    e->dst = user_memory(dst_md);
    e->args = {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_WEIGHTS, e->weights}, {DNNL_ARG_DST, e->dst}};
    if (b_.defined()) {
      e->bias = dnnl::memory(b_md, engine(), const_cast<void*>(b_.raw()));
      e->args[DNNL_ARG_BIAS] = e->bias;
    }
    for (size_t k = 0; k < post_.size(); ++k) {
      if (post_[k].op != "Add") continue;
      e->adds.push_back(user_memory(dst_md));
      e->args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(static_cast<int>(k)) | DNNL_ARG_SRC_1] =
          e->adds.back();
    }
    attach_scratchpad(*e, pd.scratchpad_desc());
    return keep_recent(cache_, std::move(e));
  }

  ops::WindowAttrs attrs_;
  int64_t block_ = 0;  // blocked lanes, 0 for channels-last
  int64_t group_ = 1;
  std::vector<int64_t> output_padding_, output_shape_;
  Tensor w_, b_;
  int threads_ = 1, run_threads_ = 1;
  std::vector<PostOp> post_;
  std::vector<std::unique_ptr<Entry>> cache_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, kDomain, "ConvTranspose", 1, INT_MAX, ConvTranspose);

}  // namespace
}  // namespace edgeopt::rt::onednn
