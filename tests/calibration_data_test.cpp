// Calibration data without labels (.npy, an .npz with x alone or with one array per model input,
// an image folder without class sub-folders) and models exported with a fixed batch: each must
// calibrate exactly like the same samples given as a labelled .npz to a dynamic-batch model.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>

#include "cli_run.h"
#include "edgeopt/data.h"
#include "edgeopt/error.h"
#include "edgeopt/eval.h"
#include "edgeopt/input_shapes.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/quantize.h"
#include "edgeopt/session.h"
#include "testing/scratch.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;
using edgeopt::testing::run_edgeopt;
using test::quantize_scales;

constexpr int64_t kSamples = 16;

fs::path resnet8() { return fs::path(EDGEOPT_SOURCE_DIR) / "models" / "fashion_resnet8.onnx"; }

std::string quantized_bytes(const Model& m, Dataset& calib, int64_t batch = 8) {
  QuantizeOptions o;
  o.samples = kSamples;
  o.batch = batch;
  return serialize_model(quantize_model(m, o, &calib, nullptr, nullptr));
}

class CalibrationData : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::test_scratch_dir("edgeopt_calib_data");
    ASSERT_TRUE(fs::exists(fs::path(kFashionMnistDir))) << "dataset-fashion-mnist not installed";
    const Batch b = open_dataset("fashion-mnist:test")->read(0, kSamples);
    x_ = b.x;
    y_ = b.y;
    save_npz(dir_ / "labelled.npz", {{"x", x_}, {"y", y_}});
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string labelled_bytes(const Model& m) {
    auto d = open_dataset((dir_ / "labelled.npz").string());
    EXPECT_TRUE(d->labelled());
    return quantized_bytes(m, *d);
  }

  // The samples as 8-bit grayscale PNGs in `folder` (x = u8 / 255, so the pixels are exact).
  void write_pngs(const fs::path& folder) {
    fs::create_directories(folder);
    const int64_t per = 28 * 28;
    for (int64_t i = 0; i < kSamples; ++i) {
      std::vector<uint8_t> px(per);
      for (int64_t k = 0; k < per; ++k)
        px[k] = static_cast<uint8_t>(std::lround(x_.data<float>()[i * per + k] * 255.f));
      char name[32];
      std::snprintf(name, sizeof name, "img%02lld.png", static_cast<long long>(i));
      ASSERT_TRUE(stbi_write_png((folder / name).c_str(), 28, 28, 1, px.data(), 28));
    }
  }

  fs::path dir_;
  Tensor x_, y_;
};

TEST_F(CalibrationData, NpyAndXOnlyNpzCalibrateLikeTheLabelledNpz) {
  const Model m = load_model(resnet8());
  const std::string want = labelled_bytes(m);
  save_npy(dir_ / "x.npy", x_);
  save_npz(dir_ / "x_only.npz", {{"x", x_}});
  for (const char* f : {"x.npy", "x_only.npz"}) {
    auto d = open_dataset((dir_ / f).string());
    EXPECT_FALSE(d->labelled()) << f;
    EXPECT_EQ(d->size(), kSamples) << f;
    EXPECT_TRUE(quantized_bytes(m, *d) == want) << f << " calibrates differently";
  }
}

TEST_F(CalibrationData, ImageFolderWithoutClassesCalibratesLikeTheLabelledOne) {
  write_pngs(dir_ / "flat");
  write_pngs(dir_ / "classes" / "a");
  const Model m = load_model(resnet8());
  auto flat = open_dataset((dir_ / "flat").string() + "?channels=1");
  auto classes = open_dataset((dir_ / "classes").string() + "?channels=1");
  EXPECT_FALSE(flat->labelled());
  EXPECT_TRUE(classes->labelled());
  EXPECT_EQ(flat->size(), kSamples);
  EXPECT_TRUE(flat->read(0, 1).x.defined() && !flat->read(0, 1).y.defined());
  const std::string want = quantized_bytes(m, *classes);
  EXPECT_TRUE(quantized_bytes(m, *flat) == want);
  // The PNGs hold the .npz's pixels: the same model as from the labelled .npz.
  EXPECT_TRUE(want == labelled_bytes(m));
}

TEST_F(CalibrationData, EvalAndTrainingRefuseUnlabelledData) {
  save_npy(dir_ / "x.npy", x_);
  auto d = open_dataset((dir_ / "x.npy").string());
  Session s(load_model(resnet8()));
  try {
    evaluate(s, *d);
    FAIL() << "evaluate accepted unlabelled data";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("eval needs labels"), std::string::npos) << e.what();
  }
  const auto r =
      run_edgeopt("eval " + resnet8().string() + " --data " + (dir_ / "x.npy").string(), dir_);
  EXPECT_TRUE(r.one_line_input_error()) << r.exit_code << " " << r.err;
  EXPECT_NE(r.err.find("eval needs labels"), std::string::npos) << r.err;
}

