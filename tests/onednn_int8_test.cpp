// True int8 on the oneDNN provider (QConv / QGemm, u8 MaxPool, per-tensor Q/DQ reorders)
// against the reference provider, which executes the QDQ / QLinear graph literally.
// Agreement: outputs identical up to one quantization step (the step of a quantized output is
// its scale; for float logits, their range / 255) and top-1 agreement >= 99.5% on Fashion-MNIST
// models quantized by edgeopt (QDQ and QOperator).
//
// Each int8 node is exact in integers; the reference computes DQ → Conv in float, so an output
// within a float rounding of a .5 boundary can come out one step apart (about 1e-5 of the
// first layers' elements). Such one-step flips propagate: through MobileNet's 17 layers about
// 0.4% of the logits end more than one step apart (99.65% QDQ, 99.60% QOperator within one
// step; 98.1% when `quantize` still put a Q/DQ pair between Conv and Clip, whose coarse → fine
// requantization multiplied the flips), while every element of fashion_resnet stays within one
// step on >= 99.9%.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "edgeopt/data.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/quantize.h"
#include "edgeopt/session.h"
#include "testing/model_builder.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;

// How many ops of each type the onednn session ran (from its profile).
std::map<std::string, int> onednn_ops(Session& s) {
  std::map<std::string, int> ops;
  for (const NodeProfile& p : s.profile())
    if (p.provider == "onednn") ++ops[p.op_type];
  return ops;
}

SessionOptions fast_options(int threads = 1) {
  SessionOptions o{{"onednn", "reference"}, threads, false};
  o.profile = true;
  return o;
}

SessionOptions reference_options() { return SessionOptions{{"reference"}, 1, false}; }

// ---- a hand-built QDQ graph with awkward shapes ----------------------------------------------

class QdqBuilder : public test::ModelBuilder {
 public:
  QdqBuilder() : ModelBuilder(13, "onednn_int8_test") {}
  // y = DQ(Q(x)) with scale s and zero point z (u8, or s8 when `s8`); returns y.
  std::string qdq(const std::string& x, float s, int z, bool s8 = false) {
    const std::string p = x + "_q";
    constant(p + "_s", Tensor::scalar(s));
    constant(p + "_z",
             s8 ? Tensor::scalar(static_cast<int8_t>(z)) : Tensor::scalar(static_cast<uint8_t>(z)));
    node("QuantizeLinear", {x, p + "_s", p + "_z"}, {p});
    node("DequantizeLinear", {p, p + "_s", p + "_z"}, {x + "_dq"});
    return x + "_dq";
  }
  // DQ of 7-bit s8 weights per output channel (along `axis`) and of an int32 bias with scale
  // sx·sw.
  std::pair<std::string, std::string> weights(const std::string& name, const Shape& shape, float sx,
                                              uint32_t seed, int64_t axis = 0) {
    return test::add_int8_weights(*this, name, shape, sx, seed, axis, 2000);
  }
  // The model as written (no serializer round trip).
  Model build() const { return model(); }
};

double fraction_within(const Tensor& got, const Tensor& want, double step, double* max_steps) {
  int64_t ok = 0;
  *max_steps = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double d = std::fabs(got.get_f64(i) - want.get_f64(i)) / step;
    ok += d <= 1.001;
    *max_steps = std::max(*max_steps, d);
  }
  return got.numel() ? double(ok) / double(got.numel()) : 1.0;
}

// x → Q → conv 3×3 stride 2 (5 → m channels, odd sizes, asymmetric pads) → Q → ReLU → Q →
// depthwise 3×3 → Q → + (the ReLU output) → Q → ReLU → Q → max pool 3×3 stride 2 → Q →
// reshape → Q → Gemm (bias) → Q → output. With m = 7 the residual Add is not fused (oneDNN 2.6
// gets binary post-ops of grouped int8 convs with a channel tail wrong; see int8_rewrite.cpp).
class OnednnInt8Chain : public ::testing::TestWithParam<int64_t> {};

