// Gemm and MatMul with constant weights on the oneDNN matmul primitive (f32).
//   Gemm:   Y = alpha * op(A) @ op(B) + beta * C,  op = transpose when transA/transB
//   MatMul: Y = A @ B,  A [..., K] (leading dims flattened into M), B [K, N]
// alpha is folded into the weights and beta into the bias once at load; the weights are
// prepacked into the layout the kernel chooses (format_tag::any) once per M. C must be a
// constant broadcast along rows ([N], [1, N] or a single value): it becomes the bias.
#include <memory>

#include "common.h"

namespace edgeopt::rt::onednn {
namespace {

class MatMulKernel final : public NodeKernel {
 public:
  explicit MatMulKernel(const KernelInit& init) : NodeKernel(init) {
    gemm_ = node_.op_type == "Gemm";
    threads_ = init.threads;
    const Tensor& b = *init.constants.at(1);
    const bool trans_b = gemm_ && node_.attr_int("transB", 0);
    trans_a_ = gemm_ && node_.attr_int("transA", 0);
    k_ = trans_b ? b.dim(1) : b.dim(0);
    n_ = trans_b ? b.dim(0) : b.dim(1);
    const float alpha = gemm_ ? node_.attr_float("alpha", 1.f) : 1.f;
    // w [K, N] row-major = alpha * op(B).
    w_ = Tensor(DType::kF32, {k_, n_});
    const float* src = b.data<float>();
    float* w = w_.data<float>();
    for (int64_t i = 0; i < k_; ++i)
      for (int64_t j = 0; j < n_; ++j)
        w[i * n_ + j] = alpha * (trans_b ? src[j * k_ + i] : src[i * n_ + j]);
    if (gemm_ && init.constants.size() > 2 && init.constants[2]) {
      const Tensor& c = *init.constants[2];
      const float beta = node_.attr_float("beta", 1.f);
      bias_ = Tensor(DType::kF32, {1, n_});
      for (int64_t j = 0; j < n_; ++j)
        bias_.data<float>()[j] = beta * c.data<float>()[c.numel() == 1 ? 0 : j];
    }
  }

  void infer(InferContext& ctx) override {
    const Tensor& a = ctx.input(0);
    require_f32(node_, a, "input A");
    Shape out;
    int64_t m = 0, k = 0;
    if (gemm_) {
      if (a.rank() != 2) fail_input("node ", node_.describe(), ": A must be 2-D");
      m = trans_a_ ? a.dim(1) : a.dim(0);
      k = trans_a_ ? a.dim(0) : a.dim(1);
      out = {m, n_};
    } else {
      if (a.rank() < 1) fail_input("node ", node_.describe(), ": A must have rank >= 1");
      k = a.dim(-1);
      m = a.numel() / std::max<int64_t>(k, 1);
      if (k == 0) m = shape_numel(Shape(a.shape().begin(), a.shape().end() - 1));
      out = Shape(a.shape().begin(), a.shape().end() - 1);
      out.push_back(n_);
    }
    if (k != k_)
      fail_input("node ", node_.describe(), ": A ", shape_str(a.shape()), " has K = ", k,
                 ", B has K = ", k_);
    ctx.set_output(0, DType::kF32, out);
    if (m == 0 || n_ == 0) return;
    if (k_ == 0) return;  // run() writes the bias (or zeros)
    run_threads_ = threads_for(threads_, m * k_ * n_, 4 * (m * (k_ + n_) + k_ * n_));
    set_threads(run_threads_);  // jit kernels fix their thread split at creation
    ctx.request_scratch(entry(m).scratch_bytes);
  }

  // B (and C) are copied into w_ (bias_) at create.
  bool owns_constant(size_t input) const override { return input == 1 || input == 2; }

  void run(RunContext& ctx) override {
    Tensor& y = ctx.output(0);
    if (y.numel() == 0) return;
    if (k_ == 0) {
      for (int64_t i = 0; i < y.numel(); ++i)
        y.data<float>()[i] = bias_.defined() ? bias_.data<float>()[i % n_] : 0.f;
      return;
    }
    Entry* e = find(y.numel() / n_);
    if (!e) fail_input("node ", node_.describe(), ": run() before infer() for this shape");
    set_threads(run_threads_);
    e->src.set_data_handle(const_cast<void*>(ctx.input(0).raw()));
    e->dst.set_data_handle(y.raw());
    if (e->scratch_bytes) e->scratch.set_data_handle(ctx.scratch);
    e->prim.execute(stream(), e->args);
  }

