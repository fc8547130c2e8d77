// Pruning of ONNX models by weight magnitude.
//
// Unstructured pruning zeroes individual weights (the file shrinks once
// deflated, the MACs do not change). Structured pruning removes whole output
// channels of convolutions and linear layers, consistently across the channel
// dependency groups of the graph (residual adds, concats, depthwise
// convolutions, flatten → gemm), so the result is a smaller dense model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edgeopt/ir.h"

namespace edgeopt {

enum class PruneScope {
  kLayer,   // every weight tensor loses the same fraction
  kGlobal,  // all weights ranked together: one magnitude threshold for the whole
            // model
};

enum class PrunePattern {
  kUnstructured,  // any weight may be zeroed
  k2of4,          // 2 zeros in every 4 consecutive weights along the input-channel axis
};

struct PruneOptions {
  double sparsity = 0.5;  // fraction of weights to zero, in [0, 1) (2:4 always gives 0.5)
  PruneScope scope = PruneScope::kLayer;
  PrunePattern pattern = PrunePattern::kUnstructured;
  std::vector<std::string> exclude;  // node names left untouched
};

// Sparsity of one pruned (or skipped) weight tensor.
struct LayerSparsity {
  std::string node;
  std::string op_type;
  std::string tensor;
  Shape shape;
  int64_t numel = 0;
  int64_t zeros = 0;    // after pruning
  std::string skipped;  // non-empty: why this weight was left as is
};

struct PruneReport {
  std::vector<LayerSparsity> layers;
  int64_t numel = 0, zeros = 0;  // over the pruned weights
};

// Zeroes the smallest-magnitude weights of Conv / Gemm / MatMul (constant float
// weights of rank >= 2; biases are never touched). Throws Error for bad options
// or unknown excluded nodes.
PruneReport prune_unstructured(Model &model, const PruneOptions &options);

// The names the CLI and recipes use; each throws Error (invalid input) naming the choices.
PruneScope parse_prune_scope(const std::string &name);      // layer | global
PrunePattern parse_prune_pattern(const std::string &name);  // unstructured | 2:4

enum class ChannelCriterion {
  kL1,       // sum of |w| over the channel's weights, summed over the group's
             // producers
  kL2,       // sqrt of sum of w^2, summed over the group's producers
  kBnScale,  // |gamma| of the BatchNormalizations in the group (BN is not folded
             // first)
};

struct StructuredPruneOptions {
  double ratio = 0.3;  // fraction of channels to remove from every prunable
                       // group, in [0, 1)
  ChannelCriterion criterion = ChannelCriterion::kL1;
  std::vector<std::string> exclude;  // nodes whose output channels are kept
  int round_to = 8;  // keep a multiple of this many channels when close to the target
};

// One channel dependency group: channels that must be removed together.
struct ChannelGroup {
  std::vector<std::string> producers;  // nodes creating the channels (Conv, Gemm, MatMul)
  int64_t channels = 0;
  int64_t kept = 0;
  std::string blocked;  // non-empty: why no channel could be removed
};

struct StructuredPruneReport {
  std::vector<ChannelGroup> groups;
  bool folded_bn = false;
};

// Removes the lowest-scoring `ratio` of output channels of every prunable group
// and slices the weights of producers (output axis), pass-through nodes
// (depthwise Conv, BatchNormalization, per-channel constants) and consumers
// (input axis). Graph outputs keep every channel. BN is folded into the
// preceding Conv first unless the criterion is kBnScale.
StructuredPruneReport prune_structured(Model &model, const StructuredPruneOptions &options);

// l1 | l2 | bn-scale; throws Error (invalid input) otherwise.
ChannelCriterion parse_channel_criterion(const std::string &name);

}  // namespace edgeopt
