// fit: the candidates, as recipe steps chained from the input model. Every technique edgeopt has
// that needs no architecture change: graph passes first (every other candidate starts from
// them), then quantization in each flavour, pruning at several ratios (with fine-tuning when
// training data is given), sparsity, low-rank, and int8 on top of the pruned models; with
// training data also the lottery ticket, distillation from the input model, zoo students and
// quantization-aware training.
#include <algorithm>
#include <cstdio>
#include <tuple>

#include "edgeopt/fit.h"
#include "edgeopt/recipe.h"

namespace edgeopt {

namespace {

nlohmann::json int8(int64_t samples, bool per_channel, const char* method) {
  return {{"op", "quantize"},
          {"mode", "static"},
          {"per_channel", per_channel},
          {"method", method},
          {"samples", samples}};
}

std::string percent(double r) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d", static_cast<int>(r * 100 + 0.5));
  return buf;
}

}  // namespace

std::vector<FitPlanEntry> fit_plan(const FitPlanOptions& o) {
  std::vector<FitPlanEntry> plan;
  auto add = [&](std::string name, std::string parent, nlohmann::json step) {
    plan.push_back({std::move(name), std::move(parent), std::move(step)});
  };
  const std::string base = "passes";
  add(base, "", {{"op", "passes"}, {"level", 2}});

  // Quantization of the whole model.
  add("int8", base, int8(o.calib_samples, true, "minmax"));
  add("int8-per-tensor", base, int8(o.calib_samples, false, "minmax"));
  for (const char* method : {"percentile", "entropy", "mse"})
    add(std::string("int8-") + method, base, int8(o.calib_samples, true, method));
  {
    nlohmann::json s = int8(o.calib_samples, true, "minmax");
    s["cle"] = true;
    s["bias_correction"] = true;
    add("int8-cle-bc", base, s);
  }
  // Mixed precision: the layers whose int8 output deviates most (lowest SQNR) kept in fp32.
  for (size_t k : {size_t(1), size_t(3)}) {
    if (o.sensitive_layers.size() < k + 1) break;
    nlohmann::json s = int8(o.calib_samples, true, "minmax");
    s["exclude"] = std::vector<std::string>(o.sensitive_layers.begin(),
                                            o.sensitive_layers.begin() + static_cast<long>(k));
    add("int8-mixed-" + std::to_string(k), base, s);
  }
  add("fp16", base, {{"op", "quantize"}, {"mode", "fp16"}});
  add("dynamic", base, {{"op", "quantize"}, {"mode", "dynamic"}});

  // Structured pruning (smaller dense models), alone and in int8; unstructured sparsity (the
  // deflated file shrinks); low-rank factorization.
  const double ratios[] = {0.2, 0.35, 0.5};
  for (double r : ratios) {
    const std::string p = "prune-" + percent(r);
    add(p, base, {{"op", "prune"}, {"structured", true}, {"ratio", r}});
    add(p + "+int8", p, int8(o.calib_samples, true, "minmax"));
  }
  add("sparse-50", base, {{"op", "prune"}, {"sparsity", 0.5}});
  add("lowrank-90", base, {{"op", "lowrank"}, {"energy", 0.9}});
  // Fine-tuning last: it costs minutes where every other step costs seconds, so a --budget cuts
  // these first.
  if (o.train) {
    const nlohmann::json finetune = {{"op", "finetune"},
                                     {"epochs", 1},
                                     {"optimizer", "adamw"},
                                     {"lr", 0.001},
                                     {"seed", static_cast<int64_t>(o.seed)}};
    for (double r : ratios) {
      const std::string p = "prune-" + percent(r);
      add(p + "+ft", p, finetune);
      add(p + "+ft+int8", p + "+ft", int8(o.calib_samples, true, "minmax"));
    }
    add("sparse-50+ft", "sparse-50", finetune);
    // The lottery ticket at the same sparsity: two rounds of magnitude pruning, the survivors
    // rewound to the input model's weights (epoch 0) and retrained one epoch each. No int8
    // child, as for sparse-50: an unstructured sparse model in int8 has the size and latency of
    // `int8`.
    nlohmann::json lottery = finetune;
    lottery["op"] = "lottery";
    lottery["sparsity"] = 0.5;
    lottery["steps"] = 2;
    lottery["rewind"] = 0;
    add("lottery-50", base, lottery);
    // Knowledge distillation from the input model into the most pruned one, and quantization-
    // aware training of the whole model (int8 with the scales learned, where plain int8 loses
    // accuracy).
    if (!o.teacher.empty()) {
      nlohmann::json distill = finetune;
      distill["op"] = "distill";
      distill["teacher"] = o.teacher;
      add("prune-50+kd", "prune-50", distill);
      add("prune-50+kd+int8", "prune-50+kd", int8(o.calib_samples, true, "minmax"));
    }
    // Smaller architectures of the zoo trained from scratch on the model's logits (the small
    // architecture search of the lecture): a LeNet-5 and a half-width ResNet-8, and their int8.
    // Two epochs each; steps that do not apply (not one image input) are skipped.
    if (!o.teacher.empty())
      for (const auto& [name, arch, width] : {std::tuple{"student-lenet5", "lenet5", 1.0},
                                              std::tuple{"student-resnet8-x0.5", "resnet8", 0.5}}) {
        add(name, base,
            {{"op", "student"},
             {"arch", arch},
             {"width", width},
             {"teacher", o.teacher},
             {"epochs", 2},
             {"optimizer", "adamw"},
             {"lr", 0.003},
             {"seed", static_cast<int64_t>(o.seed)}});
        add(std::string(name) + "+int8", name, int8(o.calib_samples, true, "minmax"));
      }
    add("qat", base,
        {{"op", "qat"},
         {"epochs", 1},
         {"optimizer", "adamw"},
         {"lr", 0.0005},
         {"samples", std::min<int64_t>(o.calib_samples, 512)},
         {"seed", static_cast<int64_t>(o.seed)}});
  }
  return plan;
}

}  // namespace edgeopt
