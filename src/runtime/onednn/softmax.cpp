// Softmax on oneDNN (f32, plain layout): the softmax_v2 primitive over the rows
// of the input seen as [outer, len]. Before opset 13 ONNX coerces the input to 2-D at `axis`
// (len = the product of dims[axis:]); from opset 13 the op runs along dims[axis] alone, which
// is the same rows when that axis is the last (the default -1, attention's scores). oneDNN 2.6
// has jit kernels for the last axis only (a middle axis takes `ref:any`), so a node whose
// axis, from opset 13, is not -1 stays on the reference provider. LogSoftmax stays there too:
// oneDNN's softmax_log computes log(1) as 1.4e-6, not 0 (a row of one element), an absolute
// error the tolerance of the provider sweep does not admit where the answer is exactly 0.
#include <algorithm>
#include <unordered_map>

#include "common.h"

namespace edgeopt::rt::onednn {
namespace {

class Softmax final : public Kernel {
 public:
  explicit Softmax(const KernelInit& init)
      : node_(init.node), opset_(init.opset), threads_(init.threads) {}

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    require_f32(node_, x, "input");
    const int64_t rank = x.rank();
    int64_t axis = node_.attr_int("axis", opset_ < 13 ? 1 : -1);
    if (axis < -std::max<int64_t>(rank, 1) || axis >= std::max<int64_t>(rank, 1))
      fail_input("node ", node_.describe(), ": axis ", axis, " is outside rank ", rank);
    if (axis < 0) axis += std::max<int64_t>(rank, 1);
    int64_t len = 1;
    for (int64_t d = axis; d < rank; ++d) len *= x.dim(static_cast<int>(d));
    ctx.set_output(0, DType::kF32, x.shape());
    if (x.numel() == 0) return;
    const int64_t outer = x.numel() / len;
    run_threads_ = threads_for_bytes(threads_, 8 * x.numel());
    if (outer == outer_ && len == len_) {
      ctx.request_scratch(scratch_bytes_);
      return;
    }
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
    prim_ = dnnl::softmax_v2_forward(pd);
    src_ = user_memory(md);
    dst_ = user_memory(md);
    scratch_ = dnnl::memory();
    args_ = {{DNNL_ARG_SRC, src_}, {DNNL_ARG_DST, dst_}};
    scratch_bytes_ = pd.scratchpad_desc().get_size();
    if (scratch_bytes_) {
      scratch_ = user_memory(pd.scratchpad_desc());
      args_[DNNL_ARG_SCRATCHPAD] = scratch_;
    }
    ctx.request_scratch(scratch_bytes_);
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.numel() == 0) return;
    set_threads(run_threads_);
    src_.set_data_handle(const_cast<void*>(x.raw()));
    dst_.set_data_handle(ctx.output(0).raw());
    if (scratch_bytes_) scratch_.set_data_handle(ctx.scratch);
    prim_.execute(stream(), args_);
  }

 private:
  const Node& node_;
  int64_t opset_;
  int threads_ = 1, run_threads_ = 1;
  int64_t outer_ = -1, len_ = -1;
  dnnl::softmax_v2_forward prim_;
  dnnl::memory src_, dst_, scratch_;
  std::unordered_map<int, dnnl::memory> args_;
  size_t scratch_bytes_ = 0;
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
