// Gradual pruning and the lottery ticket: the rounds of src/train/gradual_prune.h.
#include "edgeopt/gradual_prune.h"

#include <cstdio>
#include <map>
#include <string>

#include "edgeopt/error.h"
#include "edgeopt/prune.h"

namespace edgeopt::train {
namespace {

// The float initializers of `m`, deep copies (Tensor copies alias).
using Weights = std::map<std::string, Tensor>;

Weights float_weights(const Model& m) {
  Weights w;
  for (const NamedTensor& t : m.graph.initializers)
    if (t.tensor.dtype() == DType::kF32) w[t.name] = t.tensor.clone();
  return w;
}

// w ← m ⊙ w_E on tensors of rank ≥ 2 (m = 1 where the prune kept a weight), v ← v_E otherwise.
void rewind_to(Model& model, const Weights& point) {
  for (NamedTensor& t : model.graph.initializers) {
    if (t.tensor.dtype() != DType::kF32) continue;
    auto it = point.find(t.name);
    if (it == point.end() || it->second.shape() != t.tensor.shape())
      fail(ErrorKind::kInternal, "lottery ticket: initializer '", t.name,
           "' is not in the rewind point, or changed shape");
    Tensor rewound = it->second.clone();
    if (t.tensor.rank() >= 2) {
      const float* now = t.tensor.data<float>();
      float* w = rewound.data<float>();
      for (int64_t i = 0; i < rewound.numel(); ++i)
        if (now[i] == 0.0f) w[i] = 0.0f;
    }
    t.tensor = rewound;
  }
}

}  // namespace

void check_gradual_prune(const GradualPruneOptions& o) {
  if (!(o.sparsity >= 0 && o.sparsity < 1))
    fail_input("iterative pruning: the target sparsity must be in [0, 1), got ", o.sparsity);
  if (o.steps < 1) fail_input("iterative pruning: the number of steps must be at least 1");
  if (o.train.epochs < 1) fail_input("iterative pruning: at least one epoch per step");
  if (!o.train.resume.empty() || !o.train.checkpoint.empty())
    fail_input("iterative pruning: --checkpoint/--resume apply to train and finetune only");
  if (!o.rewind) return;
  if (*o.rewind < 0)
    fail_input("lottery ticket: the rewind epoch must be 0 or more, got ", *o.rewind);
  if (*o.rewind > o.train.epochs)
    fail_input("lottery ticket: the rewind epoch ", *o.rewind,
               " is after the end of the first round's training (", o.train.epochs,
               " epoch(s) per step)");
  if (o.train.stop_after > 0 && o.train.stop_after < *o.rewind)
    fail_input("lottery ticket: --stop-after ", o.train.stop_after,
               " stops before the rewind epoch ", *o.rewind);
}

std::vector<PruneRound> gradual_prune(Model& model, Dataset& train_data, Dataset* val,
                                      const GradualPruneOptions& o) {
  check_gradual_prune(o);
  auto log = [&](const std::string& line) {
    if (o.train.log) o.train.log(line);
  };
  // E = 0: the model as given; E > 0: captured during round 1's training.
  std::optional<Weights> point;
  if (o.rewind && *o.rewind == 0) point = float_weights(model);

  std::vector<PruneRound> rounds;
  for (int step = 1; step <= o.steps; ++step) {
    PruneRound r;
    r.step = step;
    PruneOptions po;
    po.sparsity = cubic_sparsity(o.sparsity, step, o.steps);
    const PruneReport pr = prune_unstructured(model, po);
    r.zeros = pr.zeros;
    r.weights = pr.numel;
    r.sparsity = pr.numel ? double(pr.zeros) / double(pr.numel) : 0.0;
    if (point) {
      rewind_to(model, *point);
      r.rewound = true;
    }
    char line[160];
    std::snprintf(line, sizeof line, "step %d/%d: sparsity %.4f (%lld/%lld weights zero)", step,
                  o.steps, r.sparsity, static_cast<long long>(r.zeros),
                  static_cast<long long>(r.weights));
    log(r.rewound ? line + (", rewound to epoch " + std::to_string(*o.rewind)) : line);
    if (o.before_training) o.before_training(step, model);

    TrainOptions t = o.train;
    t.seed = o.train.seed + static_cast<uint64_t>(step);
    t.keep_zeros = true;
    if (o.rewind && *o.rewind > 0 && step == 1)
      t.on_epoch_end = [&](int epoch, const Model& weights) {
        if (epoch == *o.rewind) point = float_weights(weights);
        if (o.train.on_epoch_end) o.train.on_epoch_end(epoch, weights);
      };
    r.epochs = train_model(model, train_data, val, t);
    if (o.rewind && !point)
      fail(ErrorKind::kInternal, "lottery ticket: round 1 ended before epoch ", *o.rewind);
    rounds.push_back(std::move(r));
  }
  return rounds;
}

}  // namespace edgeopt::train
