// conv_bn_fold: Conv / ConvTranspose followed by an inference BatchNormalization becomes one
// Conv with rescaled weights and bias. Per output channel c:
//   s = gamma[c] / sqrt(var[c] + eps)
//   w'[c, ...] = w[c, ...] * s
//   b'[c] = (b[c] - mean[c]) * s + beta[c]        (b = 0 when the conv has no bias)
// Only when every weight is a constant and the conv output feeds the BatchNormalization alone
// (and is not a graph output). Arithmetic is done in double.
#include <cmath>

#include "pass_util.h"

namespace edgeopt::passes {
namespace {

class ConvBnFold final : public Pass {
 public:
  bool run(Model& model) override { return fold_each_bn(model, try_fold); }

 private:
  static bool try_fold(Model& model, int bn_index, int ci, std::unordered_set<std::string>& gone) {
    Graph& g = model.graph;
    const Node& bn = g.nodes[bn_index];
    const Node& conv = g.nodes[ci];
    const bool transpose = conv.op_type == "ConvTranspose";
    if ((conv.op_type != "Conv" && !transpose) || !conv.is_default_domain() ||
        conv.outputs.size() != 1)
      return false;
    const std::optional<BnParams> p = foldable_bn(g, bn, model.opset());
    if (!p) return false;
    const Tensor* w = constant_of(g, conv.input(1));
    if (!w || !is_real(w->dtype()) || w->rank() < 3) return false;
    const std::string& bias_name = conv.input(2);
    const Tensor* b = bias_name.empty() ? nullptr : constant_of(g, bias_name);
    if (!bias_name.empty() && !b) return false;

    const int64_t c = static_cast<int64_t>(p->scale.size());
    const int64_t group = conv.attr_int("group", 1);
    // Conv: w is [M, C/group, k...]. ConvTranspose: w is [C, M/group, k...].
    const int64_t m = transpose ? w->dim(1) * group : w->dim(0);
    if (m != c || group <= 0 || (transpose && w->dim(0) % group)) return false;
    if (b && (b->numel() != c || b->dtype() != w->dtype())) return false;

    std::vector<double> wv = to_doubles(*w);
    const int64_t spatial = w->numel() / (w->dim(0) * w->dim(1));
    if (!transpose) {
      const int64_t per_out = w->numel() / c;  // w'[o, ...] = w[o, ...] * s[o]
      for (int64_t o = 0; o < c; ++o)
        for (int64_t k = 0; k < per_out; ++k) wv[o * per_out + k] *= p->scale[o];
    } else {
      // Input channel ci of group ci / (C/group) feeds output g * (M/group) + j.
      const int64_t in_per_group = w->dim(0) / group, out_per_group = w->dim(1);
      for (int64_t ic = 0; ic < w->dim(0); ++ic)
        for (int64_t j = 0; j < out_per_group; ++j) {
          const double s = p->scale[ic / in_per_group * out_per_group + j];
          double* row = &wv[(ic * out_per_group + j) * spatial];
          for (int64_t k = 0; k < spatial; ++k) row[k] *= s;
        }
    }
    std::vector<double> bv(c);
    for (int64_t o = 0; o < c; ++o) {
      const double b0 = b ? b->get_f64(o) : 0.0;
      bv[o] = (b0 - p->mean[o]) * p->scale[o] + p->beta[o];  // b' = (b - mean) * s + beta
    }
    const DType dt = w->dtype();
    absorb_bn(model, ci, bn_index, from_doubles(wv, dt, w->shape()), from_doubles(bv, dt, {c}),
              gone);
    return true;
  }
};

EDGEOPT_REGISTER_PASS(ConvBnFold, "conv_bn_fold", 60, 2, {"BatchNormalization"});

}  // namespace
}  // namespace edgeopt::passes