TEST_P(OnednnInt8Chain, MatchesReference) {
  const int64_t ch = GetParam();
  QdqBuilder b;
  b.input("x", {2, 5, 13, 11});
  const float sx = 0.03f;
  std::string v = b.qdq("x", sx, 120);
  auto [w1, b1] = b.weights("c1", {ch, 5, 3, 3}, sx, 1);
  Node& c1 = b.node("Conv", {v, w1, b1}, {"c1y"});
  c1.set_attr_ints("strides", {2, 2});
  c1.set_attr_ints("pads", {1, 0, 1, 1});
  v = b.qdq("c1y", 0.05f, 131);
  b.node("Relu", {v}, {"r1"});
  const std::string r1 = b.qdq("r1", 0.026f, 0);
  auto [w2, b2] = b.weights("c2", {ch, 1, 3, 3}, 0.026f, 2);
  Node& c2 = b.node("Conv", {r1, w2, b2}, {"c2y"});
  c2.set_attr_int("group", ch);
  c2.set_attr_ints("pads", {1, 1, 1, 1});
  v = b.qdq("c2y", 0.04f, 117);
  b.node("Add", {v, r1}, {"sum"});
  v = b.qdq("sum", 0.06f, 100);
  b.node("Relu", {v}, {"r2"});
  v = b.qdq("r2", 0.035f, 0);
  Node& pool = b.node("MaxPool", {v}, {"p"});
  pool.set_attr_ints("kernel_shape", {3, 3});
  pool.set_attr_ints("strides", {2, 2});
  v = b.qdq("p", 0.035f, 0);
  b.constant("shape", Tensor::from_vector(std::vector<int64_t>{2, -1}, {2}));
  b.node("Reshape", {v, "shape"}, {"flat"});
  v = b.qdq("flat", 0.035f, 0);
  auto [w3, b3] = b.weights("fc", {3 * 2 * ch, 10}, 0.035f, 3, 1);
  b.node("Gemm", {v, w3, b3}, {"logits_f"});
  v = b.qdq("logits_f", 0.1f, 128);
  b.output(v);
  const Model m = b.build();

  std::mt19937 gen(7);
  std::uniform_real_distribution<float> dist(-3.5f, 4.f);
  Tensor x(DType::kF32, {2, 5, 13, 11});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = dist(gen);
  Session fast(m, fast_options()), ref(m, reference_options());
  const Tensor got = fast.run(std::vector<Tensor>{x})[0];
  const Tensor want = ref.run(std::vector<Tensor>{x})[0];
  ASSERT_EQ(got.shape(), want.shape());
  double worst = 0;
  EXPECT_EQ(fraction_within(got, want, 0.1, &worst), 1.0) << "max " << worst << " steps";
  const std::map<std::string, int> ops = onednn_ops(fast);
  EXPECT_EQ(ops.count("QConv") ? ops.at("QConv") : 0, 2);
  EXPECT_EQ(ops.count("QGemm") ? ops.at("QGemm") : 0, 1);
  EXPECT_EQ(ops.count("MaxPool") ? ops.at("MaxPool") : 0, 1);
  EXPECT_EQ(ops.count("Add"), ch % 8 ? 1u : 0u) << "residual Add fused into the depthwise conv";
  // The unfused Add's DQ → Relu → Q became a table lookup (lut.cpp).
  EXPECT_EQ(ops.count("Lut") ? ops.at("Lut") : 0, ch % 8 ? 1 : 0);
  EXPECT_EQ(ops.count("Relu"), 0u);
}

INSTANTIATE_TEST_SUITE_P(Channels, OnednnInt8Chain, ::testing::Values(7, 16));

