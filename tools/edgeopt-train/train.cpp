// edgeopt train MODEL -o OUT --data SPEC [--val SPEC] [--epochs ...] (see train_args.h)
// edgeopt finetune: the same, keeping pruned (zero) weights at zero.
#include <memory>

#include "train_args.h"
#include "train_commands.h"

namespace edgeopt::cli {
namespace {

const CommandRegistrar reg_train = register_train_command("train", [](CLI::App& sub) {
  auto a = std::make_shared<TrainArgs>();
  add_train_options(sub, *a, 10, 0.05);
  return [a] { return run_training("train", *a); };
});

const CommandRegistrar reg_finetune = register_train_command("finetune", [](CLI::App& sub) {
  auto a = std::make_shared<TrainArgs>();
  add_train_options(sub, *a, 2, 0.01);
  a->opt.keep_zeros = true;
  return [a] { return run_training("finetune", *a); };
});

}  // namespace
}  // namespace edgeopt::cli
