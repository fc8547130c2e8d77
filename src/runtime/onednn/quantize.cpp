// Per-tensor QuantizeLinear / DequantizeLinear on oneDNN reorders (element-wise, so any layout):
//   QuantizeLinear    y = saturate(round_half_even(x · (1 / scale)) + zero_point), f32 → u8/s8
//   DequantizeLinear  y = (x − zero_point) · scale, u8/s8 → f32 (exact as the reference)
// Quantize multiplies by the reciprocal where the reference divides: results can differ by one
// step where x / scale lies within an ulp of a rounding tie. Scale and zero point must be
// constant scalars; anything else (per-axis, other dtypes) is left to the reference provider.
#include <cmath>
#include <memory>

#include "common.h"

namespace edgeopt::rt::onednn {
namespace {

class QuantizeReorder final : public NodeKernel {
 public:
  explicit QuantizeReorder(const KernelInit& init)
      : NodeKernel(init), quantize_(init.node.op_type == "QuantizeLinear"), threads_(init.threads) {
    scale_ = init.constants[1]->data<float>()[0];
    const Tensor* zp = init.constants.size() > 2 ? init.constants[2] : nullptr;
    if (zp) {
      q_type_ = zp->dtype();
      zp_ = q_type_ == DType::kU8 ? zp->data<uint8_t>()[0] : zp->data<int8_t>()[0];
    } else if (quantize_) {
      q_type_ = static_cast<DType>(node_.attr_int("output_dtype", int(DType::kU8)));
    }
  }

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (!quantize_ && q_type_ == DType::kUndefined) q_type_ = x.dtype();
    const DType want = quantize_ ? DType::kF32 : q_type_;
    if (x.dtype() != want || !is_8bit(q_type_))
      fail_unsupported("node ", node_.describe(), ": onednn takes ", dtype_name(want),
                       " input, got ", dtype_name(x.dtype()));
    ctx.set_output(0, quantize_ ? q_type_ : DType::kF32, x.shape());
    run_threads_ = threads_for_bytes(threads_, 5 * x.numel());
    if (x.numel() == 0 || x.numel() == numel_) return;
    set_threads(run_threads_);  // jit kernels fix their thread split at creation
    numel_ = x.numel();
    const dnnl::memory::desc f_md({numel_}, dt::f32, tag::a);
    const dnnl::memory::desc q_md({numel_}, to_dt(q_type_), tag::a);
    dnnl::primitive_attr attr;
    attr.set_output_scales(0, {quantize_ ? 1.f / scale_ : scale_});
    if (zp_) attr.set_zero_points(quantize_ ? DNNL_ARG_DST : DNNL_ARG_SRC, 0, {zp_});
    reorder_.make(quantize_ ? f_md : q_md, quantize_ ? q_md : f_md, attr);
  }

  void run(RunContext& ctx) override { reorder_.run(ctx, run_threads_); }

 private:
  bool quantize_;
  int threads_ = 1, run_threads_ = 1;
  float scale_ = 1;
  int32_t zp_ = 0;
  DType q_type_ = DType::kUndefined;
  int64_t numel_ = -1;
  InputReorder reorder_;
};

// Constant scalar f32 scale (positive, finite), optional constant scalar u8/s8 zero point.
bool qdq_accepts(const KernelInit& init) {
  const Node& n = init.node;
  if (n.attr_int("block_size", 0) != 0 || n.inputs.size() < 2) return false;
  const Tensor* s = init.constants.size() > 1 ? init.constants[1] : nullptr;
  if (!s || s->dtype() != DType::kF32 || s->numel() != 1) return false;
  const float v = s->data<float>()[0];
  if (!(v > 0) || !std::isfinite(v) || !std::isfinite(1.f / v)) return false;
  const bool has_zp = n.inputs.size() > 2 && !n.inputs[2].empty();
  const Tensor* zp = init.constants.size() > 2 ? init.constants[2] : nullptr;
  if (has_zp && (!zp || zp->numel() != 1 || !is_8bit(zp->dtype()))) return false;
  const DType x = init.input_dtypes.empty() ? DType::kUndefined : init.input_dtypes[0];
  if (n.op_type == "QuantizeLinear") {
    if (!has_zp && !is_8bit(static_cast<DType>(n.attr_int("output_dtype", int(DType::kU8)))))
      return false;
    return x == DType::kF32 || x == DType::kUndefined;
  }
  return x == DType::kUndefined || is_8bit(x);
}

const bool registered = [] {
  for (const char* op : {"QuantizeLinear", "DequantizeLinear"})
    KernelRegistry::global().add(KernelDef{kProvider, "", op, 10, INT_MAX,
                                           [](const KernelInit& i) -> std::unique_ptr<Kernel> {
                                             return std::make_unique<QuantizeReorder>(i);
                                           },
                                           qdq_accepts});
  return true;
}();

}  // namespace
}  // namespace edgeopt::rt::onednn
