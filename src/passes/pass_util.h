// Helpers of the graph passes (internal) that are theirs alone; the graph-editing core they
// share with the providers' rewrites and the compressors is ir/graph_util.h.
#pragma once

#include <optional>
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

}  // namespace edgeopt::passes
