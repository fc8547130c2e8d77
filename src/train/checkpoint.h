// Training checkpoints: the ONNX model (weights as f32) and, beside it in `<path>.state`, what
// resuming needs to continue exactly as an uninterrupted run (optimizer moments, step counter,
// epochs done). Internal to src/train (includes torch).
#pragma once

#include <string>

#include "edgeopt/ir.h"
#include "train/optimizer.h"
#include "train/torch_graph.h"

namespace edgeopt::train {

// Writes `model` with the weights of `graph` to `path` and the optimizer state after `epochs_done`
// epochs to `path`.state (written to a temporary file, then renamed).
void save_checkpoint(const std::string& path, const Model& model, const TorchGraph& graph,
                     const Optimizer& opt, int epochs_done);

// Restores the optimizer state saved beside the checkpoint `path`; returns the epochs done.
int load_checkpoint_state(const std::string& path, Optimizer& opt);

}  // namespace edgeopt::train
