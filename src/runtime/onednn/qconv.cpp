// int8 Conv and Gemm on oneDNN (edgeopt.onednn QConv / QGemm, made by int8_rewrite.cpp):
//
//   acc[m] = sum (x - x_zp) * w[m]            u8/s8 activations × s8 weights, int32 accumulator
//   v      = oscale[m] * (acc + bias[m])       oscale, bias in f32 (bias in accumulator units)
//   v      = post_ops(v)                       requantization steps, activations, residual adds
//   y      = saturate(round_half_even(v) + y_zp)   (u8 / s8 y), or y = v (f32 y)
//
// Inputs: 0 x, 1 w (s8 constant), 2 bias (f32 constant [M], may be absent), 3 oscale (f32
// constant, 1 or M values), then one tensor per "Add" post-op (dst += that tensor's raw
// integer values, same shape as y). Attributes: x_zero_point, y_zero_point, y_dtype (the
// output's DType as an int), post_ops / post_alpha / post_beta (common.h); QConv also takes
// Conv's attributes and works on [N, H, W, C] tensors (2-D) or [N, C, D, H, W] ones (3-D: the
// graph's int8 layout is 2-D only, so the kernel reorders x, y and residuals to and from
// channels-last copies in its scratch, where oneDNN has jit int8 kernels; on NCDHW it has
// none); QGemm computes x [..., K] @ w [K, N] (leading dims of x flattened into rows).
//
// Weights are prepacked once (format_tag::any) with oneDNN's zero-point compensation; x and y
// zero points are given at run time (what the AVX2 int8 kernels implement).
#include <algorithm>
#include <map>
#include <memory>
#include <unordered_map>

#include "common.h"
#include "runtime/ops/window.h"

namespace edgeopt::rt::onednn {
namespace {

enum Input { kX, kW, kBias, kOScale, kFirstAdd };

dt to_dt(DType t) {
  switch (t) {
    case DType::kU8:
      return dt::u8;
    case DType::kI8:
      return dt::s8;
    case DType::kI32:
      return dt::s32;
    case DType::kF32:
      return dt::f32;
    default:
      return dt::undef;
  }
}

// What QConv and QGemm share: constants, zero points, post-ops and the primitive arguments.
class QBase {
 protected:
  explicit QBase(const KernelInit& init) : node_(init.node), threads_(init.threads) {
    const Tensor* w = init.constants.size() > kW ? init.constants[kW] : nullptr;
    const Tensor* s = init.constants.size() > kOScale ? init.constants[kOScale] : nullptr;
    if (!w || w->dtype() != DType::kI8 || !s || s->dtype() != DType::kF32)
      fail_unsupported("node ", node_.describe(), ": needs constant s8 weights and f32 scales");
    w_ = *w;
    oscale_.assign(s->data<float>(), s->data<float>() + s->numel());
    if (init.constants.size() > kBias && init.constants[kBias]) {
      b_ = *init.constants[kBias];
      if (b_.dtype() != DType::kF32)
        fail_unsupported("node ", node_.describe(), ": bias must be f32");
    }
    x_zp_ = static_cast<int32_t>(node_.attr_int("x_zero_point", 0));
    y_zp_ = static_cast<int32_t>(node_.attr_int("y_zero_point", 0));
    y_dtype_ = static_cast<DType>(node_.attr_int("y_dtype", static_cast<int>(DType::kF32)));
    if (to_dt(y_dtype_) == dt::undef || y_dtype_ == DType::kI32)
      fail_unsupported("node ", node_.describe(), ": output dtype ", dtype_name(y_dtype_));
    post_ = parse_post_ops(node_);
    expand_post_ops();
  }

  struct Entry {
    Shape key;
    dnnl::primitive prim;
    dnnl::memory src, dst, weights, bias, scratch, x_zp, y_zp;
    std::vector<dnnl::memory> adds;
    std::unordered_map<int, dnnl::memory> args;
    size_t scratch_bytes = 0;
    // 3-D: src, dst and adds above are channels-last copies in the scratch of the graph's
    // NCDHW tensors.
    Relayout relayout;
  };

  void check_x(const Tensor& x) const {
    if (x.dtype() != DType::kU8 && x.dtype() != DType::kI8)
      fail_unsupported("node ", node_.describe(), ": int8 input must be u8 or s8, got ",
                       dtype_name(x.dtype()));
  }