// x → Q → conv (5 → 21) → Q → DQ → Resize → Q (same parameters) → DQ → conv → Q → output, and
// the resized tensor as a second output. The Resize runs on the u8 tensor (the Q after it is
// gone): nearest equals the reference exactly, linear within one step (rounding ties), at 1
// and 2 threads.
struct Int8ResizeCase {
  const char* name;
  const char *mode, *coord;
  std::vector<float> scales;
  int threads;
};

class OnednnInt8Resize : public ::testing::TestWithParam<Int8ResizeCase> {};

TEST_P(OnednnInt8Resize, RunsOnU8) {
  const Int8ResizeCase& rc = GetParam();
  QdqBuilder b;
  b.input("x", {1, 5, 9, 7});
  const float sx = 0.03f;
  std::string v = b.qdq("x", sx, 120);
  auto [w1, b1] = b.weights("c1", {21, 5, 3, 3}, sx, 11);
  b.node("Conv", {v, w1, b1}, {"c1y"}).set_attr_ints("pads", {1, 1, 1, 1});
  v = b.qdq("c1y", 0.05f, 131);
  b.constant("scales", Tensor::from_vector(rc.scales, {4}));
  Node& r = b.node("Resize", {v, "", "scales"}, {"r"});
  r.set_attr_string("mode", rc.mode);
  r.set_attr_string("coordinate_transformation_mode", rc.coord);
  const std::string rq = b.qdq("r", 0.05f, 131);
  auto [w2, b2] = b.weights("c2", {6, 21, 1, 1}, 0.05f, 12);
  b.node("Conv", {rq, w2, b2}, {"c2y"});
  b.output(b.qdq("c2y", 0.08f, 128));
  b.output(rq);
  const Model m = b.build();
  std::mt19937 gen(17);
  std::uniform_real_distribution<float> dist(-3.5f, 4.f);
  Tensor x(DType::kF32, {1, 5, 9, 7});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = dist(gen);
  Session fast(m, fast_options(rc.threads)), ref(m, reference_options());
  const std::vector<Tensor> got = fast.run(std::vector<Tensor>{x});
  const std::vector<Tensor> want = ref.run(std::vector<Tensor>{x});
  ASSERT_EQ(got[1].shape(), want[1].shape());
  double worst = 0;
  EXPECT_EQ(fraction_within(got[1], want[1], 0.05, &worst), 1.0) << "max " << worst << " steps";
  if (std::string(rc.mode) == "nearest") {
    EXPECT_EQ(worst, 0.0);
  }
  EXPECT_EQ(fraction_within(got[0], want[0], 0.08, &worst), 1.0) << "max " << worst << " steps";
  const std::map<std::string, int> ops = onednn_ops(fast);
  EXPECT_EQ(ops.count("Resize") ? ops.at("Resize") : 0, 1);
  EXPECT_EQ(ops.count("QConv") ? ops.at("QConv") : 0, 2);
  EXPECT_EQ(ops.count("QuantizeLinear") ? ops.at("QuantizeLinear") : 0, 1);  // x's only
  for (const NodeProfile& p : fast.profile()) EXPECT_EQ(p.provider, "onednn") << p.node;
}

INSTANTIATE_TEST_SUITE_P(
    Modes, OnednnInt8Resize,
    ::testing::Values(
        Int8ResizeCase{"nearest_x2", "nearest", "asymmetric", {1, 1, 2, 2}, 1},
        Int8ResizeCase{"nearest_half_pixel", "nearest", "half_pixel", {1, 1, 1.5f, 2.5f}, 2},
        Int8ResizeCase{"linear_half_pixel", "linear", "half_pixel", {1, 1, 2, 2}, 1},
        Int8ResizeCase{"linear_align_corners", "linear", "align_corners", {1, 1, 3, 1.5f}, 2}),
    [](const auto& info) { return std::string(info.param.name); });

