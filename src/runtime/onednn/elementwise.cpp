// Element-wise ops on oneDNN (f32): unary activations (eltwise primitive over the flat tensor),
// Add/Sub/Mul/Div with numpy broadcasting (binary primitive) and Concat. All of them are
// layout-agnostic: the graph rewrite lets them run on channels-last or blocked tensors unchanged
// (a broadcast permutes consistently when every operand has the same rank and dim order).
#include <cstring>
#include <memory>

#include "common.h"

namespace edgeopt::rt::onednn {
namespace {

// Pow by a constant exponent oneDNN computes exactly: 2 (x * x) and 0.5 (sqrt); its general
// eltwise_pow goes through exp and log. "" for any other exponent.
std::string pow_as_unary(const KernelInit& init) {
  if (init.constants.size() < 2 || !init.constants[1] || init.constants[1]->numel() != 1) return "";
  const double e = init.constants[1]->get_f64(0);
  return e == 2.0 ? "Square" : (e == 0.5 ? "Sqrt" : "");
}

// y = f(x) for the functions of eltwise_of().
class Unary final : public NodeKernel {
 public:
  explicit Unary(const KernelInit& init) : NodeKernel(init), threads_(init.threads) {
    float lo = 0, hi = 0;
    if (node_.op_type == "Clip")
      clip_bounds(init, lo, hi);
    else if (node_.op_type == "LeakyRelu")
      lo = node_.attr_float("alpha", 0.01f);
    else if (node_.op_type == "Elu")
      lo = node_.attr_float("alpha", 1.f);
    fn_ = eltwise_of(node_.op_type == "Pow" ? pow_as_unary(init) : node_.op_type, lo, hi);
  }

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    require_f32(node_, x, "input");
    ctx.set_output(0, DType::kF32, x.shape());
    run_threads_ = threads_for_bytes(threads_, 8 * x.numel());
    if (x.numel() == 0) return;
    if (numel_ != x.numel()) make(x.numel());
    ctx.request_scratch(e_.scratch_bytes);
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.numel() == 0) return;
    if (x.numel() != numel_) fail_input("node ", node_.describe(), ": run() before infer()");
    set_threads(run_threads_);
    e_.execute(x.raw(), ctx.output(0).raw(), ctx.scratch);
  }

 private:
  void make(int64_t numel) {
    set_threads(run_threads_);  // jit kernels fix their thread split at creation
    numel_ = numel;
    const dnnl::memory::desc md({numel_}, dt::f32, tag::a);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const dnnl::eltwise_forward::primitive_desc pd(
        dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_inference, fn_.alg, md, fn_.alpha,
                                    fn_.beta),
        attr, engine());
    e_ = SrcDstPrimitive(dnnl::eltwise_forward(pd), md, md, pd.scratchpad_desc());
  }

  int threads_ = 1, run_threads_ = 1;
  Eltwise fn_;
  int64_t numel_ = -1;
  SrcDstPrimitive e_;  // for the latest element count
};

bool unary_accepts(const KernelInit& init) {
  float lo, hi;
  if (init.node.op_type == "Pow")  // the exponent may be any numeric type
    return (init.input_dtypes[0] == DType::kF32 || init.input_dtypes[0] == DType::kUndefined) &&
           !pow_as_unary(init).empty();
  if (!all_f32(init)) return false;
  return init.node.op_type != "Clip" || clip_bounds(init, lo, hi);
}

// c = a op b with numpy broadcasting. oneDNN broadcasts only its second source, so when the
// first operand is the broadcast one it is swapped (Add, Mul) or first expanded into the
// output, which then serves as the first source in place (Sub, Div).
class Binary final : public NodeKernel {
 public:
  explicit Binary(const KernelInit& init) : NodeKernel(init), threads_(init.threads) {
    const std::string& op = node_.op_type;
    commutative_ = op == "Add" || op == "Mul";
    alg_ = op == "Add"   ? dnnl::algorithm::binary_add
           : op == "Sub" ? dnnl::algorithm::binary_sub
           : op == "Mul" ? dnnl::algorithm::binary_mul
                         : dnnl::algorithm::binary_div;
  }

