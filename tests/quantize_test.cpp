// Post-training quantization: the math against hand-computed values, calibration thresholds on
// known distributions, and the Fashion-MNIST fixtures end to end (accuracy of every variant
// against the fp32 model on real test images).
#include "edgeopt/quantize.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "compress/quant/quant_internal.h"
#include "edgeopt/data.h"
#include "edgeopt/error.h"
#include "edgeopt/eval.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/session.h"
#include "testing/model_builder.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;

// ---- math ---------------------------------------------------------------------------------

TEST(QuantMath, QParamsAsymmetricU8) {
  // [−1, 3]: S = 4/255, Z = round(0 − (−1)/S) = round(63.75) = 64.
  const QParams p = choose_qparams(-1.f, 3.f, DType::kU8, false);
  EXPECT_FLOAT_EQ(p.scale, 4.f / 255.f);
  EXPECT_EQ(p.zero_point, 64);
}

TEST(QuantMath, QParamsAsymmetricI8) {
  // [−1, 3]: S = 4/255, Z = round(−128 + 63.75) = −64.
  const QParams p = choose_qparams(-1.f, 3.f, DType::kI8, false);
  EXPECT_FLOAT_EQ(p.scale, 4.f / 255.f);
  EXPECT_EQ(p.zero_point, -64);
}

TEST(QuantMath, QParamsRangeWidenedToZero) {
  // [0.5, 2] → [0, 2]: S = 2/255, Z = 0 (zero stays exact).
  const QParams p = choose_qparams(0.5f, 2.f, DType::kU8, false);
  EXPECT_FLOAT_EQ(p.scale, 2.f / 255.f);
  EXPECT_EQ(p.zero_point, 0);
}

TEST(QuantMath, QParamsSymmetric) {
  // max(|−1|, 3) = 3 → S = 3 / 127.5; Z = 0 (i8) or 128 (u8).
  QParams p = choose_qparams(-1.f, 3.f, DType::kI8, true);
  EXPECT_FLOAT_EQ(p.scale, 3.f / 127.5f);
  EXPECT_EQ(p.zero_point, 0);
  p = choose_qparams(-1.f, 3.f, DType::kU8, true);
  EXPECT_EQ(p.zero_point, 128);
}

TEST(QuantMath, QParamsZeroRange) {
  const QParams p = choose_qparams(0.f, 0.f, DType::kU8, false);
  EXPECT_FLOAT_EQ(p.scale, 1.f);
  EXPECT_EQ(p.zero_point, 0);
}

TEST(QuantMath, HistogramGrowsByRebinning) {
  Histogram h(8);
  const float a[] = {0.1f, 0.5f, -0.9f, 1.0f};
  h.add(a, 4);
  EXPECT_NEAR(h.limit(), 1.0 * (1 + 1.0 / 8), 1e-6);
  const float b[] = {3.0f};
  h.add(b, 1);
  // The limit doubles until 3.0 fits: 1.125 → 2.25 → 4.5; nothing is lost.
  EXPECT_NEAR(h.limit(), 4.5, 1e-6);
  EXPECT_EQ(h.total(), 5);
  double sum = 0;
  for (double c : h.counts()) sum += c;
  EXPECT_EQ(sum, 5);
  EXPECT_FLOAT_EQ(h.min(), -0.9f);
  EXPECT_FLOAT_EQ(h.max(), 3.0f);
  // 3.0 is in bin floor(3.0 / 4.5 · 8) = 5.
  EXPECT_EQ(h.counts()[5], 1);
}

std::vector<float> gaussian(int n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = d(gen);
  return v;
}

TEST(QuantMath, PercentileOfGaussian) {
  std::vector<float> v = gaussian(200000, 1);
  Histogram h;
  h.add(v.data(), static_cast<int64_t>(v.size()));
  // P(|x| ≤ t) = 0.99 for a standard normal at t = 2.5758.
  EXPECT_NEAR(histogram_threshold(h, CalibMethod::kPercentile, 99.0), 2.5758, 0.03);
  EXPECT_NEAR(histogram_threshold(h, CalibMethod::kMinMax), std::max(-h.min(), h.max()), 1e-6);
}

