// The training commands: registered by edgeopt-train (tools/edgeopt-train/), and by the lean
// edgeopt as hand-overs to it (train_commands.cpp). One table, so both list the same.
#pragma once

#include <stdexcept>
#include <string_view>
#include <utility>

#include "command.h"

namespace edgeopt::cli {

struct TrainCommand {
  int order;
  const char* name;
  const char* help;
};

inline constexpr TrainCommand kTrainCommands[] = {
    {100, "zoo", "Build a freshly initialised model (lenet5, mlp, resnet8, ...)"},
    {110, "train", "Train a model's weights on a dataset (libtorch)"},
    {120, "finetune", "Fine-tune a pruned model: zero weights stay zero, the structure is kept"},
    {130, "iterative-prune", "Gradual pruning: prune and fine-tune in K steps (cubic schedule)"},
    {140, "distill", "Train a student model from a teacher's logits (libtorch)"},
    {150, "qat", "Quantization-aware training, exported as a QDQ int8 model"},
    {170, "fit-worker", "Build and evaluate the candidates of a `fit --workers` search"},
};

constexpr const TrainCommand& train_command(std::string_view name) {
  for (const TrainCommand& c : kTrainCommands)
    if (name == c.name) return c;
  throw std::logic_error("no training command of that name");
}

// Registers the training command `name` with its order and help from the table.
inline CommandRegistrar register_train_command(std::string_view name, CommandSetup setup) {
  const TrainCommand& c = train_command(name);
  return CommandRegistrar(c.order, c.name, c.help, std::move(setup));
}

}  // namespace edgeopt::cli
