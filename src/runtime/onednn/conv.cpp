// Conv on oneDNN: y = post_ops(conv(x, w) + b), weights prepacked once per input shape into the
// blocked layout the chosen kernel wants (format_tag::any), user scratchpad from the session.
//
// Default domain: ONNX Conv with 1-3 spatial dims in the plain NC[D]HW layout.
// edgeopt.onednn domain: 2-D Conv with fused post-ops (post_ops, post_alpha, post_beta
// attributes; each "Add" post-op reads the next input after the bias), in the layout the rewrite
// chose (common.h): without attribute `block`, [N, H, W, C] in and out; with `block` b, a blocked
// output [N, ceil(M/b), OH, OW, b] from a blocked input (rank 5) or a plain NCHW one (rank 4,
// used where C < b, e.g. an RGB stem, which oneDNN reads directly).
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>

#include "common.h"
#include "runtime/ops/window.h"
#include "winograd.h"

namespace edgeopt::rt::onednn {
namespace {

class Conv final : public NodeKernel {
 public:
  Conv(const KernelInit& init, bool nhwc)
      : NodeKernel(init), nhwc_(nhwc), attrs_(ops::parse_window_attrs(init.node)) {
    if (nhwc_) block_ = node_.attr_int("block", 0);
    if (block_ < 0) fail_input("node ", node_.describe(), ": bad block ", block_);
    // Weights and bias are normally constants (prepacked once); default-domain nodes may also
    // take them as inputs (then reordered on every run).
    if (init.constants.at(1)) w_ = *init.constants[1];
    if (init.constants.size() > 2 && init.constants[2]) b_ = *init.constants[2];
    dyn_bias_ = !b_.defined() && init.node.inputs.size() > 2 && !init.node.inputs[2].empty();
    if (nhwc_ && (!w_.defined() || dyn_bias_))
      fail_unsupported("node ", node_.describe(), ": NHWC conv needs constant weights");
    group_ = node_.attr_int("group", 1);
    threads_ = init.threads;
    winograd_ = init.winograd;
    post_ = parse_post_ops(node_);
    // A SiLU ending the chain runs as a pass of our own over the output (silu.cpp: a third of
    // oneDNN's fused swish cost); earlier entries keep their indices, which Add inputs use.
    silu_tail_ = !post_.empty() && post_.back().op == "SiLU";
    if (silu_tail_) post_.pop_back();
    if (nhwc_ && w_.rank() != 4)
      fail_unsupported("node ", node_.describe(), ": NHWC conv must be 2-D");
  }

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& w = w_.defined() ? w_ : ctx.input(1);
    const Tensor* b = b_.defined() ? &b_ : (dyn_bias_ ? &ctx.input(2) : nullptr);
    require_f32(node_, x, "input");
    require_f32(node_, w, "weights");
    const int rank = w.rank();
    // Layout of the activations: plain NC[D]HW, channels-last or blocked (see the top).
    const bool blocked_in = block_ > 0 && x.rank() == 5;
    const bool plain_in = !nhwc_ || (block_ > 0 && x.rank() == 4);
    if (x.rank() != rank + (blocked_in ? 1 : 0) || rank < 3 || rank > 5 ||
        (blocked_in && (x.dim(4) != block_ || w.dim(1) * group_ > x.dim(1) * block_ ||
                        w.dim(1) * group_ <= (x.dim(1) - 1) * block_)))
      fail_input("node ", node_.describe(), ": input ", shape_str(x.shape()), " and weights ",
                 shape_str(w.shape()), " do not match");
    const int64_t n = x.dim(0);
    const int64_t c = blocked_in ? w.dim(1) * group_ : (plain_in ? x.dim(1) : x.dim(3));
    Shape spatial{x.dim(1), x.dim(2)};  // channels-last
    if (plain_in || blocked_in) spatial.assign(x.shape().begin() + 2, x.shape().begin() + rank);
    const int64_t m = w.dim(0);
    if (group_ < 1 || c % group_ || m % group_ || w.dim(1) * group_ != c)
      fail_input("node ", node_.describe(), ": ", c, " input channels, group ", group_,
                 " and weights ", shape_str(w.shape()), " do not match");
    if (b && (b->numel() != m || b->dtype() != DType::kF32))
      fail_input("node ", node_.describe(), ": bias must be f32 with ", m, " elements");
    const Shape kernel(w.shape().begin() + 2, w.shape().end());
    const ops::Window win = ops::resolve_window(node_, attrs_, spatial, kernel);
    Shape out;
    if (block_ > 0)
      out = blocked_shape(n, m, win.out[0], win.out[1], block_);
    else if (nhwc_)
      out = {n, win.out[0], win.out[1], m};
    else {
      out = {n, m};
      out.insert(out.end(), win.out.begin(), win.out.end());
    }
    const size_t extra = 3;  // Add post-op inputs follow the (possibly empty) bias slot
    for (int k = 0; k < count_adds(post_); ++k) {
      const Tensor& r = ctx.input(extra + k);
      require_f32(node_, r, "residual");
      if (r.shape() != out)
        fail_input("node ", node_.describe(), ": residual ", shape_str(r.shape()),
                   " must have the output shape ", shape_str(out));
    }
    ctx.set_output(0, DType::kF32, out);
    if (shape_numel(out) == 0 || x.numel() == 0) return;
    run_threads_ = threads_for(threads_, n * shape_numel(win.out) * w.numel(),
                               4 * (x.numel() + shape_numel(out) + w.numel()));
    set_threads(run_threads_);  // jit kernels fix their thread split at creation
    Shape key = x.shape();
    key.insert(key.end(), w.shape().begin(), w.shape().end());
    if (blocked_in && use_winograd(c, m, win)) {
      Entry& e = winograd_entry(key, n, win);
      ctx.request_scratch(e.scratch_bytes);
      return;
    }
    const tag src_tag = blocked_in ? blocked_tag(block_) : (plain_in ? plain_tag(rank) : tag::nhwc);
    const tag dst_tag = block_ > 0 ? blocked_tag(block_) : (nhwc_ ? tag::nhwc : plain_tag(rank));
    Entry& e = entry(key, w, b != nullptr, win, n, c, m, src_tag, dst_tag,
                     blocked_in && use_onednn_winograd(n, c, m, win));
    ctx.request_scratch(e.scratch_bytes);
  }

