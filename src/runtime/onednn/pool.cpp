// MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool on oneDNN pooling (f32; MaxPool of the
// edgeopt.onednn domain also u8 / s8, which the int8 rewrite uses where DQ → MaxPool → Q keep
// the same scale and zero point: max commutes with that monotone map, so it is exact).
//
// Default domain: plain NC[D]HW with 1-3 spatial dims. edgeopt.onednn domain: [N, H, W, C], or
// blocked [N, C/b, H, W, b] when the input has rank 5 (common.h; the padded lanes are pooled
// like the others, so the output keeps the input's blocks).
// ONNX's output size (floor or ceil_mode) is reproduced by giving oneDNN the right padding
//   pad_r = (out - 1) * stride + (k - 1) * dilation + 1 - in - pad_l,
// which only adds window positions past the input; max ignores them, and AveragePool without
// count_include_pad excludes them from the divisor. AveragePool with ceil_mode and
// count_include_pad (divisor counts the ONNX pads but not the extra) is left to others.
#include <memory>

#include "common.h"
#include "runtime/ops/window.h"

namespace edgeopt::rt::onednn {
namespace {

class Pool final : public NodeKernel {
 public:
  Pool(const KernelInit& init, bool nhwc)
      : NodeKernel(init), nhwc_(nhwc), attrs_(ops::parse_window_attrs(init.node)) {
    const std::string& op = node_.op_type;
    threads_ = init.threads;
    global_ = op == "GlobalAveragePool" || op == "GlobalMaxPool";
    if (op == "MaxPool" || op == "GlobalMaxPool")
      alg_ = dnnl::algorithm::pooling_max;
    else if (node_.attr_int("count_include_pad", 0))
      alg_ = dnnl::algorithm::pooling_avg_include_padding;
    else
      alg_ = dnnl::algorithm::pooling_avg_exclude_padding;
  }

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const bool int8 = x.dtype() == DType::kU8 || x.dtype() == DType::kI8;
    if (!(int8 && nhwc_ && alg_ == dnnl::algorithm::pooling_max)) require_f32(node_, x, "input");
    type_ = x.dtype() == DType::kU8 ? dt::u8 : (x.dtype() == DType::kI8 ? dt::s8 : dt::f32);
    const int rank = x.rank();
    const bool blocked = nhwc_ && rank == 5;
    if (rank < 3 || rank > 5 || (nhwc_ && rank != 4 && !blocked))
      fail_unsupported("node ", node_.describe(), ": onednn pools 1-3 spatial dims, got input ",
                       shape_str(x.shape()));
    const int64_t n = x.dim(0);
    const int64_t c = blocked ? x.dim(1) * x.dim(4) : (nhwc_ ? x.dim(3) : x.dim(1));
    Shape spatial{x.dim(1), x.dim(2)};  // channels-last
    if (!nhwc_) spatial.assign(x.shape().begin() + 2, x.shape().end());
    if (blocked) spatial = {x.dim(2), x.dim(3)};
    if (blocked && x.dim(4) != 8 && x.dim(4) != 16)
      fail_input("node ", node_.describe(), ": blocked input ", shape_str(x.shape()),
                 " must have 8 or 16 lanes");
    ops::Window win;
    if (global_) {
      win.nd = static_cast<int>(spatial.size());
      win.in = win.kernel = spatial;
      win.out.assign(win.nd, 1);
      win.stride = win.dilation = Shape(win.nd, 1);
      win.pad_begin = win.pad_end = Shape(win.nd, 0);
    } else {
      if (attrs_.kernel_shape.size() != spatial.size())
        fail_input("node ", node_.describe(), ": kernel_shape must have ", spatial.size(),
                   " values");
      win = ops::resolve_window(node_, attrs_, spatial, attrs_.kernel_shape);
    }
    Shape out;
    if (blocked)
      out = blocked_shape(n, c, win.out[0], win.out[1], x.dim(4));
    else if (nhwc_)
      out = {n, win.out[0], win.out[1], c};
    else {
      out = {n, c};
      out.insert(out.end(), win.out.begin(), win.out.end());
    }
    ctx.set_output(0, x.dtype(), out);
    if (x.numel() == 0 || shape_numel(out) == 0) return;
    run_threads_ = threads_for_bytes(
        threads_, (x.numel() + shape_numel(out)) * static_cast<int64_t>(dtype_size(x.dtype())));
    set_threads(run_threads_);  // jit kernels fix their thread split at creation
    const tag t = blocked ? blocked_tag(x.dim(4)) : (nhwc_ ? tag::nhwc : plain_tag(win.nd + 2));
    ctx.request_scratch(entry(x.shape(), win, n, c, t).scratch_bytes);
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    if (x.numel() == 0 || y.numel() == 0) return;
    Entry* e = find(x.shape());
    if (!e) fail_input("node ", node_.describe(), ": run() before infer() for this shape");
    set_threads(run_threads_);
    e->src.set_data_handle(const_cast<void*>(x.raw()));
    e->dst.set_data_handle(y.raw());
    if (e->scratch_bytes) e->scratch.set_data_handle(ctx.scratch);
    e->prim.execute(stream(), e->args);
  }