  void check_adds(const InferContext& ctx, const Shape& out) const {
    for (int k = 0; k < count_adds(post_); ++k) {
      const Tensor& r = ctx.input(kFirstAdd + k);
      if (r.shape() != out || to_dt(r.dtype()) == dt::undef)
        fail_input("node ", node_.describe(), ": residual ", shape_str(r.shape()), " ",
                   dtype_name(r.dtype()), " must have the output shape ", shape_str(out));
    }
  }

  // oneDNN 2.6's AVX2 int8 kernels mix up the parameters of two eltwise post-ops of the same
  // kind (e.g. two eltwise_linear with different alpha: wrong results). So Linear and Clip,
  // when a chain repeats them, become binary post-ops with a scalar operand: x * a + b as
  // mul/add, clip(x, lo, hi) as max/min; Round and Relu (always the same parameters) and kinds
  // used once stay eltwise (grouped convs with a channel tail get binary post-ops wrong).
  void expand_post_ops() {
    int idx = 0;
    int add = 0;
    std::map<std::string, int> uses;
    for (const PostOp& p : post_) ++uses[p.op];
    const auto scalar = [&](dnnl::algorithm alg, float v) {
      steps_.push_back({idx++, alg, -1, v});
    };
    for (const PostOp& p : post_) {
      if (p.op == "Add") {
        steps_.push_back({idx++, dnnl::algorithm::binary_add, add++, 0.f});
      } else if (p.op == "Linear" && uses[p.op] > 1) {
        if (p.alpha != 1.f) scalar(dnnl::algorithm::binary_mul, p.alpha);
        if (p.beta != 0.f) scalar(dnnl::algorithm::binary_add, p.beta);
      } else if (p.op == "Clip" && uses[p.op] > 1) {
        scalar(dnnl::algorithm::binary_max, p.alpha);
        scalar(dnnl::algorithm::binary_min, p.beta);
      } else {
        const Eltwise e = eltwise_of(p.op, p.alpha, p.beta);
        steps_.push_back({idx++, e.alg, -1, 0.f, e.alpha, e.beta, true});
      }
    }
    for (const Step& st : steps_) scalars_.push_back(st.value);
  }

  dnnl::primitive_attr make_attr(const InferContext& ctx, const dnnl::memory::desc& dst_md,
                                 int oscale_mask) const {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    attr.set_output_scales(oscale_.size() > 1 ? oscale_mask : 0, oscale_);
    if (x_zp_) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
    if (y_zp_) attr.set_zero_points(DNNL_ARG_DST, 0, {DNNL_RUNTIME_S32_VAL});
    const int rank = static_cast<int>(dst_md.dims().size());
    const dnnl::memory::desc scalar_md(dims(rank, 1), dt::f32, plain_tag(rank));
    dnnl::post_ops po;
    for (const Step& st : steps_) {
      if (st.eltwise) {
        po.append_eltwise(1.f, st.alg, st.alpha, st.beta);
      } else if (st.add >= 0) {
        const Tensor& r = ctx.input(kFirstAdd + st.add);
        po.append_binary(st.alg,
                         dnnl::memory::desc(dst_md.dims(), to_dt(r.dtype()), strides_of(dst_md)));
      } else {
        po.append_binary(st.alg, scalar_md);
      }
    }
    attr.set_post_ops(po);
    return attr;
  }

  // Prepacks the weights and binds the memories every primitive of this kind takes.
  void finish(Entry& e, const dnnl::memory::desc& src_md, const dnnl::memory::desc& dst_md,
              const dnnl::memory::desc& w_user_md, const dnnl::memory::desc& w_md,
              const dnnl::memory::desc& b_md, const dnnl::memory::desc& scratch_md) {
    // Prepack: reorder the constant weights once into the layout the kernel chose.
    dnnl::memory w_user(w_user_md, engine(), w_.raw());
    e.weights = dnnl::memory(w_md, engine());
    dnnl::reorder(w_user, e.weights).execute(stream(), w_user, e.weights);
    stream().wait();
    e.src = user_memory(src_md);
    e.dst = user_memory(dst_md);
    e.args = {{DNNL_ARG_SRC, e.src}, {DNNL_ARG_WEIGHTS, e.weights}, {DNNL_ARG_DST, e.dst}};
    if (b_.defined()) {
      e.bias = dnnl::memory(b_md, engine(), b_.raw());
      e.args[DNNL_ARG_BIAS] = e.bias;
    }
    const dnnl::memory::desc zp_md({1}, dt::s32, tag::x);
    if (x_zp_) {
      e.x_zp = dnnl::memory(zp_md, engine(), const_cast<int32_t*>(&x_zp_));
      e.args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = e.x_zp;
    }
    if (y_zp_) {
      e.y_zp = dnnl::memory(zp_md, engine(), const_cast<int32_t*>(&y_zp_));
      e.args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST] = e.y_zp;
    }
    attach_scratchpad(e, scratch_md);
  }