  bool owns_constant(size_t input) const override {
    return (input == 1 && w_.defined()) || (input == 2 && b_.defined());
  }

  // With no other shape to come, the plain weights go as soon as they are prepacked, in any
  // layout (also the Winograd ones, which a reorder cannot read back).
  void input_shapes_fixed() override { shapes_fixed_ = true; }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    if (y.numel() == 0) return;
    if (x.numel() == 0) {  // empty spatial input: only padding, conv of zeros
      std::fill_n(y.data<float>(), y.numel(), 0.f);
      return;
    }
    const Tensor& w = w_.defined() ? w_ : ctx.input(1);
    Shape key = x.shape();
    key.insert(key.end(), w.shape().begin(), w.shape().end());
    Entry* e = find(key);
    if (!e) fail_input("node ", node_.describe(), ": run() before infer() for this shape");
    if (e->winograd) {
      std::vector<const float*>& adds = e->add_ptrs;
      for (size_t k = 0; k < adds.size(); ++k) adds[k] = ctx.input(3 + k).data<float>();
      wino_->run(e->plan, x.data<float>(), y.data<float>(), adds, ctx.scratch, run_threads_);
      if (silu_tail_) silu_inplace(y.data<float>(), y.numel(), run_threads_);
      return;
    }
    set_threads(run_threads_);
    if (!w_.defined()) {  // weights given as an input: bring them to the kernel's layout now
      e->w_user.set_data_handle(const_cast<void*>(w.raw()));
      if (e->w_reorder) e->w_reorder.execute(stream(), e->w_user, e->weights);
    }
    if (dyn_bias_) e->bias.set_data_handle(const_cast<void*>(ctx.input(2).raw()));
    std::unordered_map<int, dnnl::memory>& args = e->args;
    e->relayout.bind(ctx, 3, e->src, e->dst, e->adds);  // residuals follow W and B
    if (e->sum_residual) {  // the sum post-op adds what dst holds: start it as the residual
      const float* r = ctx.input(3).data<float>();
      float* out = y.data<float>();
      parallel_for(run_threads_, y.numel(), [&](int64_t lo, int64_t hi) {
        std::memcpy(out + lo, r + lo, (hi - lo) * sizeof(float));
      });
    }
    if (e->scratch) e->scratch.set_data_handle(ctx.scratch);
    e->prim.execute(stream(), args);
    e->relayout.finish(e->dst);
    if (silu_tail_) silu_inplace(y.data<float>(), y.numel(), run_threads_);
  }

