// Accuracy and fidelity metrics against hand-computed values; evaluate() over a dataset.
#include "edgeopt/eval.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "edgeopt/data.h"
#include "edgeopt/error.h"
#include "testing/model_builder.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;

Tensor logits(std::vector<float> v, int64_t n, int64_t c) {
  return Tensor::from_vector<float>(v, {n, c});
}
Tensor labels(std::vector<int64_t> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return Tensor::from_vector<int64_t>(v, {n});
}

TEST(Classification, TopKAndConfusion) {
  ClassificationAccumulator acc(3);
  // Row 0: predicts 0 (label 0, right). Row 1: predicts 2 (label 1, wrong).
  // Row 2: predicts 1 (label 1, right). Row 3: ties 0 and 2 → argmax takes 0 (label 2, wrong).
  acc.add(logits({5, 1, 0, /**/ 0, 1, 2, /**/ -1, 3, 2, /**/ 4, 0, 4}, 4, 3), labels({0, 1, 1, 2}));
  const ClassificationMetrics& m = acc.metrics();
  EXPECT_EQ(m.count, 4);
  EXPECT_EQ(m.top1_correct, 2);
  EXPECT_DOUBLE_EQ(m.top1(), 0.5);
  EXPECT_EQ(m.top5_correct, 4);  // k = min(5, 3) = 3: always right
  const std::vector<std::vector<int64_t>> want = {{1, 0, 0}, {0, 1, 1}, {1, 0, 0}};
  EXPECT_EQ(m.confusion, want);
  EXPECT_DOUBLE_EQ(m.class_accuracy(0), 1.0);
  EXPECT_DOUBLE_EQ(m.class_accuracy(1), 0.5);
  EXPECT_DOUBLE_EQ(m.class_accuracy(2), 0.0);
  EXPECT_EQ(m.class_count(1), 2);
}

TEST(Classification, Top5CountsRankWithTiesInIndexOrder) {
  ClassificationAccumulator acc(7);
  // Label 6 has the 6th largest logit: not in the top 5.
  acc.add(logits({7, 6, 5, 4, 3, 1, 2}, 1, 7), labels({6}));
  EXPECT_EQ(acc.metrics().top5_correct, 0);
  // Label 4: one larger logit and three equal ones at lower indices: rank 4, in the top 5.
  acc.add(logits({9, 1, 1, 1, 1, 1, 0}, 1, 7), labels({4}));
  EXPECT_EQ(acc.metrics().top5_correct, 1);
  // Label 5 of the same logits: rank 5, out.
  acc.add(logits({9, 1, 1, 1, 1, 1, 0}, 1, 7), labels({5}));
  EXPECT_EQ(acc.metrics().top5_correct, 1);
  // Label 6 ties with indices 1..5: rank 6, out.
  acc.add(logits({9, 1, 1, 1, 1, 1, 1}, 1, 7), labels({6}));
  EXPECT_EQ(acc.metrics().top5_correct, 1);
  EXPECT_EQ(acc.metrics().top1_correct, 0);
  EXPECT_DOUBLE_EQ(acc.metrics().top5(), 0.25);
}

TEST(Classification, BadLabelsAndShapesAreInputErrors) {
  ClassificationAccumulator acc(3);
  EXPECT_THROW(acc.add(logits({1, 2, 3}, 1, 3), labels({3})), Error);
  EXPECT_THROW(acc.add(logits({1, 2, 3}, 1, 3), labels({-1})), Error);
  EXPECT_THROW(acc.add(logits({1, 2}, 1, 2), labels({0})), Error);
  EXPECT_THROW(acc.add(logits({1, 2, 3}, 1, 3), labels({0, 1})), Error);
}