  void infer(InferContext& ctx) override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    require_f32(node_, a, "input A");
    require_f32(node_, b, "input B");
    const size_t r = std::max<size_t>({a.shape().size(), b.shape().size(), 1});
    Shape sa = pad(a.shape(), r), sb = pad(b.shape(), r), out(r);
    for (size_t d = 0; d < r; ++d) {
      if (sa[d] != sb[d] && sa[d] != 1 && sb[d] != 1)
        fail_input("node ", node_.describe(), ": shapes ", shape_str(a.shape()), " and ",
                   shape_str(b.shape()), " do not broadcast");
      out[d] = sa[d] == 1 ? sb[d] : sa[d];
    }
    Shape real_out(out.end() - std::max(a.rank(), b.rank()), out.end());
    ctx.set_output(0, DType::kF32, real_out);
    run_threads_ = threads_for_bytes(threads_, 12 * shape_numel(out));
    if (shape_numel(out) == 0) return;
    if (key_a_ == a.shape() && key_b_ == b.shape()) return;
    set_threads(run_threads_);  // jit kernels fix their thread split at creation
    key_a_ = a.shape();
    key_b_ = b.shape();
    swap_ = sa != out && commutative_ && sb == out;
    if (swap_) std::swap(sa, sb);
    expand_ = sa != out;
    sa_ = sa;
    out_ = out;
    const tag t = plain_tag(static_cast<int>(r));
    dnnl::memory::desc md0(to_dims(out), dt::f32, t), md1(to_dims(sb), dt::f32, t);
    if (r == 5 && (out[4] == 8 || out[4] == 16) && sb[4] == out[4] && sb[1] == out[1]) {
      // [N, C/b, H, W, b] (blocked activations, common.h) with the second operand broadcast
      // over N, H or W only: the same bytes described as the logical [N, C, H, W] in oneDNN's
      // blocked format, for which it has a jit kernel (e.g. a per-channel gate), not the
      // reference one it takes for a general rank-5 broadcast.
      const tag bt = blocked_tag(out[4]);
      md0 = dnnl::memory::desc({out[0], out[1] * out[4], out[2], out[3]}, dt::f32, bt);
      md1 = dnnl::memory::desc({sb[0], sb[1] * sb[4], sb[2], sb[3]}, dt::f32, bt);
    }
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    auto make = [&](const dnnl::memory::desc& m0, const dnnl::memory::desc& m1) {
      return dnnl::binary::primitive_desc(dnnl::binary::desc(alg_, m0, m1, m0), attr, engine());
    };
    dnnl::binary::primitive_desc pd = make(md0, md1);
    if (is_reference(pd) && md0.dims().size() == r) {
      // oneDNN 2.6 has jit kernels for a few broadcasts only (scalar, per channel = axis 1,
      // ...): a per-"channel" constant over a CHW image without batch ([3, H, W] - [3, 1, 1],
      // torchvision detectors' normalization) took its reference kernel, 20 ms for 0.3M
      // elements. The same bytes read with the axes merged where the operands broadcast
      // alike, behind a leading 1 ([1, 3, H*W] - [1, 3, 1]), get the jit one.
      const auto [m0, m1] = merged_broadcast(out, sb);
      for (const bool lead : {true, false}) {
        dims d0 = m0, d1 = m1;
        if (lead) d0.insert(d0.begin(), 1), d1.insert(d1.begin(), 1);
        const tag t2 = plain_tag(static_cast<int>(d0.size()));
        const dnnl::memory::desc a0(d0, dt::f32, t2), a1(d1, dt::f32, t2);
        dnnl::binary::primitive_desc alt = make(a0, a1);
        if (is_reference(alt)) continue;
        pd = alt;
        md0 = a0;
        md1 = a1;
        break;
      }
    }
    prim_ = dnnl::binary(pd);
    src0_ = user_memory(md0);
    src1_ = user_memory(md1);
    dst_ = user_memory(md0);
  }

  void run(RunContext& ctx) override {
    Tensor& c = ctx.output(0);
    if (c.numel() == 0) return;
    const Tensor* a = &ctx.input(0);
    const Tensor* b = &ctx.input(1);
    if (swap_) std::swap(a, b);
    set_threads(run_threads_);
    const void* first = a->raw();
    if (expand_) {
      broadcast_copy(a->data<float>(), sa_, c.data<float>(), out_);
      first = c.raw();  // oneDNN binary may write in place over its first source
    }
    src0_.set_data_handle(const_cast<void*>(first));
    src1_.set_data_handle(const_cast<void*>(b->raw()));
    dst_.set_data_handle(c.raw());
    prim_.execute(stream(),
                  {{DNNL_ARG_SRC_0, src0_}, {DNNL_ARG_SRC_1, src1_}, {DNNL_ARG_DST, dst_}});
  }

 private:
  // `out` and the second operand's `b` (same rank, each b[d] 1 or out[d]) with neighbouring
  // axes merged where b broadcasts alike (axes of extent 1 join either side).
  static std::pair<dims, dims> merged_broadcast(const Shape& out, const Shape& b) {
    dims m0, m1;
    int last = -1;  // 1: the last merged axis is full in b, 0: broadcast
    for (size_t d = 0; d < out.size(); ++d) {
      if (out[d] == 1 && !m0.empty()) continue;
      const int full = b[d] == out[d] ? 1 : 0;
      if (full == last || (m0.size() == 1 && m0[0] == 1)) {
        m0.back() *= out[d];
        m1.back() *= b[d];
      } else {
        m0.push_back(out[d]);
        m1.push_back(b[d]);
      }
      last = full;
    }
    return {m0, m1};
  }

  static Shape pad(const Shape& s, size_t r) {
    Shape p(r - s.size(), 1);
    p.insert(p.end(), s.begin(), s.end());
    return p;
  }

  // dst[i...] = src[i... with broadcast dims pinned to 0], both row-major of equal rank.
  static void broadcast_copy(const float* src, const Shape& ss, float* dst, const Shape& ds) {
    const size_t r = ds.size();
    std::vector<int64_t> stride(r, 0);
    int64_t s = 1;
    for (size_t d = r; d-- > 0;) {
      stride[d] = ss[d] == 1 ? 0 : s;
      s *= ss[d];
    }
    const int64_t inner = ds[r - 1];
    const int64_t outer = shape_numel(ds) / inner;
    std::vector<int64_t> idx(r, 0);
    for (int64_t o = 0; o < outer; ++o) {
      int64_t off = 0;
      for (size_t d = 0; d + 1 < r; ++d) off += idx[d] * stride[d];
      float* out = dst + o * inner;
      for (int64_t i = 0; i < inner; ++i) out[i] = src[off + i * stride[r - 1]];
      for (size_t d = r - 1; d-- > 0;) {  // next outer index
        if (++idx[d] < ds[d]) break;
        idx[d] = 0;
      }
    }
  }

  int threads_ = 1, run_threads_ = 1;
  bool commutative_ = false, swap_ = false, expand_ = false;
  dnnl::algorithm alg_;
  Shape key_a_{-1}, key_b_{-1}, sa_, out_;
  dnnl::binary prim_;
  dnnl::memory src0_, src1_, dst_;
};