 private:
  struct Entry {
    Shape key;
    dnnl::convolution_forward prim;
    dnnl::memory src, dst, weights, bias, scratch, w_user;
    dnnl::reorder w_reorder;  // only for weights given as an input
    std::vector<dnnl::memory> adds;
    std::unordered_map<int, dnnl::memory> args;
    size_t scratch_bytes = 0;
    bool winograd = false;      // run by wino_ with `plan` instead of a oneDNN primitive
    bool sum_residual = false;  // oneDNN Winograd: the Add post-op runs as sum over dst
    Winograd::Plan plan;
    std::vector<const float*> add_ptrs;
    // On when the primitive runs in another layout than the graph's (relayout_tags): src, dst
    // and adds above are then its copies in the scratch.
    Relayout relayout;
    bool relaid = false;  // while building: the layout chosen is not the graph's
  };

  // oneDNN 2.6 has no jit kernel for grouped convs whose channels per group are not a multiple
  // of the block (8 per group in 16-lane blocks: RegNetY, ResNeXt's 4): it runs them on
  // `ref:any`. Grouped convs in the plain layout get `gemm:jit`, one small GEMM per group, and
  // 3-D convs (plain NCDHW: the layout rewrite is 2-D only) im2col + GEMM. Channels-last has
  // jit kernels for all of them on AVX-512. `OMP_NUM_THREADS=1 build/onednn_conv_layouts 21
  // edge` (ms, median of 21 alternating reps, AVX-512, channels-last / plain / 16-lane blocks):
  //   g13 104->104 3x3 @28 (RegNetY)       0.216 / 0.688 / 241
  //   g8 16->16 3x3 @28                     0.048 / 0.121 / 9.8
  //   1-D depthwise 258 k5 w8 (Silero VAD)  0.011 / 0.068 / 0.47
  //   3-D 64->64 3x3x3 4x28 (r3d_18)        3.29 / 8.98 / 3.30
  // A reorder of such a map costs about what the conv does on channels-last, so these tags are
  // tried, in this order, only where the graph's layout gets `ref` or (grouped or 3-D) GEMMs.
  static std::vector<tag> relayout_tags(int rank) {
    const tag channels_last = rank == 3 ? tag::nwc : (rank == 4 ? tag::nhwc : tag::ndhwc);
    return {channels_last, plain_tag(rank)};
  }
  // How good oneDNN's choice is for the rule above: 0 reference, 1 GEMM-based for a grouped or
  // 3-D conv (`nd` spatial dims), 2 a direct jit kernel (or GEMM where it is the right one).
  int quality(const dnnl::convolution_forward::primitive_desc& pd, int nd) const {
    if (is_reference(pd)) return 0;
    const bool gemm = std::string(pd.impl_info_str()).find("gemm") != std::string::npos;
    return gemm && (group_ > 1 || nd == 3) ? 1 : 2;
  }

