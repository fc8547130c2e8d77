// Low-rank factorization by truncated SVD (Eigen's BDCSVD, in double).
//
// W = U Σ Vᵀ; keeping the r largest singular values gives the best rank-r
// approximation (Eckart–Young) with ||W − W_r||_F² = Σ_{i≥r} σ_i². The factors
// are split evenly, A = U_r Σ_r^½ and B = Σ_r^½ V_rᵀ, so neither carries all
// the scale (kinder to later fp16 or int8 quantization). Per output row (or
// pixel) a K×N product costs K·N MACs, the factored one r·(K + N); a Cout×Cin×k
// conv costs Cout·Cin·k, the factored pair r·Cin·k + Cout·r.
#include <Eigen/Dense>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <set>

#include "compress/prune/prune_util.h"
#include "edgeopt/error.h"
#include "edgeopt/lowrank.h"
#include "ir/graph_util.h"

namespace edgeopt {
namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct Factors {
  Matrix a;  // rows × r
  Matrix b;  // r × cols
};

int64_t choose_rank(const Eigen::VectorXd &s, const LowRankOptions &o) {
  const int64_t full = s.size();
  if (o.rank_ratio > 0)
    return std::clamp<int64_t>(std::llround(o.rank_ratio * static_cast<double>(full)), 1, full);
  const double total = s.squaredNorm();
  double acc = 0;
  for (int64_t r = 0; r < full; ++r) {
    acc += s[r] * s[r];
    if (acc >= o.energy * total) return r + 1;
  }
  return full;
}

// ||W − A·B||_F / ||W||_F of the float factors actually stored.
double relative_error(const Matrix &w, const Matrix &a, const Matrix &b) {
  const Matrix af = a.cast<float>().cast<double>(), bf = b.cast<float>().cast<double>();
  const double norm = w.norm();
  return norm > 0 ? (w - af * bf).norm() / norm : 0.0;
}

Tensor to_tensor(const Matrix &m, Shape shape) {
  Tensor t(DType::kF32, std::move(shape));
  float *p = t.data<float>();
  for (int64_t i = 0; i < m.size(); ++i) p[i] = static_cast<float>(m.data()[i]);
  return t;
}

class Factorizer {
 public:
  Factorizer(Model &m, const LowRankOptions &o) : model_(m), g_(m.graph), opt_(o) {}

  LowRankReport run() {
    const bool by_energy = opt_.energy > 0, by_ratio = opt_.rank_ratio > 0;
    if (by_energy == by_ratio) fail_input("give exactly one of --energy and --rank-ratio");
    if (by_energy && opt_.energy > 1) fail_input("--energy must be in (0, 1], got ", opt_.energy);
    if (by_ratio && opt_.rank_ratio > 1)
      fail_input("--rank-ratio must be in (0, 1], got ", opt_.rank_ratio);
    compress::check_node_names(g_, opt_.exclude);
    const std::set<std::string> excluded(opt_.exclude.begin(), opt_.exclude.end());
    LowRankReport report;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const Node &n = g_.nodes[i];
      if (n.op_type != "Gemm" && n.op_type != "MatMul" && n.op_type != "Conv") continue;
      if (!(n.domain.empty() || n.domain == "ai.onnx")) continue;
      LowRankLayer l;
      l.node = n.name;
      l.op_type = n.op_type;
      if (excluded.count(n.name))
        l.skipped = "excluded";
      else if (factorize(static_cast<int>(i), l))
        ++i;  // the node became two; skip the second
      report.layers.push_back(l);
    }
    // Drop weights nothing reads any more; shapes of the new intermediates are
    // inferred.
    std::vector<std::string> unused;
    for (const NamedTensor &t : g_.initializers)
      if (g_.use_count(t.name) == 0 && !g_.is_graph_input(t.name)) unused.push_back(t.name);
    for (const std::string &name : unused) g_.remove_initializer(name);
    refresh_shapes(model_);
    return report;
  }

