// Labelled samples held in memory as torch tensors, and a batch fitted to a model's input.
// Internal to src/train (includes torch).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "edgeopt/data.h"
#include "edgeopt/ir.h"

namespace edgeopt::train {

struct Samples {
  torch::Tensor x;  // f32, N × sample shape
  torch::Tensor y;  // i64, N
};

// The samples at `indices` (ascending, below data.size()), read run by run of consecutive
// indices, in chunks: a rank of a data-parallel job reads its share of an epoch, not the set.
Samples read_rows(Dataset& data, const std::vector<int64_t>& indices);

// The number of samples a `limit` (0 = all) takes from `data`, checked: some, and labelled.
int64_t checked_count(Dataset& data, int64_t limit);

// Reads the first `limit` samples (0 = all) into memory.
Samples load_samples(Dataset& data, int64_t limit);

// Reshapes a batch to the model's input when only the layout differs (N×1×28×28 → N×784);
// refuses samples whose static dims differ from the model's.
torch::Tensor fit_input(const torch::Tensor& x, const ValueInfo& input);

}  // namespace edgeopt::train
