// gemm_bn_fold: Gemm (or MatMul with a 2-D input) with a constant weight followed by an
// inference BatchNormalization over the feature axis (BN on [N, F]: channel axis 1 is the
// feature) becomes one Gemm. With s = gamma / sqrt(var + eps) per feature j:
//   Y = alpha * A' * B' + beta * C,   Z[:, j] = (Y[:, j] - mean[j]) * s[j] + bn_beta[j]
//   => column j of B' scaled by s[j], C'[j] = (beta * C[j] - mean[j]) * s[j] + bn_beta[j],
//      and the Gemm's beta becomes 1.
// A MatMul is rewritten as Gemm(A, B', C') (alpha = beta = 1), so its A input must be 2-D.
#include "pass_util.h"

namespace edgeopt::passes {
namespace {

class GemmBnFold final : public Pass {
 public:
  bool run(Model& model) override { return fold_each_bn(model, try_fold); }

 private:
  static bool try_fold(Model& model, int bn_index, int pi, std::unordered_set<std::string>& gone) {
    Graph& g = model.graph;
    const Node& bn = g.nodes[bn_index];
    const Node& mm = g.nodes[pi];
    const bool gemm = mm.op_type == "Gemm";
    if ((!gemm && mm.op_type != "MatMul") || !mm.is_default_domain()) return false;
    // Gemm output is always 2-D; MatMul's is when both inputs are.
    if (!gemm && rank_of(g, mm.input(0)) != 2) return false;
    const std::optional<BnParams> p = foldable_bn(g, bn, model.opset());
    if (!p) return false;
    const Tensor* w = constant_of(g, mm.input(1));
    if (!w || w->rank() != 2) return false;
    const DType dt = w->dtype();
    if (dt != DType::kF32 && dt != DType::kF64 && dt != DType::kF16) return false;
    const bool trans_b = gemm && mm.attr_int("transB", 0);
    const int64_t f = static_cast<int64_t>(p->scale.size());
    const int64_t k = trans_b ? w->dim(1) : w->dim(0);
    if ((trans_b ? w->dim(0) : w->dim(1)) != f) return false;
    const double beta = gemm ? mm.attr_float("beta", 1.0f) : 0.0;
    std::vector<double> cv(f, 0.0);
    if (gemm && !mm.input(2).empty()) {
      // C must be per-feature (shape [F], [1, F], [1] or scalar), not per-row.
      const Tensor* c = constant_of(g, mm.input(2));
      if (!c || c->dtype() != dt || c->rank() > 2) return false;
      const bool per_feature = c->numel() == f && c->rank() >= 1 && c->shape().back() == f &&
                               (c->rank() == 1 || (c->rank() == 2 && c->dim(0) == 1));
      if (!per_feature && c->numel() != 1) return false;
      for (int64_t j = 0; j < f; ++j) cv[j] = c->get_f64(per_feature ? j : 0);
    }

    std::vector<double> wv = to_doubles(*w);
    for (int64_t r = 0; r < k; ++r)
      for (int64_t j = 0; j < f; ++j) wv[trans_b ? j * k + r : r * f + j] *= p->scale[j];
    std::vector<double> bias(f);
    for (int64_t j = 0; j < f; ++j)
      bias[j] = (beta * cv[j] - p->mean[j]) * p->scale[j] + p->beta[j];

    absorb_bn(model, pi, bn_index, from_doubles(wv, dt, w->shape()), from_doubles(bias, dt, {f}),
              gone);
    Node& n = g.nodes[pi];
    if (!gemm) {
      n.op_type = "Gemm";
      n.attributes.clear();
    }
    n.set_attr_float("beta", 1.0f);
    return true;
  }
};

EDGEOPT_REGISTER_PASS(GemmBnFold, "gemm_bn_fold", 70, 2, {"BatchNormalization"});

}  // namespace
}  // namespace edgeopt::passes