  // Creates the int8 convolution primitive (`what`, for the error) for input x with `outputs`
  // output channels, prepacks its weights and caches it under `key`.
  // With `plain` (3-D), the tensors of the graph are in that layout and the primitive's src_md /
  // dst_md are copies in the scratch.
  Entry& build_conv(const InferContext& ctx, const Tensor& x, Shape key, const char* what,
                    const dnnl::memory::desc& src_md, const dnnl::memory::desc& dst_md,
                    const dnnl::memory::desc& w_user_md, int64_t outputs, const dims& strides,
                    const dims& dil, const dims& pad_l, const dims& pad_r, tag plain = tag::undef) {
    const dnnl::memory::desc w_any_md(w_user_md.dims(), dt::s8, tag::any);
    const dnnl::memory::desc b_md =
        b_.defined() ? dnnl::memory::desc({outputs}, dt::f32, tag::a) : dnnl::memory::desc();
    const dnnl::primitive_attr attr = make_attr(ctx, dst_md, 1 << 1);
    dnnl::convolution_forward::primitive_desc pd;
    try {
      pd = dnnl::convolution_forward::primitive_desc(
          dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                          dnnl::algorithm::convolution_direct, src_md, w_any_md,
                                          b_md, dst_md, strides, dil, pad_l, pad_r),
          attr, engine());
    } catch (const dnnl::error& err) {
      fail_unsupported("node ", node_.describe(), ": oneDNN has no int8 ", what, " for input ",
                       shape_str(x.shape()), ": ", err.what());
    }
    auto e = std::make_unique<Entry>();
    e->key = std::move(key);
    e->prim = dnnl::convolution_forward(pd);
    finish(*e, src_md, dst_md, w_user_md, pd.weights_desc(), b_md, pd.scratchpad_desc());
    bind_post_op_args(*e, pd);
    if (plain != tag::undef) {  // the copies in the kernel's layout follow oneDNN's scratchpad
      auto as_plain = [plain](const dnnl::memory::desc& md) {
        return dnnl::memory::desc(md.dims(), md.data_type(), plain);
      };
      std::vector<dnnl::memory::desc> adds_user;
      for (const dnnl::memory& a : e->adds) adds_user.push_back(as_plain(a.get_desc()));
      e->relayout.make(e->scratch_bytes, e->src, e->dst, e->adds, as_plain(src_md),
                       as_plain(dst_md), adds_user);
    }
    return keep_recent(cache_, std::move(e));
  }

  // One user memory per residual ("Add") input and one per scalar operand.
  void bind_post_op_args(Entry& e, const dnnl::primitive_desc_base& pd) {
    for (size_t k = 0; k < steps_.size(); ++k) {
      const Step& st = steps_[k];
      if (st.eltwise) continue;
      const int arg = DNNL_ARG_ATTR_MULTIPLE_POST_OP(st.index) | DNNL_ARG_SRC_1;
      const dnnl::memory::desc md = pd.query_md(dnnl::query::exec_arg_md, arg);
      if (st.add >= 0) {
        e.adds.push_back(user_memory(md));
        e.args[arg] = e.adds.back();
      } else {
        e.args[arg] = dnnl::memory(md, engine(), &scalars_[k]);
      }
    }
  }

  void execute(Entry& e, RunContext& ctx) {
    set_threads(run_threads_);
    e.relayout.bind(ctx, kFirstAdd, e.src, e.dst, e.adds);
    if (e.scratch) e.scratch.set_data_handle(ctx.scratch);
    e.prim.execute(stream(), e.args);
    e.relayout.finish(e.dst);
  }

