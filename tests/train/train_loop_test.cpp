// Training through the torch-free API: loss falls, resume is exact, pruned weights stay zero,
// QAT exports a QDQ model edgeopt runs, distillation trains, and every zoo model passes the
// ONNX checker and runs in edgeopt's runtime. Small: a few hundred Fashion-MNIST images.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "edgeopt/data.h"
#include "edgeopt/error.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/prune.h"
#include "edgeopt/session.h"
#include "edgeopt/train.h"

namespace edgeopt::train {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("edgeopt_train_test_" + std::to_string(getpid()));
  fs::create_directories(d);
  return d;
}

TrainOptions small_options() {
  TrainOptions o;
  o.epochs = 2;
  o.batch = 32;
  o.lr = 0.05;
  o.limit = 256;
  o.threads = 1;
  o.progress = false;
  return o;
}

bool same_initializers(const Model& a, const Model& b) {
  if (a.graph.initializers.size() != b.graph.initializers.size()) return false;
  for (const NamedTensor& t : a.graph.initializers) {
    const NamedTensor* u = b.graph.find_initializer(t.name);
    if (!u || u->tensor.nbytes() != t.tensor.nbytes() ||
        std::memcmp(u->tensor.raw(), t.tensor.raw(), t.tensor.nbytes()) != 0)
      return false;
  }
  return true;
}

TEST(Zoo, EveryArchitecturePassesTheCheckerAndRuns) {
  const fs::path dir = temp_dir();
  for (const std::string& arch : zoo_architectures()) {
    ZooOptions o;
    o.classes = 7;
    o.width = arch == "resnet18" || arch == "mobilenet_v2" ? 0.25 : 1.0;
    Model m = build_zoo_model(arch, o);
    const fs::path path = dir / (arch + ".onnx");
    save_model(m, path);  // runs the ONNX checker
    Model loaded = load_model(path);
    EXPECT_EQ(loaded.opset(), 13) << arch;
    // The reference provider is the oracle of what the model means.
    SessionOptions so;
    so.providers = {"reference"};
    Session s(loaded, so);
    const Tensor out = s.run({Tensor(DType::kF32, {2, 1, 28, 28})})[0];
    EXPECT_EQ(out.shape(), (Shape{2, 7})) << arch;
  }
  // ImageNet stem for inputs of 64 px and more.
  ZooOptions o;
  o.input = {1, 3, 64, 64};
  o.width = 0.25;
  Model m = build_zoo_model("resnet18", o);
  SessionOptions so;
  so.providers = {"reference"};
  Session s(m, so);
  EXPECT_EQ(s.run({Tensor(DType::kF32, {1, 3, 64, 64})})[0].shape(), (Shape{1, 10}));
  EXPECT_THROW(build_zoo_model("vgg", o), Error);
}

TEST(Train, LossFallsAndAccuracyRises) {
  auto data = open_dataset("fashion-mnist:train");
  Model m = build_zoo_model("lenet5", {});
  TrainOptions o = small_options();
  o.epochs = 3;
  o.limit = 512;
  o.optimizer = "adamw";
  o.lr = 0.003;
  const std::vector<EpochStats> h = train_model(m, *data, nullptr, o);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_LT(h[2].loss, h[0].loss);
  EXPECT_LT(h[2].loss, 0.8 * std::log(10.0));
  EXPECT_GT(evaluate_top1(m, *data, 512), 0.5);
}

TEST(Train, DeterministicAndResumeIsExact) {
  const fs::path dir = temp_dir();
  auto data = open_dataset("fashion-mnist:train");
  ZooOptions zo;
  zo.width = 0.5;
  const Model init = build_zoo_model("resnet8", zo);
  TrainOptions o = small_options();
  o.augment = true;
  o.optimizer = "adamw";
  o.lr = 0.003;
  o.weight_decay = 0.01;

  Model full = init;
  train_model(full, *data, nullptr, o);
  Model again = init;
  train_model(again, *data, nullptr, o);
  EXPECT_TRUE(same_initializers(full, again)) << "training is not deterministic";

  // Stop after epoch 1 of the same 2-epoch schedule with a checkpoint, then resume.
  Model part = init;
  TrainOptions first = o;
  first.checkpoint = (dir / "ckpt.onnx").string();
  first.stop_after = 1;
  train_model(part, *data, nullptr, first);
  EXPECT_FALSE(same_initializers(part, full));
  Model resumed = init;
  TrainOptions second = o;
  second.resume = first.checkpoint;
  const std::vector<EpochStats> h = train_model(resumed, *data, nullptr, second);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].epoch, 2);
  EXPECT_TRUE(same_initializers(resumed, full)) << "resume differs from the uninterrupted run";
}

