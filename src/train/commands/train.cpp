// edgeopt train MODEL -o OUT --data SPEC [--val SPEC] [--epochs ...] (see train_args.h)
// edgeopt finetune: the same, keeping pruned (zero) weights at zero.
#include <memory>

#include "edgeopt/onnx_io.h"
#include "train/commands/train_args.h"
#include "train_commands.h"

namespace edgeopt::cli {
namespace {

int run_train(TrainArgs& a) {
  check_output(a);
  std::unique_ptr<Dataset> data = open_dataset(a.data);
  std::unique_ptr<Dataset> val = open_val(a);
  Model model = load_model(a.model);
  train::train_model(model, *data, val.get(), a.opt);
  save_model(model, a.out, {}, a.model);
  std::printf("wrote %s\n", a.out.c_str());
  return 0;
}

const CommandRegistrar reg_train = register_train_command("train", [](CLI::App& sub) {
  auto a = std::make_shared<TrainArgs>();
  add_train_options(sub, *a, 10, 0.05);
  return [a] { return run_train(*a); };
});

const CommandRegistrar reg_finetune = register_train_command("finetune", [](CLI::App& sub) {
  auto a = std::make_shared<TrainArgs>();
  add_train_options(sub, *a, 2, 0.01);
  a->opt.keep_zeros = true;
  return [a] { return run_train(*a); };
});

}  // namespace
}  // namespace edgeopt::cli