TEST(QuantMath, EntropyIgnoresOutliers) {
  // A standard normal plus a few far outliers: minmax follows the outliers (50), the KL
  // search keeps the threshold within the bulk of the distribution (TensorRT finds about 3-5σ
  // for a Gaussian with 128 levels).
  std::vector<float> v = gaussian(200000, 2);
  for (int i = 0; i < 5; ++i) v.push_back(50.f);
  Histogram h;
  h.add(v.data(), static_cast<int64_t>(v.size()));
  const double t = histogram_threshold(h, CalibMethod::kEntropy, 0, 127);
  EXPECT_GT(t, 2.5);
  EXPECT_LT(t, 6.0);
  EXPECT_NEAR(histogram_threshold(h, CalibMethod::kMinMax), 50.0, 1e-6);
}

TEST(QuantMath, MseOfUniformKeepsTheRange) {
  // Uniform on [0, 1): clipping costs more than rounding with 255 levels, so the MSE-optimal
  // threshold is at the top of the range (within a bin or two).
  std::mt19937 gen(3);
  std::uniform_real_distribution<float> d(0.f, 1.f);
  std::vector<float> v(100000);
  for (float& x : v) x = d(gen);
  Histogram h;
  h.add(v.data(), static_cast<int64_t>(v.size()));
  EXPECT_NEAR(histogram_threshold(h, CalibMethod::kMse, 0, 255), 1.0, 0.01);
  // With an outlier at 100 the optimum moves up (clipping it costs (100 − T)²). Independent
  // check: the squared error of actually quantizing the samples with [0, T] and 255 steps, at
  // the chosen T, is within 10% of the best T on a fine grid.
  v.push_back(100.f);
  h.add(&v.back(), 1);
  auto sample_mse = [&](double t) {
    double e = 0;
    const double step = t / 255;
    for (float x : v) {
      const double q = std::min(std::round(x / step), 255.0) * step;
      e += (q - x) * (q - x);
    }
    return e;
  };
  double best = 1e300;
  for (double t = 0.5; t <= 128; t += 0.25) best = std::min(best, sample_mse(t));
  EXPECT_LE(sample_mse(histogram_threshold(h, CalibMethod::kMse, 0, 255)), 1.1 * best);
}

// ---- end to end on the Fashion-MNIST fixtures ----------------------------------------------

fs::path model_path(const std::string& name) {
  return fs::path(EDGEOPT_SOURCE_DIR) / "models" / ("fashion_" + name + ".onnx");
}

bool have_data() { return fs::exists(fs::path(kFashionMnistDir) / "t10k-images-idx3-ubyte.gz"); }

constexpr int64_t kTestImages = 1000;
constexpr int64_t kCalibImages = 200;

struct Accuracy {
  double top1 = 0, agreement = 0;
};

SessionOptions reference() {
  SessionOptions o;
  o.providers = {"reference"};
  return o;
}

// Top-1 class of each of the first kTestImages test images, and the labels.
struct Predictions {
  std::vector<int64_t> pred, label;
};

Predictions predict(const Model& m, int64_t count = kTestImages) {
  Session s(m, reference());
  std::unique_ptr<Dataset> test = open_dataset("fashion-mnist:test");
  Predictions p;
  for (int64_t b = 0; b < count; b += 100) {
    const Batch batch = test->read(b, 100);
    const Tensor y = s.run(std::vector<Tensor>{batch.x})[0];
    const int64_t k = y.dim(1);
    for (int64_t i = 0; i < y.dim(0); ++i) {
      const float* row = y.data<float>() + i * k;
      p.pred.push_back(std::max_element(row, row + k) - row);
      p.label.push_back(batch.y.data<int64_t>()[i]);
    }
  }
  return p;
}

// The fp32 model's predictions, computed once per model.
const Predictions& fp32_predictions(const std::string& name, const Model& m) {
  static std::map<std::string, Predictions> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, predict(m)).first;
  return it->second;
}

double top1(const Predictions& p) {
  int64_t c = 0;
  for (size_t i = 0; i < p.pred.size(); ++i) c += p.pred[i] == p.label[i];
  return double(c) / double(p.pred.size());
}

// `count` ≤ kTestImages first images (the reference QLinearConv kernel is slow: fewer for it).
Accuracy evaluate_against(const Model& q, const Predictions& ref, int64_t count = kTestImages) {
  const Predictions p = predict(q, count);
  int64_t agree = 0;
  for (size_t i = 0; i < p.pred.size(); ++i) agree += p.pred[i] == ref.pred[i];
  return {top1(p), double(agree) / double(p.pred.size())};
}

