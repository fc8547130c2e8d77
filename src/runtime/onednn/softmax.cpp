// Softmax on oneDNN (f32, plain layout): the softmax_v2 primitive over the rows
// of the input seen as [outer, len]. Before opset 13 ONNX coerces the input to 2-D at `axis`
// (len = the product of dims[axis:]); from opset 13 the op runs along dims[axis] alone, which
// is the same rows when that axis is the last (the default -1, attention's scores). oneDNN 2.6
// has jit kernels for the last axis only (a middle axis takes `ref:any`), so a node whose
// axis, from opset 13, is not -1 stays on the reference provider. LogSoftmax stays there too:
// oneDNN's softmax_log computes log(1) as 1.4e-6, not 0 (a row of one element), an absolute
// error the tolerance of the provider sweep does not admit where the answer is exactly 0.
#include <algorithm>

#include "common.h"

namespace edgeopt::rt::onednn {
namespace {

class Softmax final : public NodeKernel {
 public:
  explicit Softmax(const KernelInit& init)
      : NodeKernel(init), opset_(init.opset), threads_(init.threads) {}

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    require_f32(node_, x, "input");
    const int64_t rank = std::max<int64_t>(x.rank(), 1);  // a scalar is one row of one
    int64_t axis = node_.attr_int("axis", opset_ < 13 ? 1 : -1);
    if (axis < -rank || axis >= rank)
      fail_input("node ", node_.describe(), ": axis ", axis, " is outside rank ", x.rank());
    if (axis < 0) axis += rank;
    int64_t len = 1;
    for (int64_t d = axis; d < x.rank(); ++d) len *= x.dim(static_cast<int>(d));
    ctx.set_output(0, DType::kF32, x.shape());
    if (x.numel() == 0) return;
    const int64_t outer = x.numel() / len;
    run_threads_ = threads_for_bytes(threads_, 8 * x.numel());
    if (outer != outer_ || len != len_) {
      set_threads(run_threads_);  // jit kernels fix their thread split at creation
      outer_ = outer;
      len_ = len;
      const dnnl::memory::desc md({outer, len}, dt::f32, tag::ab);
      dnnl::primitive_attr attr;
      attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
      const dnnl::softmax_v2_forward::primitive_desc pd(
          dnnl::softmax_v2_forward::desc(dnnl::prop_kind::forward_inference,
                                         dnnl::algorithm::softmax_accurate, md, md, 1),
          attr, engine());
      e_ = SrcDstPrimitive(dnnl::softmax_v2_forward(pd), md, md, pd.scratchpad_desc());
    }
    ctx.request_scratch(e_.scratch_bytes);
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.numel() == 0) return;
    set_threads(run_threads_);
    e_.execute(x.raw(), ctx.output(0).raw(), ctx.scratch);
  }

 private:
  int64_t opset_;
  int threads_ = 1, run_threads_ = 1;
  int64_t outer_ = -1, len_ = -1;
  SrcDstPrimitive e_;  // for the latest [outer, len]
};

// f32; from opset 13, the last axis only (see the top).
bool softmax_accepts(const KernelInit& init) {
  if (!all_f32(init)) return false;
  return init.opset < 13 || init.node.attr_int("axis", -1) == -1;
}

const bool registered = [] {
  KernelRegistry::global().add(KernelDef{
      kProvider, "", "Softmax", 1, INT_MAX,
      [](const KernelInit& i) -> std::unique_ptr<Kernel> { return std::make_unique<Softmax>(i); },
      softmax_accepts});
  return true;
}();

}  // namespace
}  // namespace edgeopt::rt::onednn