  // Winograd F(4x4, 3x3) (winograd.cpp) instead of oneDNN's direct conv: blocked 8-lane input,
  // 3x3, stride 1, dilation 1, group 1, constant weights and bias, post-ops it fuses, AVX2+FMA.
  // SessionOptions::winograd kOff turns it off, kAll takes it for every such conv.
  // Otherwise the rule below, from bench/winograd_conv (1 thread, conv + bias + Relu, oneDNN
  // 2.6 jit:avx2 direct vs Winograd, median of 5 alternating rounds, ms, ratio wino/direct):
  //   64->64 @56 2.48 / 0.95 (0.38)   128->128 @28 2.51 / 0.90 (0.36)
  //   256->256 @14 2.63 / 1.33 (0.51) 512->512 @7 3.45 / 5.07 (1.47)  16->64 @55 0.65 / 0.47
  //   32->128 @27 0.67 / 0.32 (0.48)  48->192 @13 0.31 / 0.18 (0.58)  16->16 @14 (0.78)
  //   32->32 @7 (0.66)                64->64 @7 (0.71)                256->256 @7 (0.65)
  // It wins wherever the transformed weights (36/9 = 4x the 3x3 ones) stay in the L3: 512->512
  // (37.7 MB of them) loses at 7x7, where 4 tiles cannot hide streaming them from DRAM, and
  // would also cost 4x the memory of resnet18's layer4. So: transformed weights <= 16 MiB, and
  // at least half the multiplies of the direct conv (36 per 4x4 tile vs 9 per pixel: maps of
  // 5x5 or 6x6 gain nothing, 7x7 does). The cap keeps resnet18's peak RSS at 107.6 MiB, 0.47x
  // ONNX Runtime's 229 (ONEDNN_MAX_CPU_ISA=AVX2 on the AVX-512 host, README).
  bool use_winograd(int64_t c, int64_t m, const ops::Window& win) const {
    if (block_ != 8 || group_ != 1 || win.nd != 2 || !w_.defined() || dyn_bias_) return false;
    for (int d = 0; d < 2; ++d)
      if (win.kernel[d] != 3 || win.stride[d] != 1 || win.dilation[d] != 1) return false;
    if (!Winograd::supports(post_) || !Winograd::available()) return false;
    if (winograd_ != WinogradMode::kAuto) return winograd_ == WinogradMode::kAll;
    const int64_t u_bytes = 36 * 4 * ((c + 7) / 8 * 8) * ((m + 7) / 8 * 8);
    const int64_t tiles = (win.out[0] + 3) / 4 * ((win.out[1] + 3) / 4);
    return u_bytes <= (int64_t{16} << 20) && 9 * win.out[0] * win.out[1] >= 2 * 36 * tiles;
  }

