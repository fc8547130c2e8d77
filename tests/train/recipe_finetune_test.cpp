// The recipe step "finetune": a structurally pruned model recovers accuracy, unstructured zeros
// stay zero, and without training data the step is skipped and says so.
#include <gtest/gtest.h>

#include <filesystem>

#include "edgeopt/eval.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/recipe.h"
#include "edgeopt/session.h"

namespace edgeopt {
namespace {

Model bundled() {
  return load_model(std::filesystem::path(EDGEOPT_SOURCE_DIR) / "models" / "fashion_resnet.onnx");
}

int64_t zeros(const Model& m) {
  int64_t n = 0;
  for (const NamedTensor& t : m.graph.initializers)
    if (t.tensor.dtype() == DType::kF32 && t.tensor.rank() >= 2)
      for (int64_t i = 0; i < t.tensor.numel(); ++i) n += t.tensor.data<float>()[i] == 0.0f;
  return n;
}

TEST(RecipeFinetune, RecoversAccuracyAfterStructuredPruning) {
  const Recipe r = parse_recipe(nlohmann::json::parse(R"({"steps": [
      {"op": "prune", "name": "pruned", "structured": true, "ratio": 0.3},
      {"op": "finetune", "name": "tuned", "epochs": 2, "optimizer": "adamw", "lr": 0.002,
       "limit": 4096}]})"));
  RecipeOptions o;
  o.train_spec = "fashion-mnist:train";
  o.eval_spec = "fashion-mnist:test";
  o.eval_limit = 500;
  Model tuned;
  const RecipeReport rep = run_recipe(bundled(), "fashion_resnet", r, o, &tuned);
  ASSERT_EQ(rep.rows.size(), 3u);
  std::printf("baseline %.3f, pruned %.3f, fine-tuned %.3f (%s)\n", *rep.rows[0].top1,
              *rep.rows[1].top1, *rep.rows[2].top1, rep.rows[2].summary.c_str());
  EXPECT_LT(*rep.rows[1].top1, 0.5);  // one-shot pruning of the BN-folded model breaks it
  EXPECT_GT(*rep.rows[2].top1, *rep.rows[1].top1 + 0.3);
  EXPECT_EQ(rep.rows[2].macs, rep.rows[1].macs);  // the structure is kept
  // The reported accuracy is the written model's.
  auto data = open_dataset("fashion-mnist:test");
  EvalOptions eo;
  eo.limit = 500;
  Session s(tuned);
  EXPECT_DOUBLE_EQ(evaluate(s, *data, eo).metrics.top1(), *rep.rows[2].top1);
}

TEST(RecipeFinetune, KeepsUnstructuredZerosAndSkipsWithoutData) {
  const Recipe r = parse_recipe(nlohmann::json::parse(R"({"steps": [
      {"op": "prune", "name": "sparse", "sparsity": 0.5},
      {"op": "finetune", "name": "tuned", "epochs": 1, "limit": 256}]})"));
  const Model m = bundled();
  RecipeOptions o;
  Model skipped;
  const RecipeReport none = run_recipe(m, "m", r, o, &skipped);
  EXPECT_NE(none.rows[2].summary.find("skipped"), std::string::npos);
  o.train_spec = "fashion-mnist:train";
  Model tuned;
  run_recipe(m, "m", r, o, &tuned);
  EXPECT_GT(zeros(skipped), 0);
  EXPECT_EQ(zeros(tuned), zeros(skipped));
  bool changed = false;
  for (size_t i = 0; i < tuned.graph.initializers.size(); ++i) {
    const Tensor& a = tuned.graph.initializers[i].tensor;
    const Tensor& b = skipped.graph.initializers[i].tensor;
    if (a.dtype() == DType::kF32 && a.numel() == b.numel())
      for (int64_t k = 0; k < a.numel(); ++k) changed |= a.data<float>()[k] != b.data<float>()[k];
  }
  EXPECT_TRUE(changed);
}

}  // namespace
}  // namespace edgeopt
