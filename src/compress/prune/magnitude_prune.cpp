// Unstructured magnitude pruning: the weights of smallest |w| become exactly
// zero.
//
// Layer scope zeroes k = floor(s·n) weights of every tensor; global scope ranks
// the weights of every tensor together and zeroes the k = floor(s·N) smallest
// overall, so layers with many small weights lose more. Ties at the threshold
// are broken by position so the count is exact. 2:4 zeroes the 2 smallest of
// every 4 consecutive weights along the input-channel axis (the pattern sparse
// tensor cores accelerate); a tensor whose input-channel count is not a
// multiple of 4 is skipped.
#include <algorithm>
#include <cmath>
#include <set>

#include "compress/prune/prune_util.h"
#include "edgeopt/error.h"
#include "edgeopt/prune.h"

namespace edgeopt {
namespace {

struct Target {
  int node;
  int input;
  size_t report;  // index in PruneReport::layers
};

// Zeroes the k smallest |w| of `w` (first positions win ties).
void zero_smallest(float *w, int64_t n, int64_t k) {
  if (k <= 0) return;
  std::vector<float> mag(w, w + n);
  for (float &v : mag) v = std::fabs(v);
  std::nth_element(mag.begin(), mag.begin() + (k - 1), mag.end());
  const float t = mag[k - 1];
  int64_t below = 0;
  for (int64_t i = 0; i < n; ++i) below += std::fabs(w[i]) < t;
  int64_t at_threshold = k - below;  // how many of the |w| == t ones go too
  for (int64_t i = 0; i < n; ++i) {
    const float a = std::fabs(w[i]);
    if (a < t) {
      w[i] = 0;
    } else if (a == t && at_threshold > 0) {
      w[i] = 0;
      --at_threshold;
    }
  }
}

// Axis of the weight that runs over the node's input channels (the reduction
// axis).
int input_axis(const Node &n, const Tensor &w, int input) {
  if (n.op_type == "Conv") return 1;
  if (n.op_type == "Gemm") return n.attr_int("transB", 0) ? 1 : 0;
  // MatMul x·W reduces over W's rows (axis -2); W·x reduces over W's columns
  // (axis -1).
  return input == 1 ? w.rank() - 2 : w.rank() - 1;
}

// 2:4 along `axis`: in each run of 4 entries, zero the 2 of smallest magnitude.
bool prune_2of4(Tensor &w, int axis) {
  const int64_t dim = w.dim(axis);
  if (dim % 4) return false;
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= w.dim(i);
  for (int i = axis + 1; i < w.rank(); ++i) inner *= w.dim(i);
  float *p = w.data<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t b = 0; b < dim; b += 4)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t idx[4];
        for (int j = 0; j < 4; ++j) idx[j] = ((o * dim) + b + j) * inner + i;
        std::stable_sort(idx, idx + 4,
                         [&](int64_t a, int64_t c) { return std::fabs(p[a]) < std::fabs(p[c]); });
        p[idx[0]] = 0;
        p[idx[1]] = 0;
      }
  return true;
}

int64_t count_zeros(const Tensor &w) {
  const float *p = w.data<float>();
  int64_t z = 0;
  for (int64_t i = 0; i < w.numel(); ++i) z += p[i] == 0.0f;
  return z;
}

}  // namespace

PruneScope parse_prune_scope(const std::string &name) {
  if (name == "layer") return PruneScope::kLayer;
  if (name == "global") return PruneScope::kGlobal;
  fail_input("pruning scope must be layer or global, not '", name, "'");
}

PrunePattern parse_prune_pattern(const std::string &name) {
  if (name == "unstructured") return PrunePattern::kUnstructured;
  if (name == "2:4") return PrunePattern::k2of4;
  fail_input("pruning pattern must be unstructured or 2:4, not '", name, "'");
}

PruneReport prune_unstructured(Model &model, const PruneOptions &options) {
  if (!(options.sparsity >= 0 && options.sparsity < 1))
    fail_input("--sparsity must be in [0, 1), got ", options.sparsity);
  Graph &g = model.graph;
  compress::check_node_names(g, options.exclude);
  const std::set<std::string> excluded(options.exclude.begin(), options.exclude.end());

  PruneReport report;
  std::vector<Target> targets;
  std::set<std::string> seen;  // a weight shared by two nodes is pruned once
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node &n = g.nodes[i];
    if (n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "MatMul") continue;
    LayerSparsity l;
    l.node = n.name;
    l.op_type = n.op_type;
    std::string why;
    const int wi = compress::weight_input(g, n, &why);
    if (wi >= 0) {
      l.tensor = n.input(wi);
      const Tensor &w = g.find_initializer(l.tensor)->tensor;
      l.shape = w.shape();
      l.numel = w.numel();
      l.zeros = count_zeros(w);
    } else {
      l.tensor = n.input(1);
    }
    if (wi < 0) {
      l.skipped = why;
    } else if (excluded.count(n.name)) {
      l.skipped = "excluded";
    } else if (seen.count(l.tensor)) {
      l.skipped = "shared weight, pruned with an earlier node";
    } else {
      seen.insert(l.tensor);
      targets.push_back({static_cast<int>(i), wi, report.layers.size()});
    }
    report.layers.push_back(l);
  }

  // Own copies: Tensor copies alias, and the caller may still hold the original
  // model.
  std::vector<Tensor> weights;
  for (const Target &t : targets) {
    NamedTensor *nt = g.find_initializer(g.nodes[t.node].inputs[t.input]);
    nt->tensor = nt->tensor.clone();
    weights.push_back(nt->tensor);
  }

  if (options.pattern == PrunePattern::k2of4) {
    for (size_t i = 0; i < targets.size(); ++i) {
      const Node &n = g.nodes[targets[i].node];
      if (!prune_2of4(weights[i], input_axis(n, weights[i], targets[i].input)))
        report.layers[targets[i].report].skipped = "input channels not a multiple of 4";
    }
  } else if (options.scope == PruneScope::kLayer) {
    for (Tensor &w : weights)
      zero_smallest(w.data<float>(), w.numel(),
                    static_cast<int64_t>(std::floor(options.sparsity * w.numel())));
  } else {
    // One threshold t over all weights: zero every |w| < t, then |w| == t in
    // order until exactly k are zero.
    std::vector<float> mag;
    for (const Tensor &w : weights)
      for (int64_t i = 0; i < w.numel(); ++i) mag.push_back(std::fabs(w.data<float>()[i]));
    const int64_t k = static_cast<int64_t>(std::floor(options.sparsity * mag.size()));
    if (k > 0) {
      std::nth_element(mag.begin(), mag.begin() + (k - 1), mag.end());
      const float t = mag[k - 1];
      int64_t below = 0;
      for (const Tensor &w : weights)
        for (int64_t i = 0; i < w.numel(); ++i) below += std::fabs(w.data<float>()[i]) < t;
      int64_t at_threshold = k - below;
      for (Tensor &w : weights) {
        float *p = w.data<float>();
        for (int64_t i = 0; i < w.numel(); ++i) {
          const float a = std::fabs(p[i]);
          if (a < t || (a == t && at_threshold-- > 0)) p[i] = 0;
        }
      }
    }
  }

  for (size_t i = 0; i < targets.size(); ++i) {
    LayerSparsity &l = report.layers[targets[i].report];
    l.zeros = count_zeros(weights[i]);
    report.numel += l.numel;
    report.zeros += l.zeros;
  }
  return report;
}

}  // namespace edgeopt