TEST_F(CalibrationData, QuantizeCliTakesAnNpy) {
  save_npy(dir_ / "x.npy", x_);
  const std::string model = resnet8().string();
  for (const char* data : {"x.npy", "labelled.npz"}) {
    const auto r = run_edgeopt("quantize " + model + " --calib " + (dir_ / data).string() +
                                   " --samples 16 -o " + (dir_ / data).string() + ".onnx",
                               dir_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  EXPECT_EQ(testing::slurp(dir_ / "x.npy.onnx"), testing::slurp(dir_ / "labelled.npz.onnx"));
}

// A model with two inputs a, b (N×8): y = (a + b) · W.
Model two_input_model() {
  Model m;
  m.opset_imports = {{"", 13}};
  m.graph.name = "two_inputs";
  for (const char* name : {"a", "b"}) {
    ValueInfo v;
    v.name = name;
    v.dtype = DType::kF32;
    v.has_shape = true;
    v.dims = {Dim{-1, "N"}, Dim{8, ""}};
    m.graph.inputs.push_back(v);
  }
  Tensor w(DType::kF32, {8, 4});
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = u(rng);
  m.graph.add_initializer("w", w);
  Node add;
  add.name = "add";
  add.op_type = "Add";
  add.inputs = {"a", "b"};
  add.outputs = {"s"};
  Node mm;
  mm.name = "matmul";
  mm.op_type = "MatMul";
  mm.inputs = {"s", "w"};
  mm.outputs = {"y"};
  m.graph.nodes = {add, mm};
  ValueInfo y;
  y.name = "y";
  y.dtype = DType::kF32;
  y.has_shape = true;
  y.dims = {Dim{-1, "N"}, Dim{4, ""}};
  m.graph.outputs.push_back(y);
  return m;
}

TEST_F(CalibrationData, InputNamedNpzFeedsEachInputOfATwoInputModel) {
  Tensor a(DType::kF32, {kSamples, 8}), b(DType::kF32, {kSamples, 8});
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> ua(-1, 2), ub(-3, 0.5);
  for (int64_t i = 0; i < a.numel(); ++i) a.data<float>()[i] = ua(rng);
  for (int64_t i = 0; i < b.numel(); ++i) b.data<float>()[i] = ub(rng);
  save_npz(dir_ / "ab.npz", {{"a", a}, {"b", b}});
  save_npz(dir_ / "ba.npz", {{"b", b}, {"a", a}});
  const Model m = two_input_model();
  auto ab = open_dataset((dir_ / "ab.npz").string());
  auto ba = open_dataset((dir_ / "ba.npz").string());
  EXPECT_EQ(ab->input_names(), (std::vector<std::string>{"a", "b"}));
  const std::string q = quantized_bytes(m, *ab);
  EXPECT_TRUE(quantized_bytes(m, *ba) == q) << "archive order changed the result";
  // min/max calibration of s = a + b, u8 asymmetric: scale = (max(s, 0) − min(s, 0)) / 255.
  float lo = 0, hi = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const float s = a.data<float>()[i] + b.data<float>()[i];
    lo = std::min(lo, s);
    hi = std::max(hi, s);
  }
  const auto scales = quantize_scales(parse_model(q, dir_));
  ASSERT_TRUE(scales.count("s")) << "s was not quantized";
  EXPECT_NEAR(scales.at("s"), (hi - lo) / 255.f, 1e-6f * (hi - lo));

  // An array that is no input, and an input without array, are named.
  save_npz(dir_ / "ac.npz", {{"a", a}, {"c", b}});
  auto ac = open_dataset((dir_ / "ac.npz").string());
  try {
    quantized_bytes(m, *ac);
    FAIL() << "array 'c' accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("array 'c' is not an input"), std::string::npos)
        << e.what();
  }
  save_npz(dir_ / "a.npz", {{"a", a}});
  auto one = open_dataset((dir_ / "a.npz").string());
  try {
    quantized_bytes(m, *one);
    FAIL() << "one array for two inputs accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has 2 inputs (a, b)"), std::string::npos) << e.what();
  }
}

TEST_F(CalibrationData, FixedBatchModelsCalibrateLikeTheDynamicOne) {
  const Model dynamic = load_model(resnet8());
  const auto want = quantize_scales(parse_model(labelled_bytes(dynamic), dir_));
  ASSERT_GT(want.size(), 5u);
  auto data = open_dataset((dir_ / "labelled.npz").string());
  // Batch 1 (torch.onnx.export's default) and batch 3, which pads the last of six chunks
  // (16 = 5·3 + 1); read 8 at a time, and 5 at a time so chunks straddle reads.
  for (int64_t fixed : {1, 3}) {
    for (int64_t read : {8, 5}) {
      Model m = dynamic;
      set_input_shapes(m, {{"input", {fixed, 1, 28, 28}}});
      ASSERT_TRUE(m.graph.inputs[0].dims[0].is_static());
      const auto got = quantize_scales(parse_model(quantized_bytes(m, *data, read), dir_));
      EXPECT_EQ(got, want) << "batch " << fixed << ", read " << read;
    }
  }
}

TEST_F(CalibrationData, FixedBatchModelEvaluatesLikeTheDynamicOne) {
  const Model dynamic = load_model(resnet8());
  Model fixed = dynamic;
  set_input_shapes(fixed, {{"", {1, 1, 28, 28}}});
  auto data = open_dataset("fashion-mnist:test");
  EvalOptions o;
  o.limit = 300;
  Session sd(dynamic), sf(fixed);
  const EvalResult rd = evaluate(sd, *data, o);
  o.batch = 32;  // any read size: the model still gets one sample per run
  const EvalResult rf = evaluate(sf, *data, o);
  EXPECT_EQ(rf.metrics.count, 300);
  EXPECT_EQ(rf.metrics.top1_correct, rd.metrics.top1_correct);
  EXPECT_GT(rd.metrics.top1(), 0.8);  // a trained model: the comparison means something
}

}  // namespace
}  // namespace edgeopt
