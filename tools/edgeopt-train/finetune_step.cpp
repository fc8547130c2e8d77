// Recipe steps of the training backend (include/edgeopt/recipe.h), registered when it is built:
//   "finetune": trains the model's weights on labelled data, keeping pruned (zero) weights at
//     zero;
//   "distill": the same with a teacher's logits in the loss (the teacher an ONNX file, e.g. the
//     model before pruning);
//   "qat": quantization-aware training (fake quantization calibrated on the calibration data,
//     fine-tuned with trainable scales), exported as a QDQ int8 model;
//   "student": the model replaced by a freshly initialised architecture of the zoo (input shape
//     and classes taken from the model; width multiplier), trained from scratch on the labels
//     and, with a teacher, on its logits: the small architecture search of the lecture;
//   "lottery": the lottery ticket, `steps` rounds of magnitude pruning towards `sparsity`, each
//     followed by a rewind of the surviving weights to their values after epoch `rewind` of
//     round 1 (0: the step's input model) and `epochs` of retraining (src/train/gradual_prune.h).
// Without training data (no "data" option and no `optimize --train`) a step is skipped and says
// so in the report, so one recipe serves trained models and random-weight speed demos.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>

#include "edgeopt/error.h"
#include "edgeopt/gradual_prune.h"
#include "edgeopt/quantize.h"
#include "edgeopt/recipe.h"
#include "edgeopt/step_options.h"
#include "edgeopt/train.h"

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

// What a training step did, for the report.
std::string trained(const train::TrainOptions& t, Dataset& data,
                    const std::vector<train::EpochStats>& stats) {
  char buf[160];
  std::snprintf(
      buf, sizeof buf, "%d epoch(s) on %lld samples, final loss %.4f", t.epochs,
      static_cast<long long>(t.limit > 0 && t.limit < data.size() ? t.limit : data.size()),
      stats.empty() ? 0.0 : stats.back().loss);
  return buf;
}

std::string finetune_step(Model& m, const nlohmann::json& o, StepContext& ctx) {
  const std::string spec = opt_string(o, "data", ctx.train_spec);
  if (spec.empty()) return "skipped: no training data (--train SPEC)";
  train::TrainOptions t = finetune_options(o);
  t.keep_zeros = true;
  t.progress = true;  // a bar on stderr when it is a terminal, nothing in a log
  t.log = ctx.log;
  Dataset& data = ctx.dataset(spec);
  return trained(t, data, train::train_model(m, data, nullptr, t));
}

// The distillation options of "distill" and "student" into `t`, checked: the teacher's file
// (none: no distillation), alpha and the temperature.
void distill_options(const nlohmann::json& o, train::TrainOptions& t, const char* step) {
  t.teacher = opt_string(o, "teacher", "");
  if (!t.teacher.empty() && !std::filesystem::is_regular_file(t.teacher))
    fail_input(step, ": teacher ", t.teacher, ": no such file");
  t.alpha = opt_double(o, "alpha", 0.5);
  if (!(t.alpha >= 0 && t.alpha <= 1)) fail_input(step, ": \"alpha\" must be in [0, 1]");
  t.temperature = opt_double(o, "temperature", 4.0);
  if (!(t.temperature > 0 && t.temperature <= 1e6))
    fail_input(step, ": \"temperature\" must be in (0, 1e6]");
}

std::string distill_step(Model& m, const nlohmann::json& o, StepContext& ctx) {
  const std::string spec = opt_string(o, "data", ctx.train_spec);
  if (spec.empty()) return "skipped: no training data (--train SPEC)";
  train::TrainOptions t = finetune_options(o);
  distill_options(o, t, "distill");
  t.keep_zeros = true;
  t.progress = true;  // a bar on stderr when it is a terminal, nothing in a log
  t.log = ctx.log;
  Dataset& data = ctx.dataset(spec);
  return trained(t, data, train::train_model(m, data, nullptr, t)) + ", distilled from " +
         t.teacher;
}

void check_distill(const nlohmann::json& o, StepContext& ctx) {
  train::TrainOptions t = finetune_options(o);
  if (opt_string(o, "teacher", "").empty())
    fail_input("distill: give the teacher model (\"teacher\": \"T.onnx\")");
  distill_options(o, t, "distill");
  const std::string spec = opt_string(o, "data", ctx.train_spec);
  if (!spec.empty()) ctx.dataset(spec);
}

