// The training loop's optimizers (SGD with momentum and Nesterov, AdamW) and learning-rate
// schedules. Internal to src/train (includes torch).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "edgeopt/train.h"

namespace edgeopt::train {

// Updates `params` in place from their gradients; its state (moments, step count) is saved in
// and restored from a checkpoint.
class Optimizer {
 public:
  Optimizer(const TrainOptions& o, std::vector<torch::Tensor> params);

  void step(const std::vector<torch::Tensor>& grads, double lr);

  void save(torch::serialize::OutputArchive& ar) const;
  void load(torch::serialize::InputArchive& ar);

 private:
  const TrainOptions& o_;
  std::vector<torch::Tensor> params_, m_, v_;
  int64_t steps_ = 0;
};

// The learning rate of step `step` of `total` (in epoch `epoch`): linear warm-up, then the
// schedule of `o`.
double learning_rate(const TrainOptions& o, int64_t step, int64_t total, int epoch);

}  // namespace edgeopt::train