 private:
  struct Entry {
    Shape key;
    dnnl::pooling_v2_forward prim;
    dnnl::memory src, dst, scratch;
    std::unordered_map<int, dnnl::memory> args;
    size_t scratch_bytes = 0;
  };

  Entry* find(const Shape& key) {
    for (auto& e : cache_)
      if (e->key == key) return e.get();
    return nullptr;
  }

  Entry& entry(const Shape& key, const ops::Window& win, int64_t n, int64_t c, tag t) {
    if (Entry* e = find(key)) return *e;
    dims src_dims{n, c}, dst_dims{n, c}, strides, kernel, dil, pad_l, pad_r;
    for (int d = 0; d < win.nd; ++d) {
      src_dims.push_back(win.in[d]);
      dst_dims.push_back(win.out[d]);
      strides.push_back(win.stride[d]);
      kernel.push_back(win.kernel[d]);
      dil.push_back(win.dilation[d] - 1);
      pad_l.push_back(win.pad_begin[d]);
      const int64_t eff_k = (win.kernel[d] - 1) * win.dilation[d] + 1;
      pad_r.push_back((win.out[d] - 1) * win.stride[d] + eff_k - win.in[d] - win.pad_begin[d]);
    }
    const dnnl::memory::desc src_md(src_dims, type_, t), dst_md(dst_dims, type_, t);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    dnnl::pooling_v2_forward::primitive_desc pd;
    try {
      pd = dnnl::pooling_v2_forward::primitive_desc(
          dnnl::pooling_v2_forward::desc(dnnl::prop_kind::forward_inference, alg_, src_md, dst_md,
                                         strides, kernel, dil, pad_l, pad_r),
          attr, engine());
    } catch (const dnnl::error& err) {
      fail_unsupported("node ", node_.describe(), ": oneDNN has no pooling for input ",
                       shape_str(key), ": ", err.what());
    }
    auto e = std::make_unique<Entry>();
    e->key = key;
    e->prim = dnnl::pooling_v2_forward(pd);
    e->src = user_memory(src_md);
    e->dst = user_memory(dst_md);
    e->args = {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_DST, e->dst}};
    attach_scratchpad(*e, pd.scratchpad_desc());
    return keep_recent(cache_, std::move(e));
  }

  bool nhwc_;
  ops::WindowAttrs attrs_;
  bool global_ = false;
  int threads_ = 1, run_threads_ = 1;
  dnnl::algorithm alg_;
  dt type_ = dt::f32;
  std::vector<std::unique_ptr<Entry>> cache_;
};

template <bool kNhwc>
class PoolAs final : public Kernel {
 public:
  explicit PoolAs(const KernelInit& init) : impl_(init, kNhwc) {}
  void infer(InferContext& ctx) override { impl_.infer(ctx); }
  void run(RunContext& ctx) override { impl_.run(ctx); }

 private:
  Pool impl_;
};

bool pool_accepts(const KernelInit& init) {
  const Node& n = init.node;
  const DType x = init.input_dtypes.empty() ? DType::kUndefined : init.input_dtypes[0];
  const bool int8_max =
      n.domain == kDomain && n.op_type == "MaxPool" && (x == DType::kU8 || x == DType::kI8);
  if (!all_f32(init) && !int8_max) return false;
  if (n.outputs.size() > 1 && !n.outputs[1].empty()) return false;  // MaxPool Indices
  if (n.op_type == "AveragePool" && n.attr_int("ceil_mode", 0) &&
      n.attr_int("count_include_pad", 0))
    return false;
  return true;
}

void register_pool(const char* domain, const char* op, KernelFactory make) {
  KernelRegistry::global().add(KernelDef{kProvider, domain, op, 1, INT_MAX, make, pool_accepts});
}

const bool registered = [] {
  for (const char* op : {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"}) {
    register_pool("", op, [](const KernelInit& i) -> std::unique_ptr<Kernel> {
      return std::make_unique<PoolAs<false>>(i);
    });
    register_pool(kDomain, op, [](const KernelInit& i) -> std::unique_ptr<Kernel> {
      return std::make_unique<PoolAs<true>>(i);
    });
  }
  return true;
}();

}  // namespace
}  // namespace edgeopt::rt::onednn
