// edgeopt iterative-prune MODEL -o OUT --data SPEC (--target-sparsity S [--rewind E] |
//                        --structured --target-ratio R) [--steps K] [--finetune-epochs F]
//                        [training options]
// Gradual pruning: K rounds of prune → fine-tune, the pruned fraction following the cubic
// schedule s_t = s_f·(1 − (1 − t/K)³) (Zhu & Gupta 2017), so most weights go early while the
// network can still recover and the last steps remove little. With --rewind E, the lottery
// ticket: after every prune the surviving weights restart from their values after E epochs of
// round 1 (src/train/gradual_prune.h).
#include <memory>

#include "cli_checks.h"
#include "edgeopt/error.h"
#include "edgeopt/gradual_prune.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/prune.h"
#include "train_args.h"
#include "train_commands.h"

namespace edgeopt::cli {
namespace {

using nlohmann::json;

struct PruneArgs {
  TrainArgs t;
  double sparsity = -1, ratio = -1;
  bool structured = false;
  int steps = 4, finetune_epochs = 1;
  int rewind = 0;
  CLI::Option* rewind_option = nullptr;  // given: the lottery ticket
};

json val_top1(const std::vector<train::EpochStats>& e) {
  return !e.empty() && e.back().val_top1 >= 0 ? json(e.back().val_top1) : json(nullptr);
}

// Unstructured rounds (train::gradual_prune), with --rewind the lottery ticket.
int run_unstructured(PruneArgs& a) {
  train::GradualPruneOptions go;
  go.sparsity = a.sparsity;
  go.steps = a.steps;
  if (a.rewind_option->count()) go.rewind = a.rewind;
  go.train = a.t.opt;
  go.train.epochs = a.finetune_epochs;
  train::check_gradual_prune(go);
  check_output(a.t);
  std::unique_ptr<Dataset> data = open_dataset(a.t.data);
  std::unique_ptr<Dataset> val = open_val(a.t);
  Model model = load_model(a.t.model);
  std::vector<train::EpochStats> epochs;
  json steps = json::array();
  for (const train::PruneRound& r : train::gradual_prune(model, *data, val.get(), go)) {
    steps.push_back({{"step", r.step},
                     {"sparsity", r.sparsity},
                     {"zeros", r.zeros},
                     {"weights", r.weights},
                     {"val_top1", val_top1(r.epochs)}});
    if (go.rewind) steps.back()["rewound"] = r.rewound;
    epochs.insert(epochs.end(), r.epochs.begin(), r.epochs.end());
  }
  if (writes_outputs()) save_model(model, a.t.out, {}, a.t.model);
  json extra = {{"structured", false}, {"steps", steps}};
  if (go.rewind) extra["rewind"] = *go.rewind;
  print_result(a.t, result_json("iterative-prune", a.t, epochs, extra));
  return 0;
}

int run_structured(PruneArgs& a) {
  if (!a.t.opt.resume.empty() || !a.t.opt.checkpoint.empty())
    fail_input("iterative-prune: --checkpoint/--resume apply to train and finetune only");
  check_output(a.t);
  std::unique_ptr<Dataset> data = open_dataset(a.t.data);
  std::unique_ptr<Dataset> val = open_val(a.t);
  Model model = load_model(a.t.model);
  train::TrainOptions opt = a.t.opt;
  opt.epochs = a.finetune_epochs;
  double previous = 0;
  std::vector<train::EpochStats> epochs;
  json steps = json::array();
  for (int step = 1; step <= a.steps; ++step) {
    const double target = train::cubic_sparsity(a.ratio, step, a.steps);
    // prune_structured removes a fraction of the channels that are left: to reach a
    // cumulative fraction r_t of the original, remove 1 − (1 − r_t)/(1 − r_{t−1}).
    StructuredPruneOptions so;
    so.ratio = 1 - (1 - target) / (1 - previous);
    prune_structured(model, so);
    say(a.t, "step %d/%d: removed %.4f of the remaining channels (cumulative %.4f)", step, a.steps,
        so.ratio, target);
    steps.push_back({{"step", step}, {"removed", so.ratio}, {"cumulative_ratio", target}});
    previous = target;
    opt.seed = a.t.opt.seed + static_cast<uint64_t>(step);
    const std::vector<train::EpochStats> e = train::train_model(model, *data, val.get(), opt);
    steps.back()["val_top1"] = val_top1(e);
    epochs.insert(epochs.end(), e.begin(), e.end());
  }
  if (writes_outputs()) save_model(model, a.t.out, {}, a.t.model);
  print_result(
      a.t, result_json("iterative-prune", a.t, epochs, {{"structured", true}, {"steps", steps}}));
  return 0;
}

int run_iterative_prune(PruneArgs& a) {
  if (a.structured ? a.ratio < 0 : a.sparsity < 0)
    fail_input("iterative-prune: give --target-sparsity S, or --structured with --target-ratio R");
  if (a.structured && a.rewind_option->count())
    fail_input(
        "iterative-prune: --rewind (the lottery ticket) applies to unstructured pruning "
        "only, not --structured");
  return a.structured ? run_structured(a) : run_unstructured(a);
}

const CommandRegistrar reg = register_train_command("iterative-prune", [](CLI::App& sub) {
  auto a = std::make_shared<PruneArgs>();
  add_train_options(sub, a->t, 1, 0.01);
  sub.add_option("--target-sparsity", a->sparsity, "Final fraction of zero weights")
      ->check(edgeopt::cli::real(0.0, 0.999));
  sub.add_flag("--structured", a->structured, "Remove whole channels instead");
  sub.add_option("--target-ratio", a->ratio, "Final fraction of channels removed")
      ->check(edgeopt::cli::real(0.0, 0.95));
  sub.add_option("--steps", a->steps, "Prune/fine-tune rounds")
      ->check(edgeopt::cli::positive_int());
  sub.add_option("--finetune-epochs", a->finetune_epochs, "Epochs after every round")
      ->check(edgeopt::cli::positive_int());
  a->rewind_option = sub.add_option(
      "--rewind", a->rewind,
      "Lottery ticket: after every prune, reset all weights (BN statistics too) to their "
      "values after epoch E of round 1 (0: the input model's), pruned ones staying 0. "
      "Unstructured only; E <= --finetune-epochs");
  return [a] { return run_iterative_prune(*a); };
});

}  // namespace
}  // namespace edgeopt::cli