  // oneDNN's own Winograd (jit_fp32_wino_2x3 / jit_wino_4x3, AVX-512 only, so 16-lane blocks)
  // for the same kind of conv: oneDNN never picks it by itself (convolution_auto stays direct)
  // and fuses only Relu and sum, so a residual Add becomes a sum over a dst copied from the
  // residual. From bench/winograd_conv (conv + bias + Relu, oneDNN 2.6 avx512_core, median of 5
  // alternating rounds, ratio Winograd / direct time at 1 | 2 threads; MACs in millions):
  //   64->64 @56 (116M) 0.50 | 0.56   128->128 @28 0.38 | 0.49   256->256 @14 0.46 | 0.57
  //   512->512 @7 0.62 | 0.65   16->64 @55 (28M) 0.66 | 0.82   32->128 @27 (27M) 0.56 | 0.66
  //   48->192 @13 (14M) 0.64 | 0.99   64->256 @13 (25M) 0.87 | 1.03
  //   128->128 @14 (29M) 0.73 | 0.88   64->64 @14 (7M) 0.57 | 1.05
  //   128->128 @7 (7M) 0.69 | 1.13    64->64 @7 (2M) 0.69 | 1.74
  // It never loses at 1 thread; split over 2, small convs lose to the extra transform passes'
  // synchronization. So: at least 13M MACs per thread.
  // Memory: oneDNN 2.6 picks 2x3 for every resnet18 conv, 16 floats per 3x3 kernel instead of 9,
  // i.e. 28 extra bytes per (c, m) pair: 28 / (9 * OH * OW) bytes per MAC, whatever the
  // channels. Measured on resnet18 (edgeopt bench --profile, 1 thread, AVX-512 host under
  // load, median of 5 alternating rounds; ms per run summed over each layer's stride-1 3x3
  // convs, direct -> Winograd; extra weight MB; bytes per MAC):
  //   layer1 64@56  8.03 -> 4.63  0.46 MB  0.001     layer2 128@28 5.75 -> 3.45  1.4 MB  0.004
  //   layer3 256@14 6.85 -> 3.53  5.5 MB   0.016     layer4 512@7  9.14 -> 5.95  22 MB   0.063
  // Layer4 buys 0.15 ms per extra MB, layer3 0.6, layer2 1.7, layer1 7.4; its weights also come
  // last in the load, when oneDNN's reorder transforms them through a temporary of their full
  // Winograd size: peak RSS 128 MiB with it (0.56x ONNX Runtime's 229), 96 MiB without (0.42x),
  // for 12% more latency (bench/peer_bench-style rounds, README). So: at most 1/32 extra byte
  // per MAC, i.e. maps of at least 100 outputs per image (batches amortize the weights).
  bool use_onednn_winograd(int64_t n, int64_t c, int64_t m, const ops::Window& win) const {
    if (block_ != 16 || group_ != 1 || win.nd != 2 || !w_.defined() || dyn_bias_) return false;
    for (int d = 0; d < 2; ++d)
      if (win.kernel[d] != 3 || win.stride[d] != 1 || win.dilation[d] != 1) return false;
    int adds = 0;
    for (const PostOp& p : post_) {
      if (p.op == "Add")
        ++adds;
      else if (p.op != "Relu")
        return false;
    }
    if (adds > 1) return false;
    if (winograd_ != WinogradMode::kAuto) return winograd_ == WinogradMode::kAll;
    const int64_t macs = 9 * n * c * m * win.out[0] * win.out[1];
    const int64_t extra_bytes = 7 * 4 * c * m;  // 2x3: 16 floats per 3x3 kernel instead of 9
    return macs >= int64_t{13'000'000} * std::max(threads_, 1) && 32 * extra_bytes <= macs;
  }

  Entry& winograd_entry(const Shape& key, int64_t n, const ops::Window& win) {
    if (Entry* e = find(key)) return *e;
    if (!wino_) {
      const Tensor w = plain_weights(w_, w_source_, plain_md(w_dims(w_.dim(1) * group_)));
      wino_ = std::make_unique<Winograd>(w.data<float>(), b_.defined() ? b_.data<float>() : nullptr,
                                         w_.dim(0), w_.dim(1), post_);
    }
    auto e = std::make_unique<Entry>();
    e->key = key;
    e->winograd = true;
    release_plain(w_, {}, w_source_, shapes_fixed_);  // u_ holds them now
    e->plan = wino_->plan(n, win.in[0], win.in[1], win.out[0], win.out[1], win.pad_begin[0],
                          win.pad_begin[1], threads_);
    e->scratch_bytes = e->plan.scratch_bytes;
    e->add_ptrs.assign(count_adds(post_), nullptr);
    return keep_recent(cache_, std::move(e));
  }

  Entry* find(const Shape& key) {
    for (auto& e : cache_)
      if (e->key == key) return e.get();
    return nullptr;
  }