// The calibration data of "qat": its own "calibration" option, else the recipe's calibration
// set (--calib), else the training data.
std::string qat_calibration(const nlohmann::json& o, const StepContext& ctx,
                            const std::string& train_spec) {
  return opt_string(o, "calibration",
                    ctx.calibration_spec.empty() ? train_spec : ctx.calibration_spec);
}

std::string qat_step(Model& m, const nlohmann::json& o, StepContext& ctx) {
  const std::string spec = opt_string(o, "data", ctx.train_spec);
  if (spec.empty()) return "skipped: no training data (--train SPEC)";
  train::TrainOptions t = finetune_options(o);
  t.weight_decay = 0;  // as `edgeopt qat`: the scales and the rounding grid are learned
  train::QatOptions q;
  q.calib_samples = opt_int(o, "samples", 512);
  // The same default as `edgeopt quantize` and `qat`: 7-bit weights on x86 without VNNI.
  const bool reduce = opt_bool(o, "reduce_range", !host_has_int8_dot_product());
  q.weight_qmax = reduce ? 63 : 127;
  t.weight_qmax = q.weight_qmax;
  t.train_quant_scales = true;
  t.progress = true;  // a bar on stderr when it is a terminal, nothing in a log
  t.log = ctx.log;
  const int64_t nodes = train::insert_fake_quant(m, ctx.dataset(qat_calibration(o, ctx, spec)), q);
  Dataset& data = ctx.dataset(spec);
  const auto stats = train::train_model(m, data, nullptr, t);
  train::finalize_qdq(m, q.weight_qmax);
  return "int8 QDQ (" + std::to_string(reduce ? 7 : 8) + "-bit weights) on " +
         std::to_string(nodes) + " nodes after " + trained(t, data, stats);
}

void check_qat(const nlohmann::json& o, StepContext& ctx) {
  finetune_options(o);
  const int64_t samples = opt_int(o, "samples", 512);
  if (samples < 1) fail_input("qat: \"samples\" must be 1 or more");
  opt_bool(o, "reduce_range", false);
  const std::string spec = opt_string(o, "data", ctx.train_spec);
  if (spec.empty()) return;
  ctx.dataset(spec);
  ctx.dataset(qat_calibration(o, ctx, spec));
}

// The zoo's options for a student of `m`: its one image input (static but for the batch) and
// its classes (the last dim of its first output).
train::ZooOptions student_shape(const Model& m) {
  const std::vector<const ValueInfo*> ins = m.graph.real_inputs();
  if (ins.size() != 1 || !ins[0]->has_shape || ins[0]->dims.size() != 4)
    fail_unsupported("student: the model needs one image input N x C x H x W");
  train::ZooOptions z;
  z.input.clear();
  for (size_t d = 0; d < 4; ++d) {
    const Dim& dim = ins[0]->dims[d];
    if (!dim.is_static() && d > 0)
      fail_unsupported("student: input dim ", d, " of '", ins[0]->name, "' is symbolic");
    z.input.push_back(dim.is_static() ? dim.value : 1);
  }
  const ValueInfo* out = m.graph.outputs.empty() ? nullptr : &m.graph.outputs[0];
  if (out && (!out->has_shape || out->dims.empty()))
    if (const ValueInfo* v = m.graph.find_value_info(out->name)) out = v;
  if (!out || !out->has_shape || out->dims.empty() || !out->dims.back().is_static())
    fail_unsupported(
        "student: the number of classes (the last dim of the first output) is not "
        "known");
  z.classes = out->dims.back().value;
  return z;
}

std::string student_step(Model& m, const nlohmann::json& o, StepContext& ctx) {
  const std::string spec = opt_string(o, "data", ctx.train_spec);
  if (spec.empty()) return "skipped: no training data (--train SPEC)";
  train::ZooOptions z = student_shape(m);
  z.width = opt_double(o, "width", 1.0);
  z.seed = static_cast<uint64_t>(opt_int(o, "seed", 0));
  const std::string arch = opt_string(o, "arch", "mobilenet_v2");
  Model student = train::build_zoo_model(arch, z);
  train::TrainOptions t = finetune_options(o);
  distill_options(o, t, "student");
  t.progress = true;
  t.log = ctx.log;
  Dataset& data = ctx.dataset(spec);
  const auto stats = train::train_model(student, data, nullptr, t);
  m = std::move(student);
  char width[32];
  std::snprintf(width, sizeof width, "%g", z.width);
  return arch + " x" + width + " trained from scratch, " + trained(t, data, stats) +
         (t.teacher.empty() ? "" : ", distilled from " + t.teacher);
}

