// Shared pieces of the oneDNN provider (internal): engine and stream, thread control, shape and
// format helpers, the post-op list carried by fused nodes of the edgeopt.onednn domain.
//
// Layout convention. Default-domain ONNX nodes the provider takes work on the ONNX layout
// (NCHW, plain row-major). Nodes of the `edgeopt.onednn` domain, made by the provider's graph
// rewrite (rewrite.cpp), work on one of two activation layouts the rewrite picks per graph:
//  - channels-last (int8 graphs): edgeopt shape [N, H, W, C], oneDNN's nhwc;
//  - blocked (f32 graphs): oneDNN's nChw8c (nChw16c with AVX-512), channels split into blocks of
//    b lanes; edgeopt shape [N, ceil(C/b), H, W, b] (rank 5), element (n, c, h, w) at
//    [n, c/b, h, w, c%b]. The lanes past C in the last block are padding: oneDNN writes them
//    (zeros from reorders, finite values from convs and pools) and weights ignore them, so they
//    only need to stay finite. A blocked tensor's numel is the padded size, so the arena holds
//    oneDNN's whole buffer (desc.get_size()).
// The rewrite inserts ToNhwc / ToBlocked / ToNchw at the borders of such runs.
#pragma once

#include <cstdint>
#include <functional>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/kernel.h"