  Entry& entry(const Shape& key, const Tensor& w, bool has_bias, const ops::Window& win, int64_t n,
               int64_t c, int64_t m, tag src_tag, tag dst_tag, bool winograd) {
    if (Entry* e = find(key)) return *e;
    const int nd = win.nd;
    dims src_dims{n, c}, dst_dims{n, m}, strides, dil, pad_l, pad_r;
    for (int d = 0; d < nd; ++d) {
      src_dims.push_back(win.in[d]);
      dst_dims.push_back(win.out[d]);
      strides.push_back(win.stride[d]);
      dil.push_back(win.dilation[d] - 1);  // oneDNN counts the holes, ONNX the step
      pad_l.push_back(win.pad_begin[d]);
      pad_r.push_back(win.pad_end[d]);
    }
    const dnnl::memory::desc src_md(src_dims, dt::f32, src_tag);
    const dnnl::memory::desc dst_md(dst_dims, dt::f32, dst_tag);
    const dims wd = w_dims(c, &w);
    const dnnl::memory::desc w_user_md = plain_md(wd);
    const dnnl::memory::desc w_any_md(wd, dt::f32, tag::any);
    const dnnl::memory::desc b_md =
        has_bias ? dnnl::memory::desc({m}, dt::f32, tag::a) : dnnl::memory::desc();
    auto e = std::make_unique<Entry>();
    e->key = key;
    dnnl::convolution_forward::primitive_desc pd;
    if (winograd) {  // falls back to direct where oneDNN has no Winograd for this shape
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      dnnl::post_ops po;
      for (const PostOp& p : post_) {
        if (p.op == "Add")
          po.append_sum(1.f);
        else
          po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      }
      attr.set_post_ops(po);
      const dnnl::convolution_forward::desc desc(
          dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_winograd, src_md,
          w_any_md, b_md, dst_md, strides, dil, pad_l, pad_r);
      try {
        pd = dnnl::convolution_forward::primitive_desc(desc, attr, engine(), true);
      } catch (const dnnl::error&) {
      }
      e->sum_residual = pd && count_adds(post_) > 0;
    }
    // The direct conv from and to these layouts; empty when oneDNN has none (`error` says why).
    auto direct = [&](const dnnl::memory::desc& s_md, const dnnl::memory::desc& d_md,
                      std::string* error) {
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      if (!post_.empty()) attr.set_post_ops(make_post_ops(node_, post_, d_md));
      const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference,
                                                 dnnl::algorithm::convolution_direct, s_md,
                                                 w_any_md, b_md, d_md, strides, dil, pad_l, pad_r);
      try {
        return dnnl::convolution_forward::primitive_desc(desc, attr, engine());
      } catch (const dnnl::error& err) {
        if (error) *error = err.what();
        return dnnl::convolution_forward::primitive_desc();
      }
    };
    dnnl::memory::desc prim_src_md = src_md, prim_dst_md = dst_md;
    if (!pd) {
      std::string error;
      pd = direct(src_md, dst_md, &error);
      if (!pd)
        fail_unsupported("node ", node_.describe(), ": oneDNN has no convolution for input ",
                         shape_str(key), ": ", error);
      for (const tag t : quality(pd, nd) < 2 ? relayout_tags(nd + 2) : std::vector<tag>{}) {
        if (t == src_tag && t == dst_tag) continue;
        const dnnl::memory::desc s_md(src_dims, dt::f32, t), d_md(dst_dims, dt::f32, t);
        dnnl::convolution_forward::primitive_desc alt = direct(s_md, d_md, nullptr);
        if (!alt || quality(alt, nd) <= quality(pd, nd)) continue;
        pd = alt;
        prim_src_md = s_md;
        prim_dst_md = d_md;
        e->relaid = true;
        if (quality(pd, nd) == 2) break;
      }
    }
    e->prim = dnnl::convolution_forward(pd);
    if (w_.defined()) {
      // Prepack: reorder the constant weights once into the layout the kernel chose; that copy
      // is then the only one (release_plain).
      const Tensor plain = plain_weights(w_, w_source_, w_user_md);
      dnnl::memory w_user(w_user_md, engine(), const_cast<void*>(plain.raw()));
      e->weights = dnnl::memory(pd.weights_desc(), engine());
      dnnl::reorder(w_user, e->weights).execute(stream(), w_user, e->weights);
      stream().wait();
      release_plain(w_, e->weights, w_source_, shapes_fixed_);
    } else {
      e->w_user = user_memory(w_user_md);
      if (pd.weights_desc() == w_user_md) {
        e->weights = e->w_user;
      } else {
        e->weights = dnnl::memory(pd.weights_desc(), engine());
        e->w_reorder = dnnl::reorder(e->w_user, e->weights);
      }
    }
    e->src = user_memory(prim_src_md);
    e->dst = user_memory(prim_dst_md);
    e->args = {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_WEIGHTS, e->weights}, {DNNL_ARG_DST, e->dst}};
    if (has_bias) {
      e->bias = b_.defined() ? dnnl::memory(b_md, engine(), const_cast<void*>(b_.raw()))
                             : user_memory(b_md);
      e->args[DNNL_ARG_BIAS] = e->bias;
    }
    for (size_t k = 0; k < post_.size(); ++k) {
      if (post_[k].op != "Add" || e->sum_residual) continue;
      e->adds.push_back(user_memory(prim_dst_md));
      e->args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(static_cast<int>(k)) | DNNL_ARG_SRC_1] =
          e->adds.back();
    }
    attach_scratchpad(*e, pd.scratchpad_desc());
    if (e->relaid)  // the copies in the kernel's layout follow oneDNN's scratchpad
      e->relayout.make(e->scratch_bytes, e->src, e->dst, e->adds, src_md, dst_md,
                       std::vector<dnnl::memory::desc>(e->adds.size(), dst_md));
    return keep_recent(cache_, std::move(e));
  }

  // oneDNN's dims of the weights for `c` input channels: ONNX's [M, C/g, k...]; grouped, the
  // same bytes read as [g, M/g, C/g, k...]. `w`: the weights (default: the constant ones).
  dims w_dims(int64_t c, const Tensor* w = nullptr) const {
    if (!w) w = &w_;
    const int64_t m = w->dim(0);
    dims d = group_ > 1 ? dims{group_, m / group_, c / group_} : dims{m, c};
    for (int i = 2; i < w->rank(); ++i) d.push_back(w->dim(i));
    return d;
  }
  static dnnl::memory::desc plain_md(const dims& d) {
    return dnnl::memory::desc(d, dt::f32, plain_tag(static_cast<int>(d.size())));
  }

  bool nhwc_;
  int64_t block_ = 0;  // edgeopt.onednn: blocked output with this many lanes, 0 for NHWC
  ops::WindowAttrs attrs_;
  Tensor w_, b_;               // constant weights / bias, undefined when given as inputs
  dnnl::memory w_source_;      // the prepacked weights once w_ holds no data (release_plain)
  bool shapes_fixed_ = false;  // input_shapes_fixed(): no plain weights kept after prepacking
  bool dyn_bias_ = false;
  int threads_ = 1, run_threads_ = 1;
  WinogradMode winograd_ = WinogradMode::kAuto;
  int64_t group_ = 1;
  std::vector<PostOp> post_;  // without the SiLU tail
  bool silu_tail_ = false;
  std::vector<std::unique_ptr<Entry>> cache_;
  std::unique_ptr<Winograd> wino_;  // transformed weights, made on first use
};