 private:
  struct Entry {
    int64_t m = 0;
    dnnl::matmul prim;
    dnnl::memory src, dst, weights, bias, scratch;
    std::unordered_map<int, dnnl::memory> args;
    size_t scratch_bytes = 0;
  };

  Entry* find(int64_t m) {
    for (auto& e : cache_)
      if (e->m == m) return e.get();
    return nullptr;
  }

  Entry& entry(int64_t m) {
    if (Entry* e = find(m)) return *e;
    const dnnl::memory::desc src_md({m, k_}, dt::f32, trans_a_ ? tag::ba : tag::ab);
    const dnnl::memory::desc w_md({k_, n_}, dt::f32, tag::any);
    const dnnl::memory::desc w_user_md({k_, n_}, dt::f32, tag::ab);
    const dnnl::memory::desc dst_md({m, n_}, dt::f32, tag::ab);
    const dnnl::memory::desc b_md =
        bias_.defined() ? dnnl::memory::desc({1, n_}, dt::f32, tag::ab) : dnnl::memory::desc();
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, w_md, b_md, dst_md), attr,
                                          engine());
    auto e = std::make_unique<Entry>();
    e->m = m;
    e->prim = dnnl::matmul(pd);
    const Tensor plain = plain_weights(w_, w_source_, w_user_md);
    dnnl::memory w_user(w_user_md, engine(), const_cast<void*>(plain.raw()));
    e->weights = dnnl::memory(pd.weights_desc(), engine());
    dnnl::reorder(w_user, e->weights).execute(stream(), w_user, e->weights);
    stream().wait();
    release_plain(w_, e->weights, w_source_);
    e->src = user_memory(src_md);
    e->dst = user_memory(dst_md);
    e->args = {{DNNL_ARG_SRC, e->src}, {DNNL_ARG_WEIGHTS, e->weights}, {DNNL_ARG_DST, e->dst}};
    if (bias_.defined()) {
      e->bias = dnnl::memory(b_md, engine(), bias_.raw());
      e->args[DNNL_ARG_BIAS] = e->bias;
    }
    attach_scratchpad(*e, pd.scratchpad_desc());
    return keep_recent(cache_, std::move(e));
  }

  bool gemm_ = false, trans_a_ = false;
  int64_t k_ = 0, n_ = 0;
  int threads_ = 1, run_threads_ = 1;
  Tensor w_, bias_;
  dnnl::memory w_source_;  // the prepacked weights once w_ holds no data (release_plain)
  std::vector<std::unique_ptr<Entry>> cache_;
};

// B a constant f32 matrix; Gemm's C absent or a constant broadcast along rows.
bool matmul_accepts(const KernelInit& init) {
  if (!all_f32(init) || init.constants.size() < 2 || !init.constants[1]) return false;
  const Tensor& b = *init.constants[1];
  if (b.dtype() != DType::kF32 || b.rank() != 2) return false;
  if (init.node.op_type != "Gemm") return true;
  if (init.node.inputs.size() < 3 || init.node.inputs[2].empty()) return true;
  const Tensor* c = init.constants.size() > 2 ? init.constants[2] : nullptr;
  if (!c || c->dtype() != DType::kF32) return false;
  const int64_t n = init.node.attr_int("transB", 0) ? b.dim(0) : b.dim(1);
  if (c->numel() == 1) return true;
  return (c->rank() == 1 && c->dim(0) == n) || (c->rank() == 2 && c->dim(0) == 1 && c->dim(1) == n);
}

const bool registered = [] {
  auto& reg = KernelRegistry::global();
  for (const char* op : {"Gemm", "MatMul"})
    reg.add(KernelDef{kProvider, "", op, 1, INT_MAX,
                      [](const KernelInit& i) -> std::unique_ptr<Kernel> {
                        return std::make_unique<MatMulKernel>(i);
                      },
                      matmul_accepts});
  return true;
}();

}  // namespace
}  // namespace edgeopt::rt::onednn