namespace edgeopt::rt::onednn {

inline constexpr const char* kProvider = "onednn";
inline constexpr const char* kDomain = "edgeopt.onednn";

// 8-bit quantized types and their ranges (u8 [0, 255], s8 [-128, 127]).
inline bool is_8bit(DType t) { return t == DType::kU8 || t == DType::kI8; }
inline int32_t qmin(DType t) { return t == DType::kU8 ? 0 : -128; }
inline int32_t qmax(DType t) { return t == DType::kU8 ? 255 : 127; }

dnnl::engine& engine();
dnnl::stream& stream();

// Makes oneDNN's OpenMP parallel regions use `threads` threads from this calling thread on.
void set_threads(int threads);

// Threads worth using for one node out of `threads`: a parallel region costs a few
// microseconds (waking the sleeping OpenMP workers, the barrier at its end; ~4 us per node on
// the 2-core test host, where LeNet-5 ran 4x slower at 2 threads than at 1), more than it saves
// on small work, so each thread gets at least 256K multiply-adds or 64 KiB of memory traffic
// (activations read and written, weights read), whichever allows more threads: a
// matrix-vector product (a classifier at batch 1) or a depthwise conv is bound by its bytes.
int threads_for(int threads, int64_t macs, int64_t bytes);
inline int threads_for_bytes(int threads, int64_t bytes) { return threads_for(threads, 0, bytes); }

// Runs fn(begin, end) over [0, n) split in contiguous ranges, one per thread, on the OpenMP
// runtime oneDNN uses (the same thread pool, so no oversubscription); inline when threads <= 1,
// n <= 1 or no OpenMP runtime is loaded.
void parallel_for(int threads, int64_t n, const std::function<void(int64_t, int64_t)>& fn);

// y = x * sigmoid(x) in place over n floats (AVX-512 or AVX2 when the CPU has it), on `threads`
// threads.
void silu_inplace(float* p, int64_t n, int threads);
// The same on one thread with at most the given instruction set (0 scalar, 1 AVX2, 2 AVX-512;
// capped at what the CPU has): tests and bench/silu_bench compare the paths on one host.
void silu_inplace_isa(float* p, int64_t n, int max_isa);

// dst[i] = table[src[i]] over n bytes on one thread with at most the given instruction set (0
// scalar, 1 AVX2, 2 AVX512-VBMI; capped at what the CPU has): the Lut kernel's loop (lut.cpp).
void lut_lookup_isa(const uint8_t* src, uint8_t* dst, int64_t n, const uint8_t* table, int max_isa);

// The per-channel int8 loops of QChannelMul and QGlobalAveragePool (qchannel.cpp) on one
// thread with at most the given instruction set (0 scalar, 2 AVX-512 BW/VL; capped at what the
// CPU has), over one channels-last row of c channels (8-bit x, y; `signed`: s8, else u8):
//   channel_scale  y[k] = saturate(round_half_even((x[k] − zx)·m[k]) + zy)
//   channel_sum    acc[k] += Σ_r x[r·c + k] over `rows` rows
void channel_scale_isa(const void* x, bool x_signed, void* y, bool y_signed, const float* m,
                       int64_t c, int32_t zx, int32_t zy, int max_isa);
void channel_sum_isa(const void* x, bool x_signed, int64_t rows, int32_t* acc, int64_t c,
                     int max_isa);

using dims = dnnl::memory::dims;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

dims to_dims(const Shape& s);

// Whether oneDNN chose its reference implementation (`ref:any`, orders of magnitude slower than
// a jit one) for this primitive: kernels then try another description of the same data.
bool is_reference(const dnnl::primitive_desc_base& pd);
// Plain row-major tag for a rank (1..6): a, ab, abc, ...
tag plain_tag(int rank);

// Blocked activation layout (see above): the block the rewrite uses on this CPU (8 on AVX2, 16
// with AVX-512), oneDNN's tag for a rank-4 tensor with that block, and the edgeopt shape.
int64_t activation_block();
tag blocked_tag(int64_t block);
Shape blocked_shape(int64_t n, int64_t c, int64_t h, int64_t w, int64_t block);

// A memory object wrapping user memory whose pointer is set on every run (no allocation).
dnnl::memory user_memory(const dnnl::memory::desc& md);

// Weights held once (Conv, MatMul). A kernel keeps its constant weights `w` in ONNX layout
// until its first primitive has reordered them; release_plain then keeps that reordered copy as
// `source` and leaves `w` as dtype and shape only. A later input shape whose primitive wants
// another layout gets the plain weights back from `source` (plain_weights, a reorder into
// `plain_md`, the plain layout of source's dims). Layouts a reorder cannot read back (oneDNN's
// Winograd ones, or none) are not taken as source: the plain copy then stays, unless
// `shapes_fixed` (Kernel::input_shapes_fixed: no other layout will be asked for).
void release_plain(Tensor& w, const dnnl::memory& reordered, dnnl::memory& source,
                   bool shapes_fixed = false);
Tensor plain_weights(const Tensor& w, const dnnl::memory& source,
                     const dnnl::memory::desc& plain_md);

// Gives a primitive entry (fields scratch_bytes, scratch, args) the scratchpad its primitive
// descriptor asks for, as user memory the session's scratch buffer is bound to at run time.
template <class Entry>
void attach_scratchpad(Entry& e, const dnnl::memory::desc& scratch_md) {
  e.scratch_bytes = scratch_md.get_size();
  if (e.scratch_bytes) {
    e.scratch = user_memory(scratch_md);
    e.args[DNNL_ARG_SCRATCHPAD] = e.scratch;
  }
}

// A convolution run in another layout than the graph's (conv.cpp's relayout_tags, qconv.cpp's
// 3-D int8 convs): the primitive's src, dst and residual memories are copies in the node's
// scratch, after the primitive's own scratchpad, reordered from and to the graph's tensors
// around each run.
class Relayout {
 public:
  // `scratch_bytes` (the primitive's scratchpad) grows by the copies; src, dst and adds are the
  // primitive's memories, the *_user descriptors the graph's layouts of the same tensors.
  void make(size_t& scratch_bytes, const dnnl::memory& src, const dnnl::memory& dst,
            const std::vector<dnnl::memory>& adds, const dnnl::memory::desc& src_user,
            const dnnl::memory::desc& dst_user, const std::vector<dnnl::memory::desc>& adds_user);
  // Before the primitive runs: points src, dst and adds at the node's input 0, output 0 and inputs
  // first_add..; made (relaid out), at their copies in the scratch, src's and the residuals'
  // filled from those first.
  void bind(const RunContext& ctx, size_t first_add, dnnl::memory& src, dnnl::memory& dst,
            std::vector<dnnl::memory>& adds);
  // After it: made, dst's copy goes to output 0.
  void finish(dnnl::memory& dst);