TEST(Finetune, PrunedWeightsStayZero) {
  auto data = open_dataset("fashion-mnist:train");
  Model m = build_zoo_model("lenet5", {});
  PruneOptions po;
  po.sparsity = 0.6;
  prune_unstructured(m, po);
  const Model before = m;
  TrainOptions o = small_options();
  o.epochs = 1;
  o.keep_zeros = true;
  train_model(m, *data, nullptr, o);
  int64_t zeros_before = 0, zeros_after = 0, changed = 0;
  for (const NamedTensor& t : before.graph.initializers) {
    if (t.tensor.rank() < 2) continue;
    const Tensor& u = m.graph.find_initializer(t.name)->tensor;
    for (int64_t i = 0; i < t.tensor.numel(); ++i) {
      const float a = t.tensor.data<float>()[i], b = u.data<float>()[i];
      if (a == 0) {
        ++zeros_before;
        EXPECT_EQ(b, 0.0f) << t.name << "[" << i << "] was pruned and came back";
      }
      zeros_after += b == 0;
      changed += a != b;
    }
  }
  EXPECT_GT(zeros_before, 0);
  EXPECT_EQ(zeros_after, zeros_before);
  EXPECT_GT(changed, 0);
}

// QAT with int8 weights in [−qmax, qmax]: the exported QDQ model keeps that range and
// edgeopt's runtime agrees with the fake-quantized torch graph.
void check_qat_export(int qmax) {
  auto data = open_dataset("fashion-mnist:train");
  Model m = build_zoo_model("lenet5", {});
  TrainOptions o = small_options();
  o.epochs = 1;
  train_model(m, *data, nullptr, o);
  QatOptions qo;
  qo.calib_samples = 128;
  qo.weight_qmax = qmax;
  const int64_t quantized = insert_fake_quant(m, *data, qo);
  EXPECT_EQ(quantized, 5);  // 2 convolutions, 3 linear layers
  o.train_quant_scales = true;
  o.weight_qmax = qmax;
  o.lr = 0.002;
  train_model(m, *data, nullptr, o);
  const double fake = evaluate_top1(m, *data, 256);
  finalize_qdq(m, qmax);
  int64_t s8 = 0, at_limit = 0;
  for (const NamedTensor& t : m.graph.initializers) {
    if (t.tensor.dtype() != DType::kI8 || t.tensor.rank() < 2) continue;
    ++s8;
    for (int64_t i = 0; i < t.tensor.numel(); ++i) {
      const int v = t.tensor.data<int8_t>()[i];
      ASSERT_LE(std::abs(v), qmax);
      at_limit += std::abs(v) == qmax;
    }
  }
  EXPECT_EQ(s8, 5);
  EXPECT_GT(at_limit, 0);  // the range is used
  const fs::path path = temp_dir() / ("qat" + std::to_string(qmax) + ".onnx");
  save_model(m, path);  // checker
  Model loaded = load_model(path);
  Session s(loaded);
  // edgeopt's runtime on the exported QDQ model agrees with the fake-quantized torch graph.
  EXPECT_NEAR(evaluate_top1(loaded, *data, 256), fake, 0.02);
  Batch b = data->read(0, 4);
  EXPECT_EQ(s.run({b.x})[0].shape(), (Shape{4, 10}));
}

TEST(Qat, ExportsQdqModelThatEdgeoptRuns) { check_qat_export(127); }

TEST(Qat, SevenBitWeightsStayInTheirRange) { check_qat_export(63); }

TEST(Distill, TrainsTheStudentFromTheTeacher) {
  const fs::path teacher = fs::path(EDGEOPT_SOURCE_DIR) / "models" / "fashion_resnet.onnx";
  if (!fs::exists(teacher)) GTEST_SKIP() << "no teacher model";
  auto data = open_dataset("fashion-mnist:train");
  Model student = build_zoo_model("mlp", {});
  TrainOptions o = small_options();
  o.teacher = teacher.string();
  o.teacher_providers = {"reference"};
  o.alpha = 0.3;
  o.temperature = 4;
  o.epochs = 3;
  o.optimizer = "adamw";
  o.lr = 0.003;
  const std::vector<EpochStats> h = train_model(student, *data, nullptr, o);
  EXPECT_LT(h.back().loss, h.front().loss);
  EXPECT_GT(evaluate_top1(student, *data, 256), 0.5);
}

TEST(Schedule, CubicSparsity) {
  EXPECT_DOUBLE_EQ(cubic_sparsity(0.8, 0, 4), 0.0);
  EXPECT_DOUBLE_EQ(cubic_sparsity(0.8, 4, 4), 0.8);
  EXPECT_DOUBLE_EQ(cubic_sparsity(0.8, 2, 4), 0.8 * (1 - 0.125));
}

}  // namespace
}  // namespace edgeopt::train
