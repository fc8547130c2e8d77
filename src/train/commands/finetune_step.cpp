// Recipe step "finetune" (include/edgeopt/recipe.h), registered when the training backend is
// built: trains the model's weights on labelled data, keeping pruned (zero) weights at zero.
// Without training data (no "data" option and no `optimize --train`) the step is skipped and
// says so in the report, so one recipe serves trained models and random-weight speed demos.
#include <cstdio>
#include <string>

#include "edgeopt/error.h"
#include "edgeopt/recipe.h"
#include "search/step_options.h"
#include "train/train.h"

namespace edgeopt {
namespace {

std::string finetune_step(Model& m, const nlohmann::json& o, StepContext& ctx) {
  const std::string spec = opt_string(o, "data", ctx.train_spec);
  if (spec.empty()) return "skipped: no training data (--train SPEC)";
  train::TrainOptions t;
  t.epochs = static_cast<int>(opt_int(o, "epochs", 1));
  if (t.epochs < 1) fail_input("finetune: \"epochs\" must be at least 1");
  t.lr = opt_double(o, "lr", 0.01);
  t.batch = opt_int(o, "batch", 128);
  t.optimizer = opt_string(o, "optimizer", "sgd");
  t.schedule = opt_string(o, "schedule", "cosine");
  t.limit = opt_int(o, "limit", 0);
  t.augment = opt_bool(o, "augment", false);
  t.seed = static_cast<uint64_t>(opt_int(o, "seed", 0));
  t.threads = static_cast<int>(opt_int(o, "threads", 1));
  t.keep_zeros = true;
  t.progress = false;
  t.log = ctx.log;
  Dataset& data = ctx.dataset(spec);
  const auto stats = train::train_model(m, data, nullptr, t);
  char buf[160];
  std::snprintf(buf, sizeof buf, "%d epoch(s) on %lld samples, final loss %.4f", t.epochs,
                static_cast<long long>(t.limit > 0 && t.limit < data.size() ? t.limit
                                                                            : data.size()),
                stats.empty() ? 0.0 : stats.back().loss);
  return buf;
}

const StepRegistrar finetune_reg(
    {"finetune", "fine-tuning on labelled data, pruned weights kept at zero (libtorch)",
     {"data", "epochs", "lr", "batch", "optimizer", "schedule", "limit", "augment", "seed",
      "threads"},
     finetune_step});

}  // namespace
}  // namespace edgeopt
