// The recipe steps of the training backend. "finetune": a structurally pruned model recovers
// accuracy, unstructured zeros stay zero, and without training data the step is skipped and says
// so. "distill": a pruned student recovers from its unpruned teacher's logits. "qat": the model
// becomes QDQ int8 whose accuracy stays near the float model's. "student": a smaller zoo
// architecture trained from the model's logits. A recipe with a bad step is refused before any
// work.
#include <gtest/gtest.h>

#include <filesystem>

#include "edgeopt/error.h"
#include "edgeopt/eval.h"
#include "edgeopt/inspect.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/recipe.h"
#include "edgeopt/session.h"
#include "train_test_util.h"

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

// The bundled model's file (the teacher), and recipe options that train on Fashion-MNIST and
// evaluate on 500 test images.
std::string teacher_path() {
  return (std::filesystem::path(EDGEOPT_SOURCE_DIR) / "models" / "fashion_resnet.onnx").string();
}

RecipeOptions train_and_eval() {
  RecipeOptions o;
  o.train_spec = "fashion-mnist:train";
  o.calibration_spec = "fashion-mnist:train";
  o.eval_spec = "fashion-mnist:test";
  o.eval_limit = 500;
  return o;
}

TEST(RecipeDistill, PrunedStudentRecoversFromTheTeacher) {
  const Recipe r = parse_recipe(nlohmann::json::parse(R"({"steps": [
      {"op": "prune", "name": "pruned", "structured": true, "ratio": 0.3},
      {"op": "distill", "name": "distilled", "teacher": ")" +
                                                      teacher_path() + R"(",
       "epochs": 1, "optimizer": "adamw", "lr": 0.002, "limit": 4096}]})"));
  Model student;
  const RecipeReport rep = run_recipe(bundled(), "fashion_resnet", r, train_and_eval(), &student);
  ASSERT_EQ(rep.rows.size(), 3u);
  std::printf("pruned %.3f, distilled %.3f (%s)\n", *rep.rows[1].top1, *rep.rows[2].top1,
              rep.rows[2].summary.c_str());
  EXPECT_NE(rep.rows[2].summary.find("distilled from"), std::string::npos);
  EXPECT_GT(*rep.rows[2].top1, *rep.rows[1].top1 + 0.3);
  EXPECT_EQ(rep.rows[2].macs, rep.rows[1].macs);
  EXPECT_DOUBLE_EQ(train::fashion_top1(student, 500), *rep.rows[2].top1);
}

TEST(RecipeQat, QdqInt8NearTheFloatModel) {
  const Recipe r = parse_recipe(nlohmann::json::parse(R"({"steps": [
      {"op": "qat", "name": "qat", "epochs": 1, "optimizer": "adamw", "lr": 0.0005,
       "limit": 2048, "samples": 256}]})"));
  Model q;
  const RecipeReport rep = run_recipe(bundled(), "fashion_resnet", r, train_and_eval(), &q);
  ASSERT_EQ(rep.rows.size(), 2u);
  std::printf("float %.3f, qat %.3f (%s)\n", *rep.rows[0].top1, *rep.rows[1].top1,
              rep.rows[1].summary.c_str());
  EXPECT_GT(*rep.rows[1].top1, *rep.rows[0].top1 - 0.02);
  EXPECT_GT(inspect_model(q, 1).quantized_share, 0.9);  // QDQ around every conv and gemm
  EXPECT_DOUBLE_EQ(train::fashion_top1(q, 500), *rep.rows[1].top1);
}

TEST(RecipeStudent, ZooArchitectureTrainedFromTheTeacher) {
  const Recipe r = parse_recipe(nlohmann::json::parse(R"({"steps": [
      {"op": "student", "name": "lenet", "arch": "lenet5", "teacher": ")" +
                                                      teacher_path() +
                                                      R"(",
       "epochs": 1, "optimizer": "adamw", "lr": 0.003, "limit": 16384, "seed": 1}]})"));
  Model student;
  const RecipeReport rep = run_recipe(bundled(), "fashion_resnet", r, train_and_eval(), &student);
  ASSERT_EQ(rep.rows.size(), 2u);
  std::printf("teacher %.3f, lenet5 student %.3f (%s)\n", *rep.rows[0].top1, *rep.rows[1].top1,
              rep.rows[1].summary.c_str());
  EXPECT_NE(rep.rows[1].summary.find("lenet5"), std::string::npos);
  EXPECT_GT(*rep.rows[1].top1, 0.6);              // trained, not random (0.1)
  EXPECT_LT(rep.rows[1].macs, rep.rows[0].macs);  // another, smaller architecture
  EXPECT_DOUBLE_EQ(train::fashion_top1(student, 500), *rep.rows[1].top1);
}

TEST(RecipeTrainingSteps, BadOptionsRefusedBeforeWork) {
  RecipeOptions o;
  o.train_spec = "fashion-mnist:train";
  for (const std::string& steps : std::vector<std::string>{
           R"([{"op": "distill", "epochs": 1}])",
           R"([{"op": "distill", "teacher": "/no/such/teacher.onnx"}])",
           R"([{"op": "distill", "teacher": ")" + teacher_path() + R"(", "alpha": 2}])",
           R"([{"op": "qat", "samples": 0}])", R"([{"op": "qat", "epochs": "many"}])",
           R"([{"op": "student", "arch": "transformer"}])", R"([{"op": "student", "width": 0}])"}) {
    const Recipe r = parse_recipe(nlohmann::json::parse(R"({"steps": )" + steps + "}"));
    try {
      run_recipe(bundled(), "m", r, o, nullptr);
      ADD_FAILURE() << steps << " ran";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput) << steps << ": " << e.what();
    }
  }
}

}  // namespace
}  // namespace edgeopt