class FashionQuant : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!fs::exists(model_path(GetParam()))) GTEST_SKIP() << model_path(GetParam()) << " missing";
    if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
    model_ = load_model(model_path(GetParam()));
    calib_ = open_dataset("fashion-mnist:train");
  }
  Model quantize(QuantizeOptions o, QuantizeReport* r = nullptr) {
    o.samples = kCalibImages;
    return quantize_model(model_, o, calib_.get(), nullptr, r);
  }
  // Saves and reloads (the ONNX checker runs on both sides).
  Model round_trip(const Model& m, const std::string& tag) {
    const fs::path p = fs::temp_directory_path() / ("edgeopt_quant_" + std::to_string(::getpid()) +
                                                    "_" + GetParam() + "_" + tag + ".onnx");
    save_model(m, p);
    Model back = load_model(p);
    fs::remove(p);
    return back;
  }
  const Predictions& ref() { return fp32_predictions(GetParam(), model_); }
  Model model_;
  std::unique_ptr<Dataset> calib_;
};

TEST_P(FashionQuant, StaticPerChannelQdqDropsAtMostHalfAPoint) {
  QuantizeReport r;
  const Model q = round_trip(quantize({}, &r), "qdq");
  EXPECT_GT(r.quantized_nodes, 0);
  int qdq = 0;
  for (const Node& n : q.graph.nodes) qdq += n.op_type == "QuantizeLinear";
  EXPECT_GT(qdq, 0);
  const double base = top1(ref());
  const Accuracy a = evaluate_against(q, ref());
  EXPECT_LE((base - a.top1) * 100, 0.5) << "fp32 " << base << " int8 " << a.top1;
}

TEST_P(FashionQuant, QOperatorAgrees) {
  QuantizeOptions o;
  o.format = QuantFormat::kQOperator;
  const Model q = round_trip(quantize(o), "qop");
  int qlinear = 0;
  for (const Node& n : q.graph.nodes) qlinear += n.op_type == "QLinearConv";
  EXPECT_GT(qlinear, 0);
  EXPECT_GE(evaluate_against(q, ref(), 200).agreement, 0.98);
}

TEST_P(FashionQuant, DynamicAgrees) {
  QuantizeOptions o;
  o.mode = QuantMode::kDynamic;
  const Model q = round_trip(quantize(o), "dyn");
  int mmi = 0;
  for (const Node& n : q.graph.nodes) mmi += n.op_type == "MatMulInteger";
  EXPECT_GT(mmi, 0);
  EXPECT_GE(evaluate_against(q, ref()).agreement, 0.98);
}

TEST_P(FashionQuant, Fp16AgreesAndHalvesTheFile) {
  QuantizeOptions o;
  o.mode = QuantMode::kFp16;
  const Model q = round_trip(quantize(o), "fp16");
  EXPECT_LE(double(serialize_model(q).size()), 0.55 * double(serialize_model(model_).size()));
  EXPECT_GE(evaluate_against(q, ref()).agreement, 0.98);
}

INSTANTIATE_TEST_SUITE_P(Models, FashionQuant, ::testing::Values("resnet", "mobilenet"));

// ---- bad calibration data -----------------------------------------------------------------

class QuantErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(model_path("resnet"))) GTEST_SKIP() << "fashion_resnet.onnx missing";
    dir_ = fs::temp_directory_path() / ("edgeopt_quant_err_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string npz(const std::string& name, Shape x_shape) {
    const fs::path p = dir_ / name;
    const int64_t n = x_shape[0];
    save_npz(p, {{"x", Tensor(DType::kF32, x_shape)}, {"y", Tensor(DType::kI64, {n})}});
    return p.string();
  }
  fs::path dir_;
};

TEST_F(QuantErrors, WrongShapeIsAClearInputError) {
  const Model m = load_model(model_path("resnet"));
  std::unique_ptr<Dataset> d = open_dataset(npz("bad.npz", {4, 3, 32, 32}));
  try {
    quantize_model(m, {}, d.get(), nullptr, nullptr);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_NE(std::string(e.what()).find("3x32x32"), std::string::npos) << e.what();
  }
}

TEST_F(QuantErrors, EmptyCalibrationSet) {
  const Model m = load_model(model_path("resnet"));
  std::unique_ptr<Dataset> d;
  try {
    d = open_dataset(npz("empty.npz", {0, 1, 28, 28}));
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);  // the loader itself refuses: also a clear input error
    return;
  }
  try {
    quantize_model(m, {}, d.get(), nullptr, nullptr);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos) << e.what();
  }
}