// ONNX Conv (NCHW) and the provider domain's Conv (NHWC): one kernel, the layout fixed per op.
template <bool kNhwc>
class ConvKernel final : public Kernel {
 public:
  explicit ConvKernel(const KernelInit& init) : impl_(init, kNhwc) {}
  void infer(InferContext& ctx) override { impl_.infer(ctx); }
  void run(RunContext& ctx) override { impl_.run(ctx); }
  bool owns_constant(size_t input) const override { return impl_.owns_constant(input); }
  void input_shapes_fixed() override { impl_.input_shapes_fixed(); }

 private:
  Conv impl_;
};

using ConvNchw = ConvKernel<false>;
using ConvNhwc = ConvKernel<true>;

// f32, weights of rank 3-5 (1-3 spatial dims) when known at load.
bool conv_accepts(const KernelInit& init) {
  if (init.constants.size() < 2 || !all_f32(init)) return false;
  if (const Tensor* w = init.constants[1])
    return w->dtype() == DType::kF32 && w->rank() >= 3 && w->rank() <= 5;
  return true;
}

KernelRegistrar reg_nchw(KernelDef{
    kProvider, "", "Conv", 1, INT_MAX,
    [](const KernelInit& i) -> std::unique_ptr<Kernel> { return std::make_unique<ConvNchw>(i); },
    conv_accepts});
EDGEOPT_REGISTER_KERNEL(kProvider, kDomain, "Conv", 1, INT_MAX, ConvNhwc);

}  // namespace
}  // namespace edgeopt::rt::onednn