TEST(Fidelity, HandComputed) {
  FidelityAccumulator f;
  // ref rows (1, 0) and (0, 1); out rows (1, 0) and (1, 0).
  // agreement: 1 of 2. cosine: 1 and 0 → 0.5. SQNR: Σref² = 2, Σ(ref − out)² = 2 → 0 dB.
  f.add(logits({1, 0, 0, 1}, 2, 2), logits({1, 0, 1, 0}, 2, 2));
  Fidelity r = f.result();
  EXPECT_EQ(r.count, 2);
  EXPECT_DOUBLE_EQ(r.agreement, 0.5);
  EXPECT_DOUBLE_EQ(r.cosine, 0.5);
  EXPECT_NEAR(r.sqnr_db, 0.0, 1e-12);

  // out = 1.1 · ref: noise = 0.01 · signal → SQNR = 20 dB, cosine 1, full agreement.
  FidelityAccumulator g;
  g.add(logits({3, -1, 2, 0.5f, 4, -2}, 2, 3),
        logits({3.3f, -1.1f, 2.2f, 0.55f, 4.4f, -2.2f}, 2, 3));
  r = g.result();
  EXPECT_DOUBLE_EQ(r.agreement, 1.0);
  EXPECT_NEAR(r.cosine, 1.0, 1e-7);
  EXPECT_NEAR(r.sqnr_db, 20.0, 1e-4);

  // Identical outputs: infinite SQNR; cosine of (3, 4) and (4, 3) = 24 / 25.
  FidelityAccumulator h;
  h.add(logits({1, 2}, 1, 2), logits({1, 2}, 1, 2));
  EXPECT_TRUE(std::isinf(h.result().sqnr_db));
  FidelityAccumulator k;
  k.add(logits({3, 4}, 1, 2), logits({4, 3}, 1, 2));
  EXPECT_NEAR(k.result().cosine, 0.96, 1e-12);
  EXPECT_DOUBLE_EQ(k.result().agreement, 0.0);
  EXPECT_THROW(k.add(logits({1, 2}, 1, 2), logits({1, 2, 3}, 1, 3)), Error);
}

class EvaluateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("edgeopt_eval_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    // 5 samples of 3 features; the largest feature is the prediction after Relu.
    // Predictions: 0, 1, 2, 2, 0 against labels 0, 1, 1, 2, 2 → 3 of 5 right.
    x_ = Tensor::from_vector<float>({3, 1, 0, /**/ 0, 2, 1, /**/ -1, 0, 5, /**/ 1, 1, 2,
                                     /**/ 4, -3, 1},
                                    {5, 3});
    save_npz(dir_ / "d.npz",
             {{"x", x_}, {"y", Tensor::from_vector<int64_t>({0, 1, 1, 2, 2}, {5})}});
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  Tensor x_;
};

TEST_F(EvaluateTest, DynamicBatchInChunks) {
  Session s(test::relu_model({-1, 3}));
  EXPECT_EQ(eval_batch_size(s, 0), 64);
  auto data = open_dataset((dir_ / "d.npz").string());
  EvalOptions o;
  o.batch = 2;
  int64_t calls = 0;
  o.progress = [&](int64_t done, int64_t total) {
    ++calls;
    EXPECT_EQ(total, 5);
    EXPECT_LE(done, 5);
  };
  const EvalResult r = evaluate(s, *data, o);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(r.metrics.count, 5);
  EXPECT_EQ(r.metrics.top1_correct, 3);
  const std::vector<std::vector<int64_t>> want = {{1, 0, 0}, {0, 1, 1}, {1, 0, 1}};
  EXPECT_EQ(r.metrics.confusion, want);
  o.limit = 2;
  o.progress = nullptr;
  EXPECT_EQ(evaluate(s, *data, o).metrics.count, 2);
}

TEST_F(EvaluateTest, StaticBatchPadsAndReshapes) {
  // Fixed batch of 2 and a 3×1 sample layout: 5 samples run as 2 + 2 + (1 padded).
  Session s(test::relu_model({2, 3, 1}));
  EXPECT_EQ(eval_batch_size(s, 0), 2);
  auto data = open_dataset((dir_ / "d.npz").string());
  const EvalResult r = evaluate(s, *data);
  EXPECT_EQ(r.metrics.count, 5);
  EXPECT_EQ(r.metrics.top1_correct, 3);
  // Batch 1 model against itself as reference: perfect fidelity.
  Session one(test::relu_model({1, 3}));
  const EvalResult f = evaluate(one, *data, {}, &s);
  ASSERT_TRUE(f.fidelity.has_value());
  EXPECT_DOUBLE_EQ(f.fidelity->agreement, 1.0);
  EXPECT_DOUBLE_EQ(f.fidelity->cosine, 1.0);
  EXPECT_TRUE(std::isinf(f.fidelity->sqnr_db));
  // Sample shape that does not fit the model: one-line input error.
  Session wrong(test::relu_model({-1, 4}));
  EXPECT_THROW(evaluate(wrong, *data), Error);
}

}  // namespace
}  // namespace edgeopt