// A squeeze-excitation block in QDQ form, as edgeopt's quantizer writes EfficientNet's:
//   a = DQ(Q(conv1x1(x)));  s = Sigmoid([DQ(Q(] GlobalAveragePool(a) [))]);  y = DQ(Q(a · s))
// The oneDNN provider runs the pool on the 8-bit a (QGlobalAveragePool, with the Q when there
// is one) and the product as QChannelMul, so a is never dequantized.
struct SeCase {
  const char* name;
  int64_t channels, height, width;
  bool s8;              // a and y in s8 (else u8)
  bool quantized_pool;  // a Q/DQ pair after the pool
  bool scale_first;     // Mul(s, a) instead of Mul(a, s)
  int threads;
};

class OnednnInt8Se : public ::testing::TestWithParam<SeCase> {};

TEST_P(OnednnInt8Se, MatchesReference) {
  const SeCase& c = GetParam();
  QdqBuilder b;
  const Shape shape{2, c.channels, c.height, c.width};
  b.input("x", shape);
  const float sx = 0.03f;
  std::string v = b.qdq("x", sx, 120);
  auto [w, bias] = b.weights("c1", {c.channels, c.channels, 1, 1}, sx, 5);
  b.node("Conv", {v, w, bias}, {"c1y"});
  const std::string a = b.qdq("c1y", 0.05f, c.s8 ? -3 : 131, c.s8);
  b.node("GlobalAveragePool", {a}, {"pooled"});
  v = c.quantized_pool ? b.qdq("pooled", 0.02f, c.s8 ? 0 : 128, c.s8) : "pooled";
  b.node("Sigmoid", {v}, {"gate"});
  b.node("Mul",
         c.scale_first ? std::vector<std::string>{"gate", a} : std::vector<std::string>{a, "gate"},
         {"scaled"});
  v = b.qdq("scaled", 0.03f, c.s8 ? 5 : 110, c.s8);
  b.output(v);
  const Model m = b.build();

  std::mt19937 gen(11);
  std::uniform_real_distribution<float> dist(-3.5f, 4.f);
  Tensor x(DType::kF32, shape);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = dist(gen);
  Session fast(m, fast_options(c.threads)), ref(m, reference_options());
  const Tensor got = fast.run(std::vector<Tensor>{x})[0];
  const Tensor want = ref.run(std::vector<Tensor>{x})[0];
  ASSERT_EQ(got.shape(), want.shape());
  double worst = 0;
  EXPECT_GE(fraction_within(got, want, 0.03, &worst), 0.999);
  EXPECT_LE(worst, 1.001);
  const std::map<std::string, int> ops = onednn_ops(fast);
  EXPECT_EQ(ops.count("QChannelMul") ? ops.at("QChannelMul") : 0, 1);
  EXPECT_EQ(ops.count("QGlobalAveragePool") ? ops.at("QGlobalAveragePool") : 0, 1);
  EXPECT_EQ(ops.count("Mul") + ops.count("GlobalAveragePool"), 0u);
  // The DequantizeLinears left make the graph's float output and the Sigmoid's input from a
  // quantized pool: none reads a.
  EXPECT_EQ(ops.count("DequantizeLinear") ? ops.at("DequantizeLinear") : 0,
            c.quantized_pool ? 2 : 1);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, OnednnInt8Se,
    ::testing::Values(SeCase{"u8_c37_quantized_pool", 37, 9, 11, false, true, false, 1},
                      SeCase{"s8_c70_float_pool", 70, 7, 5, true, false, true, 1},
                      SeCase{"u8_c16_64x64_two_threads", 16, 64, 64, false, true, true, 2}),
    [](const ::testing::TestParamInfo<SeCase>& i) { return std::string(i.param.name); });

// ---- edgeopt-quantized Fashion-MNIST models ------------------------------------------------

fs::path model_path(const std::string& name) {
  return fs::path(EDGEOPT_SOURCE_DIR) / "models" / ("fashion_" + name + ".onnx");
}

bool have_data() { return fs::exists(fs::path(kFashionMnistDir) / "t10k-images-idx3-ubyte.gz"); }