void check_student(const nlohmann::json& o, StepContext& ctx) {
  train::TrainOptions t = finetune_options(o);
  distill_options(o, t, "student");
  const std::string arch = opt_string(o, "arch", "mobilenet_v2");
  const auto archs = train::zoo_architectures();
  if (std::find(archs.begin(), archs.end(), arch) == archs.end())
    fail_input("student: unknown \"arch\" \"", arch, "\"");
  const double width = opt_double(o, "width", 1.0);
  if (!(width > 0 && width <= 16)) fail_input("student: \"width\" must be in (0, 16]");
  const std::string spec = opt_string(o, "data", ctx.train_spec);
  if (!spec.empty()) ctx.dataset(spec);
}

// The options of "lottery", checked: the final sparsity, the rounds, the rewind epoch (at most
// the epochs of a round) and the training of every round.
train::GradualPruneOptions lottery_options(const nlohmann::json& o) {
  train::GradualPruneOptions g;
  g.train = finetune_options(o);
  g.sparsity = opt_double(o, "sparsity", 0.5);
  const int64_t steps = opt_int(o, "steps", 3);
  if (steps < 1 || steps > 1000) fail_input("lottery: \"steps\" must be 1 to 1000");
  g.steps = static_cast<int>(steps);
  const int64_t rewind = opt_int(o, "rewind", 0);
  if (rewind < 0 || rewind > g.train.epochs)
    fail_input("lottery: \"rewind\" must be 0 to \"epochs\" (", g.train.epochs, "), got ", rewind);
  g.rewind = static_cast<int>(rewind);
  train::check_gradual_prune(g);
  return g;
}

std::string lottery_step(Model& m, const nlohmann::json& o, StepContext& ctx) {
  const std::string spec = opt_string(o, "data", ctx.train_spec);
  if (spec.empty()) return "skipped: no training data (--train SPEC)";
  train::GradualPruneOptions g = lottery_options(o);
  g.train.progress = true;  // a bar on stderr when it is a terminal, nothing in a log
  g.train.log = ctx.log;
  Dataset& data = ctx.dataset(spec);
  const std::vector<train::PruneRound> rounds = train::gradual_prune(m, data, nullptr, g);
  char buf[96];
  std::snprintf(buf, sizeof buf, "sparsity %.4f after %d round(s) rewound to epoch %d, each ",
                rounds.back().sparsity, g.steps, *g.rewind);
  return buf + trained(g.train, data, rounds.back().epochs);
}

void check_lottery(const nlohmann::json& o, StepContext& ctx) {
  lottery_options(o);
  const std::string spec = opt_string(o, "data", ctx.train_spec);
  if (!spec.empty()) ctx.dataset(spec);
}

const StepRegistrar lottery_reg(
    {"lottery",
     "lottery ticket: rounds of magnitude pruning, the surviving weights rewound to an early "
     "epoch and retrained (libtorch)",
     {"sparsity", "steps", "rewind", "data", "epochs", "lr", "batch", "optimizer", "schedule",
      "limit", "augment", "seed", "threads"},
     lottery_step,
     check_lottery});

const StepRegistrar student_reg(
    {"student",
     "a zoo architecture (arch, width) trained from scratch, distilled from a teacher "
     "(libtorch)",
     {"arch", "width", "teacher", "alpha", "temperature", "data", "epochs", "lr", "batch",
      "optimizer", "schedule", "limit", "augment", "seed", "threads"},
     student_step,
     check_student});

const StepRegistrar distill_reg(
    {"distill",
     "fine-tuning from a teacher's logits (knowledge distillation), pruned weights kept at zero "
     "(libtorch)",
     {"teacher", "alpha", "temperature", "data", "epochs", "lr", "batch", "optimizer", "schedule",
      "limit", "augment", "seed", "threads"},
     distill_step,
     check_distill});

const StepRegistrar qat_reg({"qat",
                             "quantization-aware training, exported as QDQ int8 (libtorch)",
                             {"calibration", "samples", "reduce_range", "data", "epochs", "lr",
                              "batch", "optimizer", "schedule", "limit", "augment", "seed",
                              "threads"},
                             qat_step,
                             check_qat});

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
