// MatMul with numpy semantics: the last two dims multiply (M x K times K x N), leading dims
// broadcast; a 1-D left operand is a row vector (1 x K) and a 1-D right operand a column vector
// (K x 1), whose unit dim is then dropped from the result.
#include "gemm_ref.h"

namespace edgeopt::rt::ref {
namespace {

struct MatMulGeometry {
  Shape a_shape, b_shape;
  int64_t m = 0, k = 0, n = 0;
  Shape batch;                        // broadcast batch dims
  std::vector<int64_t> a_bst, b_bst;  // per batch dim: matrix-offset stride (0 if broadcast)
};

class MatMul final : public NodeKernel {
 public:
  using NodeKernel::NodeKernel;

  void infer(InferContext& ctx) override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    check_gemm_operands(node_, a, b);
    const MatMulGeometry g = geometry(a.shape(), b.shape());
    Shape out = g.batch;
    if (a.rank() >= 2) out.push_back(g.m);
    if (b.rank() >= 2) out.push_back(g.n);
    ctx.set_output(0, a.dtype(), out);
  }

  void run(RunContext& ctx) override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    if (a.shape() != geo_.a_shape || b.shape() != geo_.b_shape)
      geo_ = geometry(a.shape(), b.shape());
    EDGEOPT_DISPATCH_GEMM(a.dtype(), node_, compute<T>(a, b, ctx.output(0)));
  }

 private:
  template <class T>
  void compute(const Tensor& a, const Tensor& b, Tensor& y) const {
    const MatMulGeometry& g = geo_;
    const int64_t batches = prod_of(g.batch);
    const T* ad = a.data<T>();
    const T* bd = b.data<T>();
    T* yd = y.data<T>();
    std::fill(yd, yd + batches * g.m * g.n, T(0));
    for (int64_t i = 0; i < batches; ++i) {
      // Offsets of batch i's matrices: digits of i in `batch` times the broadcast strides.
      int64_t a_off = 0, b_off = 0, rem = i;
      for (int d = static_cast<int>(g.batch.size()) - 1; d >= 0; --d) {
        const int64_t digit = rem % g.batch[d];
        rem /= g.batch[d];
        a_off += digit * g.a_bst[d];
        b_off += digit * g.b_bst[d];
      }
      gemm_accumulate<T>(g.m, g.n, g.k, T(1), ad + a_off, g.k, 1, bd + b_off, g.n, 1,
                         yd + i * g.m * g.n, g.n);
    }
  }

  static int64_t prod_of(const Shape& s) {
    int64_t p = 1;
    for (int64_t d : s) p *= d;
    return p;
  }

  MatMulGeometry geometry(const Shape& as, const Shape& bs) const {
    if (as.empty() || bs.empty())
      fail_input("node ", node_.describe(), ": MatMul operands must have rank >= 1, got ",
                 shape_str(as), " and ", shape_str(bs));
    MatMulGeometry g;
    g.a_shape = as;
    g.b_shape = bs;
    Shape a2 = as, b2 = bs;
    if (a2.size() == 1) a2.insert(a2.begin(), 1);
    if (b2.size() == 1) b2.push_back(1);
    g.m = a2[a2.size() - 2];
    g.k = a2.back();
    g.n = b2.back();
    if (b2[b2.size() - 2] != g.k)
      fail_input("node ", node_.describe(), ": inner dimensions differ for ", shape_str(as),
                 " and ", shape_str(bs));
    const Shape ab(a2.begin(), a2.end() - 2), bb(b2.begin(), b2.end() - 2);
    g.batch = broadcast_shapes({ab, bb}, node_);
    // Batch strides in units of elements: a matrix of `a` is m * k elements.
    std::vector<int64_t> as_ = broadcast_strides(ab, g.batch);
    std::vector<int64_t> bs_ = broadcast_strides(bb, g.batch);
    for (int64_t& s : as_) s *= g.m * g.k;
    for (int64_t& s : bs_) s *= g.k * g.n;
    g.a_bst = std::move(as_);
    g.b_bst = std::move(bs_);
    return g;
  }

  MatMulGeometry geo_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "MatMul", 1, INT_MAX, MatMul);

}  // namespace
}  // namespace edgeopt::rt::ref