// Concat along `axis` of plain row-major tensors (skipping empty inputs), of any one dtype: f32,
// and u8 / s8 where the int8 rewrite concatenates quantized tensors.
class Concat final : public NodeKernel {
 public:
  using NodeKernel::NodeKernel;

  void infer(InferContext& ctx) override {
    const Tensor& x0 = ctx.input(0);
    const int r = x0.rank();
    int64_t axis = node_.attr_int("axis", 0);
    if (axis < 0) axis += r;
    if (r < 1 || r > 6 || axis < 0 || axis >= r)
      fail_input("node ", node_.describe(), ": bad axis for rank ", r);
    Shape out = x0.shape();
    out[axis] = 0;
    std::vector<Shape> keys;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const Tensor& x = ctx.input(i);
      if (x.dtype() != x0.dtype())
        fail_input("node ", node_.describe(), ": input ", i, " is ", dtype_name(x.dtype()),
                   ", input 0 ", dtype_name(x0.dtype()));
      for (int d = 0; d < r; ++d)
        if (x.rank() != r || (d != axis && x.dim(d) != out[d]))
          fail_input("node ", node_.describe(), ": input ", i, " has shape ", shape_str(x.shape()),
                     ", not matching input 0 ", shape_str(x0.shape()));
      out[axis] += x.dim(static_cast<int>(axis));
      keys.push_back(x.shape());
    }
    ctx.set_output(0, x0.dtype(), out);
    esize_ = dtype_size(x0.dtype());
    // Row-major tensors concatenated along `axis` are [outer, inner_i] matrices concatenated
    // along their columns (outer: the product of the dims before the axis): rows of memcpy.
    // (oneDNN's concat took several times longer than memcpy on squeezenet's blocked maps.)
    outer_ = 1;
    for (int d = 0; d < axis; ++d) outer_ *= out[d];
    inner_.clear();
    for (const Shape& k : keys) inner_.push_back(outer_ ? shape_numel(k) / outer_ : 0);
  }

  void run(RunContext& ctx) override {
    Tensor& y = ctx.output(0);
    if (y.numel() == 0) return;
    char* dst = static_cast<char*>(y.raw());
    for (int64_t o = 0; o < outer_; ++o)
      for (size_t i = 0; i < inner_.size(); ++i) {
        const size_t n = static_cast<size_t>(inner_[i]) * esize_;
        if (n) std::memcpy(dst, static_cast<const char*>(ctx.input(i).raw()) + o * n, n);
        dst += n;
      }
  }

 private:
  int64_t outer_ = 0;
  std::vector<int64_t> inner_;  // per input: elements per outer row
  size_t esize_ = 4;
};

