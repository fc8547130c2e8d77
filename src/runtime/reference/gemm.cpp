// Gemm: Y = alpha * A' * B' + beta * C, where A' = transA ? A^T : A (M x K), B' = transB ? B^T : B
// (K x N) and C (optional) broadcasts to M x N.
#include "gemm_ref.h"

namespace edgeopt::rt::ref {
namespace {

class Gemm final : public NodeKernel {
 public:
  explicit Gemm(const KernelInit& init)
      : NodeKernel(init),
        alpha_(init.node.attr_float("alpha", 1.0f)),
        beta_(init.node.attr_float("beta", 1.0f)),
        trans_a_(init.node.attr_int("transA", 0) != 0),
        trans_b_(init.node.attr_int("transB", 0) != 0) {}

  void infer(InferContext& ctx) override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    check_gemm_operands(node_, a, b);
    if (a.rank() != 2 || b.rank() != 2)
      fail_input("node ", node_.describe(), ": A and B must be matrices, got ",
                 shape_str(a.shape()), " and ", shape_str(b.shape()));
    const int64_t m = trans_a_ ? a.dim(1) : a.dim(0);
    const int64_t k = trans_a_ ? a.dim(0) : a.dim(1);
    const int64_t kb = trans_b_ ? b.dim(1) : b.dim(0);
    const int64_t n = trans_b_ ? b.dim(0) : b.dim(1);
    if (k != kb)
      fail_input("node ", node_.describe(), ": inner dimensions differ (", k, " vs ", kb,
                 ") for A ", shape_str(a.shape()), (trans_a_ ? " transposed" : ""), " and B ",
                 shape_str(b.shape()), (trans_b_ ? " transposed" : ""));
    if (ctx.has_input(2)) {
      const Tensor& c = ctx.input(2);
      const Shape& cs = c.shape();
      // Unidirectional broadcast of C to M x N.
      bool ok = c.dtype() == a.dtype() && cs.size() <= 2;
      if (ok && cs.size() >= 1) ok = cs.back() == 1 || cs.back() == n;
      if (ok && cs.size() == 2) ok = cs[0] == 1 || cs[0] == m;
      if (!ok)
        fail_input("node ", node_.describe(), ": C '", node_.input(2), "' (", dtype_name(c.dtype()),
                   " ", shape_str(cs), ") does not broadcast to ", m, "x", n);
    }
    ctx.set_output(0, a.dtype(), {m, n});
  }

  void run(RunContext& ctx) override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    Tensor& y = ctx.output(0);
    const Tensor* c = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    EDGEOPT_DISPATCH_GEMM(a.dtype(), node_, compute<T>(a, b, c, y));
  }

 private:
  template <class T>
  void compute(const Tensor& a, const Tensor& b, const Tensor* c, Tensor& y) const {
    const int64_t m = y.dim(0), n = y.dim(1);
    const int64_t k = trans_a_ ? a.dim(0) : a.dim(1);
    T* yd = y.data<T>();
    // beta = 0 drops C entirely (so an inf/nan in C does not leak), as ONNX Runtime does.
    if (c && beta_ != 0.0f) {
      const Shape& cs = c->shape();
      const int64_t c_cs = (cs.empty() || cs.back() == 1) ? 0 : 1;
      const int64_t c_rs = (cs.size() < 2 || cs[0] == 1) ? 0 : cs.back();
      const T* cd = c->data<T>();
      const T beta = static_cast<T>(beta_);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) yd[i * n + j] = beta * cd[i * c_rs + j * c_cs];
    } else {
      std::fill(yd, yd + m * n, T(0));
    }
    // A(i, k) = a[i * a_rs + k * a_cs]: a is stored M x K, or K x M when transposed.
    const int64_t a_rs = trans_a_ ? 1 : k, a_cs = trans_a_ ? m : 1;
    const int64_t b_rs = trans_b_ ? 1 : n, b_cs = trans_b_ ? k : 1;
    gemm_accumulate<T>(m, n, k, static_cast<T>(alpha_), a.data<T>(), a_rs, a_cs, b.data<T>(), b_rs,
                       b_cs, yd, n);
  }

  float alpha_, beta_;
  bool trans_a_, trans_b_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Gemm", 1, INT_MAX, Gemm);

}  // namespace
}  // namespace edgeopt::rt::ref
