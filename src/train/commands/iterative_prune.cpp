// edgeopt iterative-prune MODEL -o OUT --data SPEC (--target-sparsity S | --structured
//                        --target-ratio R) [--steps K] [--finetune-epochs E] [training options]
// Gradual pruning: K rounds of prune → fine-tune, the pruned fraction following the cubic
// schedule s_t = s_f·(1 − (1 − t/K)³) (Zhu & Gupta 2017), so most weights go early while the
// network can still recover and the last steps remove little.
#include <memory>

#include "cli_checks.h"
#include "edgeopt/error.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/prune.h"
#include "train/commands/train_args.h"
#include "train_commands.h"

namespace edgeopt::cli {
namespace {

using nlohmann::json;

struct PruneArgs {
  TrainArgs t;
  double sparsity = -1, ratio = -1;
  bool structured = false;
  int steps = 4, finetune_epochs = 1;
};

int run_iterative_prune(PruneArgs& a) {
  if (a.structured ? a.ratio < 0 : a.sparsity < 0)
    fail_input("iterative-prune: give --target-sparsity S, or --structured with --target-ratio R");
  if (!a.t.opt.resume.empty() || !a.t.opt.checkpoint.empty())
    fail_input("iterative-prune: --checkpoint/--resume apply to train and finetune only");
  check_output(a.t);
  std::unique_ptr<Dataset> data = open_dataset(a.t.data);
  std::unique_ptr<Dataset> val = open_val(a.t);
  Model model = load_model(a.t.model);
  train::TrainOptions opt = a.t.opt;
  opt.epochs = a.finetune_epochs;
  opt.keep_zeros = !a.structured;
  double previous = 0;
  std::vector<train::EpochStats> epochs;
  nlohmann::json steps = nlohmann::json::array();
  for (int step = 1; step <= a.steps; ++step) {
    const double target = train::cubic_sparsity(a.structured ? a.ratio : a.sparsity, step, a.steps);
    if (a.structured) {
      // prune_structured removes a fraction of the channels that are left: to reach a
      // cumulative fraction r_t of the original, remove 1 − (1 − r_t)/(1 − r_{t−1}).
      StructuredPruneOptions so;
      so.ratio = 1 - (1 - target) / (1 - previous);
      prune_structured(model, so);
      say(a.t, "step %d/%d: removed %.4f of the remaining channels (cumulative %.4f)", step,
          a.steps, so.ratio, target);
      steps.push_back({{"step", step}, {"removed", so.ratio}, {"cumulative_ratio", target}});
    } else {
      PruneOptions po;
      po.sparsity = target;
      const PruneReport r = prune_unstructured(model, po);
      const double sparsity = r.numel ? double(r.zeros) / double(r.numel) : 0.0;
      say(a.t, "step %d/%d: sparsity %.4f (%lld/%lld weights zero)", step, a.steps, sparsity,
          static_cast<long long>(r.zeros), static_cast<long long>(r.numel));
      steps.push_back({{"step", step}, {"sparsity", sparsity}, {"zeros", r.zeros},
                       {"weights", r.numel}});
    }
    previous = target;
    opt.seed = a.t.opt.seed + static_cast<uint64_t>(step);
    const std::vector<train::EpochStats> e = train::train_model(model, *data, val.get(), opt);
    if (!e.empty()) steps.back()["val_top1"] = e.back().val_top1 >= 0 ? json(e.back().val_top1)
                                                                       : json(nullptr);
    epochs.insert(epochs.end(), e.begin(), e.end());
  }
  if (writes_outputs()) save_model(model, a.t.out, {}, a.t.model);
  print_result(a.t, result_json("iterative-prune", a.t, epochs,
                                {{"structured", a.structured}, {"steps", steps}}));
  return 0;
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
  return [a] { return run_iterative_prune(*a); };
});

}  // namespace
}  // namespace edgeopt::cli