// One dtype for every input: f32, u8 or s8 (unknown at load: infer checks).
bool concat_accepts(const KernelInit& init) {
  DType first = DType::kUndefined;
  for (DType d : init.input_dtypes) {
    if (d == DType::kUndefined) continue;
    if (d != DType::kF32 && d != DType::kU8 && d != DType::kI8) return false;
    if (first != DType::kUndefined && d != first) return false;
    first = d;
  }
  return true;
}

const bool registered = [] {
  auto& reg = KernelRegistry::global();
  for (const char* op : {"Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSwish", "Tanh", "Elu", "Sqrt",
                         "Exp", "Abs", "Neg", "Pow"})
    reg.add(KernelDef{
        kProvider, "", op, 1, INT_MAX,
        [](const KernelInit& i) -> std::unique_ptr<Kernel> { return std::make_unique<Unary>(i); },
        unary_accepts});
  // Add/Sub/Mul/Div from opset 7 (numpy broadcasting; older versions have axis/broadcast).
  for (const char* op : {"Add", "Sub", "Mul", "Div"})
    reg.add(KernelDef{
        kProvider, "", op, 7, INT_MAX,
        [](const KernelInit& i) -> std::unique_ptr<Kernel> { return std::make_unique<Binary>(i); },
        all_f32});
  reg.add(KernelDef{
      kProvider, "", "Concat", 4, INT_MAX,
      [](const KernelInit& i) -> std::unique_ptr<Kernel> { return std::make_unique<Concat>(i); },
      concat_accepts});
  return true;
}();

}  // namespace
}  // namespace edgeopt::rt::onednn