TEST_F(QuantErrors, NonFloatModelInput) {
  const Model m = test::relu_model({-1, 1, 28, 28}, DType::kI64);
  std::unique_ptr<Dataset> d = open_dataset(npz("ok.npz", {2, 1, 28, 28}));
  try {
    quantize_model(m, {}, d.get(), nullptr, nullptr);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_NE(std::string(e.what()).find("i64"), std::string::npos) << e.what();
  }
}

// ---- CLE and bias correction on the real models --------------------------------------------

// Cross-layer equalization rescales Conv → Relu → Conv pairs: the fp32 function must not change
// (relu(x / s) = relu(x) / s), and the quantized model must not lose accuracy because of it.
TEST_P(FashionQuant, CrossLayerEqualizationKeepsTheFunction) {
  Model m = model_;
  quant::prepare_for_quantization(m);
  const int64_t pairs = quant::cross_layer_equalize(m);
  if (GetParam() == "resnet") {
    EXPECT_GT(pairs, 0);
  }
  Session a(model_, reference()), b(m, reference());
  std::unique_ptr<Dataset> test = open_dataset("fashion-mnist:test");
  const Tensor x = test->read(0, 64).x;
  const Tensor ya = a.run(std::vector<Tensor>{x})[0], yb = b.run(std::vector<Tensor>{x})[0];
  ASSERT_EQ(ya.numel(), yb.numel());
  double worst = 0;
  for (int64_t i = 0; i < ya.numel(); ++i)
    worst = std::max(worst, double(std::fabs(ya.data<float>()[i] - yb.data<float>()[i])));
  EXPECT_LT(worst, 1e-3) << pairs << " pairs";
}

// CLE and bias correction against the same quantization without them, on 1000 test images: the
// top-1 may move by a few images either way but must not get worse by more than 0.2 pp.
TEST_P(FashionQuant, CleAndBiasCorrectionDoNotHurt) {
  const double plain = evaluate_against(quantize({}), ref()).top1;
  QuantizeOptions o;
  o.cle = true;
  QuantizeReport rc;
  const double cle = evaluate_against(quantize(o, &rc), ref()).top1;
  o.cle = false;
  o.bias_correction = true;
  QuantizeReport rb;
  const double bc = evaluate_against(quantize(o, &rb), ref()).top1;
  EXPECT_GT(rb.bias_corrected, 0);
  EXPECT_GE(cle, plain - 0.002) << "plain " << plain << " cle " << cle;
  EXPECT_GE(bc, plain - 0.002) << "plain " << plain << " bias correction " << bc;
}

// ---- the command line: bad calibration data and the accuracy guard --------------------------

class QuantCli : public ::testing::Test {
 protected:
  struct Result {
    int exit_code = -1;
    std::string out, err;
  };
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("edgeopt_quant_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  static std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  Result run(const std::string& args) {
    const std::string cmd = std::string(EDGEOPT_BINARY_DIR) + "/edgeopt quantize " + args + " >" +
                            (dir_ / "out").string() + " 2>" + (dir_ / "err").string();
    const int st = std::system(cmd.c_str());
    Result r;
    r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = slurp(dir_ / "out");
    r.err = slurp(dir_ / "err");
    return r;
  }
  // Bad input: exit 2, one line on stderr that contains `needle`, no output file.
  void expect_input_error(const std::string& args, const std::string& needle) {
    const Result r = run(args + " -o " + (dir_ / "q.onnx").string());
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr: " << r.err;
    EXPECT_FALSE(fs::exists(dir_ / "q.onnx"));
  }
  std::string npz(const std::string& name, const Tensor& x) {
    const fs::path p = dir_ / name;
    save_npz(p, {{"x", x}, {"y", Tensor(DType::kI64, {x.dim(0)})}});
    return p.string();
  }
  fs::path dir_;
};

TEST_F(QuantCli, WrongShapeCalibrationData) {
  if (!fs::exists(model_path("resnet"))) GTEST_SKIP() << "fashion_resnet.onnx missing";
  expect_input_error(model_path("resnet").string() + " --calib " +
                         npz("rgb.npz", Tensor(DType::kF32, {4, 3, 32, 32})),
                     "calibration data samples are 3x32x32");
}

TEST_F(QuantCli, WrongDtypeCalibrationData) {
  if (!fs::exists(model_path("resnet"))) GTEST_SKIP() << "fashion_resnet.onnx missing";
  // x stored as complex64 ('<c8'): the f32 array's descr is patched in place; the .npz is
  // stored uncompressed, so only the entry's CRC goes stale, which the reader may check: either
  // way it is a one-line input error naming the data.
  const std::string p = npz("complex.npz", Tensor(DType::kF32, {4, 1, 28, 14}));
  std::string bytes = slurp(p);
  const size_t at = bytes.find("'<f4'");
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, 5, "'<c8'");
  std::ofstream(p, std::ios::binary) << bytes;
  expect_input_error(model_path("resnet").string() + " --calib " + p, "complex.npz");
}

