// Helpers of the graph passes (internal) that are theirs alone; the graph-editing core they
// share with the providers' rewrites and the compressors is ir/graph_util.h.
#pragma once

#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "edgeopt/ir.h"
#include "edgeopt/passes.h"
#include "ir/graph_util.h"

namespace edgeopt::passes {

// Moves Constant nodes (except those producing graph outputs) into initializers of the same
// name; returns true when it moved any (constant_folding.cpp).
bool constants_to_initializers(Model& model);

// An inference BatchNormalization y = (x - mean) * scale + beta with
// scale = gamma / sqrt(var + eps), per channel, all parameters constant.
struct BnParams {
  std::vector<double> scale;
  std::vector<double> mean, beta;
};
// The parameters of `bn` when it is such a node (training outputs unused), else nullopt.
std::optional<BnParams> foldable_bn(const Graph& g, const Node& bn, int64_t opset);

// What the BatchNormalization folds share (conv_bn_fold, gemm_bn_fold). A fold takes a
// BatchNormalization and the node producing its input, both by index, and returns true when it
// folded them.
using BnFold = bool (*)(Model& model, int bn_index, int producer,
                        std::unordered_set<std::string>& gone);
// Tries `fold` on every BatchNormalization that alone reads its input (no graph output either),
// in one sweep (a folded BatchNormalization is only marked, so later indices stay put), then
// compacts the graph and forgets the values in `gone`.
bool fold_each_bn(Model& model, BnFold fold);
// Node `producer` takes over bn: its weight (input 1) becomes w and its bias (input 2) `bias`
// (replacing input 2's constant, or added as "<weight>_bn_bias"), its output is bn's output,
// bn is removed and its input goes into `gone`.
void absorb_bn(Model& model, int producer, int bn_index, Tensor w, Tensor bias,
               std::unordered_set<std::string>& gone);

}  // namespace edgeopt::passes