struct FashionCase {
  std::string model;
  QuantFormat format;
  int64_t images;    // the reference QLinearConv kernel is slow: fewer for QOperator
  double min_close;  // fraction of logits within one step of the reference
};

class OnednnInt8Fashion : public ::testing::TestWithParam<FashionCase> {};

TEST_P(OnednnInt8Fashion, MatchesReference) {
  const FashionCase& p = GetParam();
  if (!fs::exists(model_path(p.model))) GTEST_SKIP() << model_path(p.model) << " missing";
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  std::unique_ptr<Dataset> calib = open_dataset("fashion-mnist:train");
  QuantizeOptions o;
  o.format = p.format;
  o.samples = 200;
  o.reduce_range = !host_has_int8_dot_product();  // as the CLI does
  const Model q = quantize_model(load_model(model_path(p.model)), o, calib.get(), nullptr, nullptr);

  Session fast(q, fast_options()), ref(q, reference_options());
  std::unique_ptr<Dataset> test = open_dataset("fashion-mnist:test");
  int64_t agree = 0, images = 0, close = 0, elements = 0;
  double max_steps = 0;
  for (int64_t begin = 0; begin < p.images; begin += 100) {
    const Tensor x = test->read(begin, 100).x;
    const Tensor got = fast.run(std::vector<Tensor>{x})[0];
    const Tensor want = ref.run(std::vector<Tensor>{x})[0];
    ASSERT_EQ(got.shape(), want.shape());
    const int64_t k = want.dim(1);
    const float* w = want.data<float>();
    const float* g = got.data<float>();
    // One step of the float logits quantized to 8 bits over their range in this batch.
    const auto [lo, hi] = std::minmax_element(w, w + want.numel());
    const double step = (*hi - *lo) / 255.0;
    for (int64_t i = 0; i < want.dim(0); ++i, ++images)
      agree += std::max_element(g + i * k, g + (i + 1) * k) - (g + i * k) ==
               std::max_element(w + i * k, w + (i + 1) * k) - (w + i * k);
    for (int64_t i = 0; i < want.numel(); ++i, ++elements) {
      const double d = std::fabs(g[i] - w[i]) / step;
      close += d <= 1.0;
      max_steps = std::max(max_steps, d);
    }
  }
  const double agreement = double(agree) / double(images);
  const double close_frac = double(close) / double(elements);
  std::printf("%s %s: top-1 agreement %.4f, logits within one step %.5f, max %.2f steps\n",
              p.model.c_str(), p.format == QuantFormat::kQdq ? "qdq" : "qoperator", agreement,
              close_frac, max_steps);
  EXPECT_GE(agreement, 0.995);
  EXPECT_GE(close_frac, p.min_close);
  // The int8 work ran on oneDNN: no float Conv / Gemm, no Q/DQ pairs left inside the network.
  const std::map<std::string, int> ops = onednn_ops(fast);
  EXPECT_GE(ops.count("QConv") ? ops.at("QConv") : 0, p.model == "resnet" ? 9 : 17);
  EXPECT_EQ(ops.count("QGemm") ? ops.at("QGemm") : 0, 1);
  for (const NodeProfile& n : fast.profile())
    EXPECT_TRUE(n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "QLinearConv")
        << n.node << " (" << n.op_type << ") ran on " << n.provider;
}

INSTANTIATE_TEST_SUITE_P(
    Models, OnednnInt8Fashion,
    ::testing::Values(FashionCase{"resnet", QuantFormat::kQdq, 1000, 0.999},
                      FashionCase{"resnet", QuantFormat::kQOperator, 200, 0.999},
                      FashionCase{"mobilenet", QuantFormat::kQdq, 1000, 0.995},
                      FashionCase{"mobilenet", QuantFormat::kQOperator, 200, 0.995}),
    [](const ::testing::TestParamInfo<FashionCase>& i) {
      return i.param.model + (i.param.format == QuantFormat::kQdq ? "_qdq" : "_qoperator");
    });

}  // namespace
}  // namespace edgeopt
