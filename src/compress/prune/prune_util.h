// Helpers shared by the pruners and the low-rank factorization (internal).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edgeopt/ir.h"

namespace edgeopt::compress {

// Index of the constant float weight input of a Conv / Gemm / MatMul node (rank
// >= 2), or -1. `why` says why there is none when the node is one of those ops.
int weight_input(const Graph &g, const Node &n, std::string *why = nullptr);

// Names in `names` that are not node names of the graph (for --exclude checks).
void check_node_names(const Graph &g, const std::vector<std::string> &names);

// Copy of `t` keeping only the entries `keep` (sorted indices) along `axis`.
Tensor take_along_axis(const Tensor &t, int axis, const std::vector<int64_t> &keep);

// Makes input `input` of node `node` read `t`: replaces the initializer in
// place when no other node reads it, else adds a new initializer for this node
// alone.
void set_node_constant(Model &m, int node, int input, Tensor t);

}  // namespace edgeopt::compress
