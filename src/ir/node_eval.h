// Evaluating one node on constant inputs, for the graph passes (constant folding) without a
// dependency on the runtime: the runtime registers its reference kernels here at static
// initialization (runtime/evaluate.cpp), as it registers its shape inference (shape_hints.h).
// A program built without the runtime has no evaluator, and constant folding then only turns
// Constant nodes into initializers.
#pragma once

#include <cstdint>
#include <vector>

#include "edgeopt/ir.h"
#include "edgeopt/tensor.h"

namespace edgeopt {

// Computes `node` (its domain at version `opset`) on `inputs` (one per node input, nullptr for
// an absent optional one; every present input has data). Returns one tensor per node output, an
// output whose name is empty left undefined. Throws Error(kUnsupported, "no provider can run
// ...") when no kernel takes the node, and whatever the kernel throws on bad inputs.
using NodeEvaluator = std::vector<Tensor> (*)(const Node& node, int64_t opset,
                                              const std::vector<const Tensor*>& inputs);
void set_node_evaluator(NodeEvaluator fn);
// The registered evaluator, or nullptr.
NodeEvaluator node_evaluator();

}  // namespace edgeopt