  Entry* find(const Shape& key) {
    for (auto& e : cache_)
      if (e->key == key) return e.get();
    return nullptr;
  }

  static dims strides_of(const dnnl::memory::desc& md) {
    const dnnl_memory_desc_t& d = md.data;
    return dims(d.format_desc.blocking.strides, d.format_desc.blocking.strides + d.ndims);
  }

  const Node& node_;
  int threads_ = 1;
  int run_threads_ = 1;  // for the shape of the latest infer (threads_for_macs)
  Tensor w_, b_;
  std::vector<float> oscale_;
  int32_t x_zp_ = 0, y_zp_ = 0;
  DType y_dtype_ = DType::kF32;
  std::vector<PostOp> post_;
  // The oneDNN post-op chain: eltwise steps, residual adds (add = input number) and binary ops
  // with a scalar operand (value, stored in scalars_ at the same position).
  struct Step {
    int index = 0;
    dnnl::algorithm alg = dnnl::algorithm::undef;
    int add = -1;
    float value = 0;
    float alpha = 0, beta = 0;
    bool eltwise = false;
  };
  std::vector<Step> steps_;
  std::vector<float> scalars_;
  std::vector<std::unique_ptr<Entry>> cache_;
};

class QConv final : public Kernel, QBase {
 public:
  explicit QConv(const KernelInit& init) : QBase(init), attrs_(ops::parse_window_attrs(init.node)) {
    group_ = node_.attr_int("group", 1);
    if (w_.rank() != 4 && w_.rank() != 5)
      fail_unsupported("node ", node_.describe(), ": QConv must be 2-D or 3-D");
  }

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(kX);
    check_x(x);
    const bool d3 = w_.rank() == 5;
    if (x.rank() != w_.rank())
      fail_input("node ", node_.describe(), ": input ", shape_str(x.shape()), " must be ",
                 w_.rank(), "-D");
    const int64_t n = x.dim(0), c = x.dim(d3 ? 1 : 3), m = w_.dim(0);
    if (group_ < 1 || c % group_ || m % group_ || w_.dim(1) * group_ != c)
      fail_input("node ", node_.describe(), ": ", c, " input channels, group ", group_,
                 " and weights ", shape_str(w_.shape()), " do not match");
    const Shape spatial = d3 ? Shape{x.dim(2), x.dim(3), x.dim(4)} : Shape{x.dim(1), x.dim(2)};
    const Shape kernel(w_.shape().begin() + 2, w_.shape().end());
    const ops::Window win = ops::resolve_window(node_, attrs_, spatial, kernel);
    Shape out = d3 ? Shape{n, m} : Shape{n};
    out.insert(out.end(), win.out.begin(), win.out.end());
    if (!d3) out.push_back(m);
    check_adds(ctx, out);
    ctx.set_output(0, y_dtype_, out);
    if (shape_numel(out) == 0 || x.numel() == 0) return;
    run_threads_ = threads_for(threads_, shape_numel(out) * w_.numel() / m,
                               x.numel() + shape_numel(out) + w_.numel());
    set_threads(run_threads_);  // jit kernels fix their thread split at creation
    Entry* e = find(x.shape());
    if (!e) e = &build(ctx, x, win, n, c, m);
    ctx.request_scratch(e->scratch_bytes);
  }

  void run(RunContext& ctx) override {
    Tensor& y = ctx.output(0);
    if (y.numel() == 0) return;
    Entry* e = find(ctx.input(kX).shape());
    if (!e) fail_input("node ", node_.describe(), ": run() before infer() for this shape");
    execute(*e, ctx);
  }

 private:
  Entry& build(const InferContext& ctx, const Tensor& x, const ops::Window& win, int64_t n,
               int64_t c, int64_t m) {
    const bool d3 = w_.rank() == 5;
    dims src_dims{n, c}, dst_dims{n, m}, strides, dil, pad_l, pad_r;
    for (size_t k = 0; k < win.in.size(); ++k) {
      src_dims.push_back(win.in[k]);
      dst_dims.push_back(win.out[k]);
      strides.push_back(win.stride[k]);
      dil.push_back(win.dilation[k] - 1);  // oneDNN counts the holes of a dilation, ONNX the step
      pad_l.push_back(win.pad_begin[k]);
      pad_r.push_back(win.pad_end[k]);
    }
    const tag channels_last = d3 ? tag::ndhwc : tag::nhwc;
    const dnnl::memory::desc src_md(src_dims, to_dt(x.dtype()), channels_last);
    const dnnl::memory::desc dst_md(dst_dims, to_dt(y_dtype_), channels_last);
    // ONNX weights [M, C/g, k...]; grouped: the same bytes read as [g, M/g, C/g, k...].
    dims w_dims = group_ > 1 ? dims{group_, m / group_, c / group_} : dims{m, c};
    for (int k = 2; k < w_.rank(); ++k) w_dims.push_back(w_.dim(k));
    const tag w_tag =
        d3 ? (group_ > 1 ? tag::goidhw : tag::oidhw) : (group_ > 1 ? tag::goihw : tag::oihw);
    const dnnl::memory::desc w_user_md(w_dims, dt::s8, w_tag);
    return build_conv(ctx, x, x.shape(), "convolution", src_md, dst_md, w_user_md, m, strides, dil,
                      pad_l, pad_r, d3 ? tag::ncdhw : tag::undef);
  }

  ops::WindowAttrs attrs_;
  int64_t group_ = 1;
};

