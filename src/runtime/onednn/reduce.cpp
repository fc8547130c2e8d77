// ReduceSum / ReduceMean / ReduceMax / ReduceMin on oneDNN (f32, plain layout): the reduction
// primitive over the input seen as [outer, len], where the reduced axes are the trailing ones
// (all of them when none are listed). oneDNN 2.6 has a jit kernel for that innermost case only
// (a middle axis takes `ref:any`), so a node claims only axes that are trailing however the
// input's rank turns out: negative ones, -k..-1 (layer norm's ReduceMean over -1), or none.
// The provider's rewrite (rewrite.cpp) spells a known rank's positive axes that way, and turns
// ReduceMean / ReduceMax over H and W of a 4-D tensor (a global pool) into the pools, which
// keep the blocked layout. oneDNN sums in f32 (the reference provider in double). An empty
// reduction gives what the reference gives: 0, NaN (mean), -inf (max), +inf (min).
#include <algorithm>
#include <cmath>
#include <limits>

#include "common.h"

namespace edgeopt::rt::onednn {
namespace {

// Opset from which the op reads its axes from input 1, not the attribute.
int64_t axes_input_opset(const std::string& op) { return op == "ReduceSum" ? 13 : 18; }

// How many trailing axes the node reduces: -1 for all of them, 0 when it cannot be claimed
// (positive or non-trailing axes, axes not constant, noop_with_empty_axes).
int64_t trailing_axes(const KernelInit& init) {
  const Node& n = init.node;
  std::vector<int64_t> axes;
  if (init.opset >= axes_input_opset(n.op_type)) {
    if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
      const Tensor* t = init.constants.size() > 1 ? init.constants[1] : nullptr;
      if (!t) return 0;
      axes = t->to_i64_vector();
    }
  } else {
    axes = n.attr_ints("axes");
  }
  if (axes.empty()) return n.attr_int("noop_with_empty_axes", 0) ? 0 : -1;
  std::sort(axes.begin(), axes.end());
  const int64_t k = static_cast<int64_t>(axes.size());
  for (int64_t i = 0; i < k; ++i)
    if (axes[i] != i - k) return 0;
  return k;
}

class Reduce final : public NodeKernel {
 public:
  explicit Reduce(const KernelInit& init)
      : NodeKernel(init),
        trailing_(trailing_axes(init)),
        keepdims_(init.node.attr_int("keepdims", 1) != 0),
        threads_(init.threads) {
    const std::string& op = node_.op_type;
    alg_ = op == "ReduceSum"    ? dnnl::algorithm::reduction_sum
           : op == "ReduceMean" ? dnnl::algorithm::reduction_mean
           : op == "ReduceMax"  ? dnnl::algorithm::reduction_max
                                : dnnl::algorithm::reduction_min;
  }

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    require_f32(node_, x, "input");
    const int64_t rank = x.rank();
    const int64_t k = trailing_ < 0 ? rank : trailing_;
    if (k > rank) fail_input("node ", node_.describe(), ": axis ", -k, " is outside rank ", rank);
    Shape out;
    int64_t outer = 1, len = 1;
    for (int64_t d = 0; d < rank; ++d) {
      const int64_t n = x.dim(static_cast<int>(d));
      if (d < rank - k) {
        out.push_back(n);
        outer *= n;
      } else {
        len *= n;
        if (keepdims_) out.push_back(1);
      }
    }
    ctx.set_output(0, DType::kF32, out);
    len_ = len;
    if (outer == 0 || len <= 1) return;  // oneDNN wants a dim to reduce; one element is a copy
    run_threads_ = threads_for_bytes(threads_, 4 * x.numel());
    if (outer != outer_ || len != key_len_) make(outer, len);
    ctx.request_scratch(e_.scratch_bytes);
  }

  void run(RunContext& ctx) override {
    Tensor& y = ctx.output(0);
    if (y.numel() == 0) return;
    if (len_ == 0) {
      float v = 0.f;
      if (alg_ == dnnl::algorithm::reduction_mean) v = std::numeric_limits<float>::quiet_NaN();
      if (alg_ == dnnl::algorithm::reduction_max) v = -std::numeric_limits<float>::infinity();
      if (alg_ == dnnl::algorithm::reduction_min) v = std::numeric_limits<float>::infinity();
      std::fill_n(y.data<float>(), y.numel(), v);
      return;
    }
    if (len_ == 1) {
      std::copy_n(ctx.input(0).data<float>(), y.numel(), y.data<float>());
      return;
    }
    set_threads(run_threads_);
    e_.execute(ctx.input(0).raw(), y.raw(), ctx.scratch);
  }

 private:
  void make(int64_t outer, int64_t len) {
    set_threads(run_threads_);  // jit kernels fix their thread split at creation
    outer_ = outer;
    key_len_ = len;
    const dnnl::memory::desc src({outer, len}, dt::f32, tag::ab);
    const dnnl::memory::desc dst({outer, 1}, dt::f32, tag::ab);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const dnnl::reduction::primitive_desc pd(dnnl::reduction::desc(alg_, src, dst, 0.f, 0.f), attr,
                                             engine());
    e_ = SrcDstPrimitive(dnnl::reduction(pd), src, dst, pd.scratchpad_desc());
  }

  int64_t trailing_;
  bool keepdims_;
  dnnl::algorithm alg_;
  int threads_ = 1, run_threads_ = 1;
  int64_t len_ = 0, outer_ = -1, key_len_ = -1;
  SrcDstPrimitive e_;  // for the latest [outer, len]
};

// f32 data, trailing constant axes (see the top).
bool reduce_accepts(const KernelInit& init) {
  if (!init.input_dtypes.empty() && init.input_dtypes[0] != DType::kF32 &&
      init.input_dtypes[0] != DType::kUndefined)
    return false;
  return trailing_axes(init) != 0;
}

const bool registered = [] {
  for (const char* op : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin"})
    KernelRegistry::global().add(KernelDef{
        kProvider, "", op, 1, INT_MAX,
        [](const KernelInit& i) -> std::unique_ptr<Kernel> { return std::make_unique<Reduce>(i); },
        reduce_accepts});
  return true;
}();

}  // namespace
}  // namespace edgeopt::rt::onednn