 private:
  bool on_ = false;
  dnnl::memory src_user_, dst_user_;
  std::vector<dnnl::memory> adds_user_;
  dnnl::reorder src_in_, dst_out_;
  std::vector<dnnl::reorder> adds_in_;
  size_t src_offset_ = 0, dst_offset_ = 0;
  std::vector<size_t> add_offsets_;
};

// One primitive from the node's input to its output with a user scratchpad (element-wise,
// Softmax, Reduce, ChannelShuffle):
// made once per shape, run on the tensors of each run.
struct SrcDstPrimitive {
  dnnl::primitive prim;
  dnnl::memory src, dst, scratch;
  std::unordered_map<int, dnnl::memory> args;
  size_t scratch_bytes = 0;
  SrcDstPrimitive() = default;
  SrcDstPrimitive(dnnl::primitive p, const dnnl::memory::desc& src_md,
                  const dnnl::memory::desc& dst_md, const dnnl::memory::desc& scratch_md)
      : prim(std::move(p)), src(user_memory(src_md)), dst(user_memory(dst_md)) {
    args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
    attach_scratchpad(*this, scratch_md);
  }
  void execute(const void* x, void* y, void* node_scratch) {
    src.set_data_handle(const_cast<void*>(x));
    dst.set_data_handle(y);
    if (scratch_bytes) scratch.set_data_handle(node_scratch);
    prim.execute(stream(), args);
  }
};

// Keeps a kernel's per-shape entries bounded: the oldest of 8 goes when a new one comes.
template <class Entry>
Entry& keep_recent(std::vector<std::unique_ptr<Entry>>& cache, std::unique_ptr<Entry> e) {
  if (cache.size() >= 8) cache.erase(cache.begin());
  cache.push_back(std::move(e));
  return *cache.back();
}

// oneDNN's data type for f32, u8 and s8 tensors; undef for the others.
dt to_dt(DType t);

// A reorder from a kernel's input 0 to its output 0 (layout changes, per-tensor Q/DQ), made
// in infer() and run on the tensors' own memory.
struct InputReorder {
  dnnl::memory src, dst;
  dnnl::reorder prim;
  void make(const dnnl::memory::desc& from, const dnnl::memory::desc& to,
            const dnnl::primitive_attr& attr = {});
  void run(RunContext& ctx, int threads);  // nothing for an empty input
};

// One element-wise function y = f(x) as oneDNN computes it.
struct Eltwise {
  dnnl::algorithm alg = dnnl::algorithm::undef;
  float alpha = 0, beta = 0;
};

// oneDNN's form of a unary ONNX activation with the given attributes (alpha for LeakyRelu/Elu,
// lo/hi for Clip); alg undef when the op has none. Ops: Relu, LeakyRelu, Clip, Sigmoid, SiLU
// (x * sigmoid(x), edgeopt.onednn only), HardSwish, Tanh, Elu, Sqrt, Exp, Abs, Neg, Square (Pow
// by 2); edgeopt.onednn only as well: Round (to nearest, ties to even) and Linear
// (alpha * x + beta), used by int8 requantization.
Eltwise eltwise_of(const std::string& op, float alpha, float beta);

// Post-ops of a fused node: the attributes post_ops (op names), post_alpha, post_beta. The name
// "Add" means dst += the node's next extra input (a full tensor of the output's shape, same
// layout), every other name an eltwise function from eltwise_of().
struct PostOp {
  std::string op;
  float alpha = 0, beta = 0;
};
std::vector<PostOp> parse_post_ops(const Node& node);
void set_post_ops(Node& node, const std::vector<PostOp>& ops);
// Builds the oneDNN post-op chain; `add_md` is the memory desc of Add inputs (the dst desc).
dnnl::post_ops make_post_ops(const Node& node, const std::vector<PostOp>& ops,
                             const dnnl::memory::desc& add_md);
// Number of "Add" entries.
int count_adds(const std::vector<PostOp>& ops);

// The f32 value of a Clip bound: opset < 11 attributes min/max, else optional constant inputs
// 1 and 2. Returns false when a bound input is present but not a constant scalar.
bool clip_bounds(const KernelInit& init, float& lo, float& hi);

// True when every present input known at load is f32 (unknown dtypes are accepted; infer checks).
bool all_f32(const KernelInit& init);

// Fails with a message naming the node unless `t` is f32.
void require_f32(const Node& node, const Tensor& t, const char* what);

// Whether resize.cpp computes this default-domain Resize (opset >= 10) or Upsample (7-9) node:
// nearest or (bi)linear, no tf_crop_and_resize, antialias, axes or keep_aspect_ratio_policy.
// The rank (4) and the scales are checked where the node is rewritten.
bool resize_supported(const Node& n, int64_t opset);

// The int8 part of the provider's graph rewrite (int8_rewrite.cpp): QDQ patterns around
// Conv/Gemm/MatMul and QLinearConv/QLinearMatMul become QConv / QGemm nodes of the
// edgeopt.onednn domain (see qconv.cpp), before the fp32 fusions and the layout pass run.
void fuse_int8(Model& model);

// Float islands between a per-tensor DequantizeLinear and QuantizeLinear (e.g. SiLU of an int8
// export) become one 256-entry table lookup, Lut of the edgeopt.onednn domain (lut.cpp).
void fuse_lut(Model& model);

}  // namespace edgeopt::rt::onednn
