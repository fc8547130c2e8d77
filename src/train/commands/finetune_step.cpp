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

train::TrainOptions finetune_options(const nlohmann::json& o) {
  train::TrainOptions t;
  const int64_t epochs = opt_int(o, "epochs", 1);
  if (epochs < 1 || epochs > 100000) fail_input("finetune: \"epochs\" must be 1 to 100000");
  t.epochs = static_cast<int>(epochs);
  t.lr = opt_double(o, "lr", 0.01);
  if (!(t.lr > 0 && t.lr <= 1e6)) fail_input("finetune: \"lr\" must be in (0, 1e6]");
  t.batch = opt_int(o, "batch", 128);
  if (t.batch < 2 || t.batch > (1 << 20)) fail_input("finetune: \"batch\" must be 2 to 1048576");
  t.optimizer = opt_string(o, "optimizer", "sgd");
  if (t.optimizer != "sgd" && t.optimizer != "adamw")
    fail_input("finetune: \"optimizer\" must be sgd or adamw, got \"", t.optimizer, "\"");
  t.schedule = opt_string(o, "schedule", "cosine");
  if (t.schedule != "cosine" && t.schedule != "step" && t.schedule != "constant")
    fail_input("finetune: \"schedule\" must be cosine, step or constant, got \"", t.schedule, "\"");
  t.limit = opt_int(o, "limit", 0);
  if (t.limit < 0) fail_input("finetune: \"limit\" must be 0 (all) or more");
  t.augment = opt_bool(o, "augment", false);
  const int64_t seed = opt_int(o, "seed", 0);
  if (seed < 0) fail_input("finetune: \"seed\" must be 0 or more");
  t.seed = static_cast<uint64_t>(seed);
  const int64_t threads = opt_int(o, "threads", 1);
  if (threads < 1 || threads > 1024) fail_input("finetune: \"threads\" must be 1 to 1024");
  t.threads = static_cast<int>(threads);
  return t;
}

std::string finetune_step(Model& m, const nlohmann::json& o, StepContext& ctx) {
  const std::string spec = opt_string(o, "data", ctx.train_spec);
  if (spec.empty()) return "skipped: no training data (--train SPEC)";
  train::TrainOptions t = finetune_options(o);
  t.keep_zeros = true;
  t.progress = false;
  t.log = ctx.log;
  Dataset& data = ctx.dataset(spec);
  const auto stats = train::train_model(m, data, nullptr, t);
  char buf[160];
  std::snprintf(
      buf, sizeof buf, "%d epoch(s) on %lld samples, final loss %.4f", t.epochs,
      static_cast<long long>(t.limit > 0 && t.limit < data.size() ? t.limit : data.size()),
      stats.empty() ? 0.0 : stats.back().loss);
  return buf;
}

const StepRegistrar finetune_reg(
    {"finetune",
     "fine-tuning on labelled data, pruned weights kept at zero (libtorch)",
     {"data", "epochs", "lr", "batch", "optimizer", "schedule", "limit", "augment", "seed",
      "threads"},
     finetune_step,
     [](const nlohmann::json& o, StepContext& ctx) {
       finetune_options(o);
       const std::string spec = opt_string(o, "data", ctx.train_spec);
       if (!spec.empty()) ctx.dataset(spec);
     }});

}  // namespace
}  // namespace edgeopt
