// Gradual magnitude pruning in rounds, with or without weight rewinding (the lottery ticket).
//
// Round t of K zeroes the smallest-magnitude weights of every Conv/Gemm/MatMul until
// s_t = s_f·(1 − (1 − t/K)³) of them are zero (prune_unstructured, per layer; Zhu & Gupta
// 2017), then trains `train.epochs` epochs with the zeros kept at zero.
//
// With `rewind` = E, each prune is followed by a reset of the weights to the rewind point
// (iterative magnitude pruning with rewinding: Frankle & Carbin 2019; Frankle et al. 2020,
// "Linear mode connectivity and the lottery ticket hypothesis", which rewinds to an early point
// of training rather than to the initialisation):
//   w ← m ⊙ w_E   for tensors of rank ≥ 2, m = 1[w ≠ 0] after the prune;
//   v ← v_E       for every other float initializer.
// The prune ranks the current (trained) weights; the survivors restart from their values at
// the rewind point. The rewind point is the model after E epochs of round 1's training, or the
// model as given for E = 0 (a trained model's own weights, what a user who brings one has).
// Round 1 prunes the model as given: for E > 0 rewinding starts in round 2.
//
// Every float initializer is rewound, not only the pruned weights: biases, BatchNormalization's
// scale and shift, and its running statistics too, as the papers rewind the whole network
// state. Running statistics measured on the trained weights do not describe the activations of
// the rewound ones; keeping them would start every round from a mismatched network.
//
// Every round retrains for the full `train.epochs` with the learning-rate schedule restarted
// (the same budget as the rounds without rewinding, so the two compare directly), where the
// papers resume the original schedule at E for the remaining epochs.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "edgeopt/data.h"
#include "edgeopt/ir.h"
#include "edgeopt/train.h"

namespace edgeopt::train {

struct GradualPruneOptions {
  double sparsity = 0.5;      // final fraction of zero weights, in [0, 1)
  int steps = 4;              // rounds K
  std::optional<int> rewind;  // none: no rewinding; E in [0, train.epochs]: the lottery ticket
  // The training of every round: `epochs` per round, round t seeded with seed + t; pruned
  // weights are kept at zero whatever keep_zeros says.
  TrainOptions train;
  // Called in every round after the prune (and the rewind), before the retraining.
  std::function<void(int step, const Model& model)> before_training;
};

struct PruneRound {
  int step = 0;         // 1-based
  double sparsity = 0;  // zeros / weights over the pruned tensors after the prune
  int64_t zeros = 0, weights = 0;
  bool rewound = false;  // the survivors were reset to the rewind point
  std::vector<EpochStats> epochs;
};

// Throws Error (invalid input) for options `gradual_prune` refuses, before any work.
void check_gradual_prune(const GradualPruneOptions& options);

// Prunes and trains `model` in place, round by round. `val` may be null.
std::vector<PruneRound> gradual_prune(Model& model, Dataset& train, Dataset* val,
                                      const GradualPruneOptions& options);

}  // namespace edgeopt::train