TEST_F(QuantCli, NonFloatModelInput) {
  // A model whose input is i64: calibration data (always f32) cannot be fed to it.
  const Model m = test::relu_model({-1, 4}, DType::kI64);
  save_model(m, dir_ / "i64.onnx");
  expect_input_error(
      (dir_ / "i64.onnx").string() + " --calib " + npz("x.npz", Tensor(DType::kF32, {2, 4})),
      "model input 'x' is i64");
}

TEST_F(QuantCli, EmptyCalibrationSet) {
  if (!fs::exists(model_path("resnet"))) GTEST_SKIP() << "fashion_resnet.onnx missing";
  expect_input_error(model_path("resnet").string() + " --calib " +
                         npz("empty.npz", Tensor(DType::kF32, {0, 1, 28, 28})),
                     "empty");
}

TEST_F(QuantCli, MaxDropNeedsEval) {
  if (!fs::exists(model_path("resnet"))) GTEST_SKIP() << "fashion_resnet.onnx missing";
  expect_input_error(model_path("resnet").string() + " --mode fp16 --max-drop 1", "--eval");
}

// Streaming calibration: peak RSS with 10x the samples stays within 1.3x (the histograms have a
// fixed size; only one batch of activations is alive at a time).
TEST_F(QuantCli, PeakMemoryDoesNotGrowWithSamples) {
  if (!fs::exists(model_path("resnet"))) GTEST_SKIP() << "fashion_resnet.onnx missing";
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  auto peak = [&](int samples) {
    const Result r =
        run(model_path("resnet").string() + " --calib fashion-mnist:train --json" + " --samples " +
            std::to_string(samples) + " -o " + (dir_ / "q.onnx").string());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const size_t at = r.out.find("\"peak_rss_bytes\": ");
    return at == std::string::npos ? 0.0 : std::stod(r.out.substr(at + 18));
  };
  const double small = peak(64), large = peak(640);
  ASSERT_GT(small, 0);
  EXPECT_LE(large, 1.3 * small) << small << " -> " << large;
}

// The accuracy guard with a target no fallback can meet: x → Relu → y scores two classes, and
// every eval sample is [0.301, 0.3011] with label 1. In fp32 class 1 wins (top-1 100%); the
// quantized Relu input (step 1/255 on the calibration range [0, 1]) makes both scores equal, so
// class 0 wins (0%), and there is no weighted layer to put back into fp32. The command must say
// so, still write the best model, and exit 3; with a reachable target it exits 0.
TEST_F(QuantCli, UnmeetableMaxDropWritesTheBestModelAndExits3) {
  const Model m = test::relu_model({-1, 2});
  const fs::path model = dir_ / "relu.onnx";
  save_model(m, model);
  Tensor calib(DType::kF32, {8, 2});
  for (int64_t i = 0; i < calib.numel(); ++i) calib.data<float>()[i] = float(i % 2);
  Tensor ex(DType::kF32, {4, 2});
  Tensor ey(DType::kI64, {4});
  for (int64_t i = 0; i < 4; ++i) {
    ex.data<float>()[2 * i] = 0.301f;
    ex.data<float>()[2 * i + 1] = 0.3011f;
    ey.data<int64_t>()[i] = 1;
  }
  save_npz(dir_ / "eval.npz", {{"x", ex}, {"y", ey}});
  const std::string args = model.string() + " --calib " + npz("calib.npz", calib) + " --eval " +
                           (dir_ / "eval.npz").string() + " -o " + (dir_ / "q.onnx").string();
  Result r = run(args + " --max-drop 0.5");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("above --max-drop"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("wrote the best model"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("drop 100.00 pp"), std::string::npos) << r.out;
  ASSERT_TRUE(fs::exists(dir_ / "q.onnx"));
  const Model q = load_model(dir_ / "q.onnx");
  int qnodes = 0;
  for (const Node& k : q.graph.nodes) qnodes += k.op_type == "QuantizeLinear";
  EXPECT_GT(qnodes, 0);
  fs::remove(dir_ / "q.onnx");
  r = run(args + " --max-drop 100");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "q.onnx"));
}

}  // namespace
}  // namespace edgeopt