 private:
  // The matrix of node `i` as rows × cols, or false with l.skipped set.
  bool weight_matrix(int i, Matrix &w, LowRankLayer &l) {
    const Node &n = g_.nodes[i];
    const Tensor *t = constant_of(g_, n.input(1));
    if (!t || t->dtype() != DType::kF32) {
      l.skipped = "weight is not a float32 constant";
      return false;
    }
    const float *p = t->data<float>();
    if (n.op_type == "Conv") {
      if (t->rank() < 3 || n.attr_int("group", 1) != 1) {
        l.skipped = "grouped convolution";
        return false;
      }
      w = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
              p, t->dim(0), t->numel() / t->dim(0))
              .cast<double>();
      return true;
    }
    if (t->rank() != 2 || (n.op_type == "Gemm" && n.attr_int("transA", 0))) {
      l.skipped = "not x·W with a 2-D constant W";
      return false;
    }
    w = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
            p, t->dim(0), t->dim(1))
            .cast<double>();
    // Gemm with transB holds Wᵀ (N×K); factorize the K×N matrix x is multiplied
    // by.
    if (n.op_type == "Gemm" && n.attr_int("transB", 0)) w.transposeInPlace();
    return true;
  }

  bool factorize(int i, LowRankLayer &l) {
    Matrix w;
    if (!weight_matrix(i, w, l)) return false;
    const bool conv = g_.nodes[i].op_type == "Conv";
    l.rows = w.rows();
    l.cols = w.cols();
    l.full_rank = std::min(l.rows, l.cols);
    Eigen::BDCSVD<Matrix> svd(w, Eigen::ComputeThinU | Eigen::ComputeThinV);
    const Eigen::VectorXd s = svd.singularValues();
    const int64_t r = choose_rank(s, opt_);
    l.rank = r;
    // Conv: rows = Cout, cols = Cin·k. Gemm/MatMul: rows = K, cols = N.
    l.macs_before = l.rows * l.cols;
    l.macs_after = conv ? r * l.cols + l.rows * r : r * (l.rows + l.cols);
    const Eigen::VectorXd root = s.head(r).cwiseSqrt();
    Factors f;
    f.a = svd.matrixU().leftCols(r) * root.asDiagonal();
    f.b = root.asDiagonal() * svd.matrixV().leftCols(r).transpose();
    l.rel_error = relative_error(w, f.a, f.b);
    if (l.macs_after >= l.macs_before) {
      l.skipped = "does not lower MACs at this rank";
      return false;
    }
    if (conv)
      rewrite_conv(i, f, r);
    else
      rewrite_linear(i, f, r);
    l.applied = true;
    return true;
  }

  // x·W (+ C) → (x·A)·B (+ C): a MatMul, then the original node with B as its
  // weight.
  void rewrite_linear(int i, const Factors &f, int64_t r) {
    Node second = g_.nodes[i];
    const std::string mid = g_.unique_name(second.name + "_lowrank");
    Node first;
    first.name = g_.unique_name(second.name + "_lowrank_a");
    first.op_type = "MatMul";
    first.inputs = {second.inputs[0], add_constant(model_, second.inputs[1] + "_lowrank_a",
                                                   to_tensor(f.a, {f.a.rows(), r}))};
    first.outputs = {mid};
    second.inputs[0] = mid;
    second.inputs[1] =
        add_constant(model_, second.inputs[1] + "_lowrank_b", to_tensor(f.b, {r, f.b.cols()}));
    if (second.op_type == "Gemm") second.set_attr_int("transB", 0);
    g_.nodes[i] = second;
    g_.nodes.insert(g_.nodes.begin() + i, first);
  }

  // Conv(x, W, b) → Conv(Conv(x, B as r filters of the same kernel), A as 1×1,
  // b).
  void rewrite_conv(int i, const Factors &f, int64_t r) {
    Node second = g_.nodes[i];
    // A copy (shares the data): adding initializers below may move the graph's
    // tensors.
    const Tensor w = *constant_of(g_, second.input(1));
    Shape first_shape = w.shape();
    first_shape[0] = r;
    Shape second_shape(w.rank(), 1);
    second_shape[0] = w.dim(0);
    second_shape[1] = r;
    Node first = second;
    first.name = g_.unique_name(second.name + "_lowrank_a");
    const std::string mid = g_.unique_name(second.name + "_lowrank");
    first.inputs = {second.inputs[0], add_constant(model_, second.inputs[1] + "_lowrank_b",
                                                   to_tensor(f.b, first_shape))};
    first.outputs = {mid};
    // The 1×1 conv sees the first conv's output grid: unit kernel, stride,
    // dilation, no pad.
    second.attributes.clear();
    second.set_attr_ints("kernel_shape", std::vector<int64_t>(w.rank() - 2, 1));
    second.inputs[0] = mid;
    second.inputs[1] =
        add_constant(model_, second.inputs[1] + "_lowrank_a", to_tensor(f.a, second_shape));
    g_.nodes[i] = second;
    g_.nodes.insert(g_.nodes.begin() + i, first);
  }

  Model &model_;
  Graph &g_;
  const LowRankOptions &opt_;
};

}  // namespace

LowRankReport factorize_lowrank(Model &model, const LowRankOptions &options) {
  return Factorizer(model, options).run();
}

}  // namespace edgeopt