class QGemm final : public Kernel, QBase {
 public:
  explicit QGemm(const KernelInit& init) : QBase(init) {
    if (w_.rank() != 2) fail_unsupported("node ", node_.describe(), ": weights must be 2-D");
    k_ = w_.dim(0);
    n_ = w_.dim(1);
  }

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(kX);
    check_x(x);
    if (x.rank() < 1 || x.dim(-1) != k_)
      fail_input("node ", node_.describe(), ": input ", shape_str(x.shape()), " has no last dim ",
                 k_);
    Shape out(x.shape().begin(), x.shape().end() - 1);
    out.push_back(n_);
    check_adds(ctx, out);
    ctx.set_output(0, y_dtype_, out);
    const int64_t m = shape_numel(out) / std::max<int64_t>(n_, 1);
    if (m == 0 || n_ == 0 || k_ == 0) {
      if (shape_numel(out) && k_ == 0)
        fail_unsupported("node ", node_.describe(), ": K = 0 is not supported");
      return;
    }
    run_threads_ = threads_for(threads_, m * k_ * n_, m * (k_ + n_) + k_ * n_);
    set_threads(run_threads_);  // jit kernels fix their thread split at creation
    Entry* e = find(Shape{m});
    if (!e) e = &build(ctx, x, m);
    ctx.request_scratch(e->scratch_bytes);
  }

  void run(RunContext& ctx) override {
    Tensor& y = ctx.output(0);
    if (y.numel() == 0) return;
    Entry* e = find(Shape{y.numel() / n_});
    if (!e) fail_input("node ", node_.describe(), ": run() before infer() for this shape");
    execute(*e, ctx);
  }

 private:
  // As a 1×1 convolution over M "images" of 1×1 pixels: [M, K] row-major is NHWC [M, K, 1, 1]
  // and [M, N] is NHWC [M, N, 1, 1]; the weights [K, N] are read as [N, K, 1, 1] in iohw order.
  // (oneDNN 2.6's AVX2 1×1 int8 convolution measured 4-9× faster than its int8 matmul for one
  // row with a source zero point.)
  Entry& build(const InferContext& ctx, const Tensor& x, int64_t m) {
    const dnnl::memory::desc src_md({m, k_, 1, 1}, to_dt(x.dtype()), tag::nhwc);
    const dnnl::memory::desc dst_md({m, n_, 1, 1}, to_dt(y_dtype_), tag::nhwc);
    const dnnl::memory::desc w_user_md({n_, k_, 1, 1}, dt::s8, tag::iohw);
    return build_conv(ctx, x, Shape{m}, "1x1 convolution", src_md, dst_md, w_user_md, n_, {1, 1},
                      {0, 0}, {0, 0}, {0, 0});
  }

  int64_t k_ = 0, n_ = 0;
};

EDGEOPT_REGISTER_KERNEL(kProvider, kDomain, "QConv", 1, INT_MAX, QConv);
EDGEOPT_REGISTER_KERNEL(kProvider, kDomain, "QGemm", 1, INT_MAX, QGemm);

}  // namespace
}  // namespace edgeopt::rt::onednn
