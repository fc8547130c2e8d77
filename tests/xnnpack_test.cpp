// The XNNPACK provider against the reference provider (the oracle): the partition rewrite and
// the Subgraph kernel on awkward shapes — odd widths, channel counts that are not a multiple of
// 8, groups and depthwise (with a depth multiplier), strides, asymmetric and SAME pads,
// dilation, fused clamps, residual adds, broadcast constants, fully connected heads — graphs
// where a node XNNPACK cannot take sits between nodes it takes, and whole models (the
// Fashion-MNIST model in models/, torchvision fixtures in <build>/fixtures when present).
// Agreement: max |xnnpack - reference| <= 1e-4 * max |reference| (+1e-6 for all-zero outputs);
// int8 outputs within one quantization step. QDQ int8 graphs must run XNNPACK's int8 operators
// (counted by the kernel), not float ones on dequantized data.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "edgeopt/onnx_io.h"
#include "edgeopt/session.h"
#include "ir/onnx_proto_utils.h"
#include "runtime/xnnpack/common.h"
#include "testing/model_builder.h"
#include "testing/provider_compare.h"
#include "testing/random.h"
#include "testing/tolerance.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;

Tensor random_f32(Shape shape, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  return test::random_tensor(std::move(shape), seed, lo, hi);
}

// A test model (testing/model_builder.h); outputs are declared with `rank` unknown dims, as the
// ONNX checker wants a shape on graph outputs.
class TestModel : public test::ModelBuilder {
 public:
  explicit TestModel(int64_t opset = 13) : ModelBuilder(opset, "xnnpack_test") {}
  void init(const std::string& name, Tensor t) { constant(name, std::move(t)); }
  void output(const std::string& name, int rank = 4) {
    ModelBuilder::output(name, DType::kF32, rank);
  }
  Model model() const { return build(true); }
};

// `model` on xnnpack (reference behind it) against the reference provider (testing/): every
// output within the f32 tolerance, and at least `min_subgraphs` nodes run on xnnpack.
void expect_close(const Model& model, const std::vector<Tensor>& inputs, int min_subgraphs = 1,
                  int threads = 1) {
  test::CompareOptions options;
  options.threads = threads;
  options.min_provider_nodes = min_subgraphs;
  EXPECT_TRUE(test::matches_reference(model, inputs, "xnnpack", options));
}

struct ConvCase {
  const char* name;
  Shape x;  // NCHW
  int64_t m, kh, kw, group;
  std::vector<int64_t> strides, pads, dilations;
  std::string auto_pad;
  bool bias;
  std::string act;  // "", "Relu", "Clip6"
};

void PrintTo(const ConvCase& c, std::ostream* os) { *os << c.name; }

class XnnpackConv : public ::testing::TestWithParam<ConvCase> {};

TEST_P(XnnpackConv, MatchesReference) {
  const ConvCase& c = GetParam();
  TestModel t(13);
  t.input("x", c.x);
  t.init("w", random_f32({c.m, c.x[1] / c.group, c.kh, c.kw}, 7));
  std::vector<std::string> in = {"x", "w"};
  if (c.bias) {
    t.init("b", random_f32({c.m}, 8));
    in.push_back("b");
  }
  Node& n = t.node("Conv", in, {c.act.empty() ? "y" : "z"});
  n.set_attr_ints("kernel_shape", {c.kh, c.kw});
  if (c.group != 1) n.set_attr_int("group", c.group);
  if (!c.strides.empty()) n.set_attr_ints("strides", c.strides);
  if (!c.pads.empty()) n.set_attr_ints("pads", c.pads);
  if (!c.dilations.empty()) n.set_attr_ints("dilations", c.dilations);
  if (!c.auto_pad.empty()) n.set_attr_string("auto_pad", c.auto_pad);
  if (c.act == "Relu") t.node("Relu", {"z"}, {"y"});
  if (c.act == "Clip6") {
    t.init("lo", Tensor::scalar(0.f));
    t.init("hi", Tensor::scalar(0.5f));
    t.node("Clip", {"z", "lo", "hi"}, {"y"});
  }
  t.output("y");
  expect_close(t.model(), {random_f32(c.x, 3)});
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, XnnpackConv,
    ::testing::Values(
        ConvCase{"odd_3x3", {1, 3, 11, 13}, 5, 3, 3, 1, {}, {1, 1, 1, 1}, {}, "", true, ""},
        ConvCase{"stride2_relu",
                 {2, 13, 17, 9},
                 11,
                 3,
                 3,
                 1,
                 {2, 2},
                 {1, 1, 1, 1},
                 {},
                 "",
                 true,
                 "Relu"},
        ConvCase{"asym_pads_clip",
                 {1, 5, 9, 10},
                 7,
                 3,
                 2,
                 1,
                 {1, 2},
                 {0, 1, 2, 0},
                 {},
                 "",
                 false,
                 "Clip6"},
        ConvCase{"pointwise", {1, 19, 7, 5}, 21, 1, 1, 1, {}, {}, {}, "", true, "Relu"},
        ConvCase{"dilated", {1, 4, 15, 14}, 6, 3, 3, 1, {}, {2, 2, 2, 2}, {2, 2}, "", true, ""},
        ConvCase{"grouped", {1, 12, 9, 9}, 9, 3, 3, 3, {}, {1, 1, 1, 1}, {}, "", true, "Relu"},
        ConvCase{"depthwise",
                 {1, 13, 10, 11},
                 13,
                 3,
                 3,
                 13,
                 {2, 2},
                 {1, 1, 1, 1},
                 {},
                 "",
                 true,
                 "Clip6"},
        ConvCase{
            "depthwise_multiplier", {1, 5, 8, 7}, 10, 5, 5, 5, {}, {2, 2, 2, 2}, {}, "", false, ""},
        ConvCase{"same_upper", {1, 3, 10, 9}, 4, 4, 3, 1, {2, 2}, {}, {}, "SAME_UPPER", true, ""},
        ConvCase{"same_lower", {1, 3, 10, 9}, 4, 4, 4, 1, {3, 2}, {}, {}, "SAME_LOWER", true, ""},
        ConvCase{"valid", {1, 2, 8, 8}, 3, 3, 3, 1, {}, {}, {}, "VALID", true, "Relu"}),
    [](const ::testing::TestParamInfo<ConvCase>& i) { return std::string(i.param.name); });

TEST(Xnnpack, PoolsMatchReference) {
  struct PoolCase {
    const char* op;
    std::vector<int64_t> kernel, strides, pads, dilations;
    int64_t count_include_pad;
  };
  const std::vector<PoolCase> cases = {
      {"MaxPool", {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, 0},
      {"MaxPool", {2, 3}, {1, 2}, {0, 1, 1, 0}, {}, 0},
      {"MaxPool", {3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}, 0},
      {"AveragePool", {3, 3}, {2, 2}, {1, 1, 1, 1}, {}, 0},
      {"AveragePool", {2, 2}, {2, 2}, {}, {}, 1},
      {"AveragePool", {3, 2}, {1, 1}, {0, 0, 0, 0}, {}, 0},
  };
  for (const PoolCase& c : cases) {
    SCOPED_TRACE(std::string(c.op) + " kernel " + std::to_string(c.kernel[0]) + "x" +
                 std::to_string(c.kernel[1]));
    TestModel t;
    t.input("x", {2, 7, 13, 11});
    Node& n = t.node(c.op, {"x"}, {"y"});
    n.set_attr_ints("kernel_shape", c.kernel);
    n.set_attr_ints("strides", c.strides);
    if (!c.pads.empty()) n.set_attr_ints("pads", c.pads);
    if (!c.dilations.empty()) n.set_attr_ints("dilations", c.dilations);
    if (std::string(c.op) == "AveragePool")
      n.set_attr_int("count_include_pad", c.count_include_pad);
    t.output("y");
    expect_close(t.model(), {random_f32({2, 7, 13, 11}, 5)});
  }
}

// A small CNN: conv → relu → maxpool → depthwise → hardswish → residual add with a broadcast
// per-channel constant → sigmoid gate (Mul) → global average pool → flatten → gemm → leaky relu
// → matmul: one subgraph end to end.
TEST(Xnnpack, SmallNetworkIsOneSubgraph) {
  TestModel t(14);  // HardSwish
  t.input("x", {2, 3, 17, 15});
  t.init("w1", random_f32({10, 3, 3, 3}, 11));
  t.init("b1", random_f32({10}, 12));
  t.init("w2", random_f32({10, 1, 3, 3}, 13));
  t.init("scale", random_f32({10, 1, 1}, 14));
  t.init("fc_w", random_f32({7, 10}, 15));
  t.init("fc_b", random_f32({7}, 16));
  t.init("mm", random_f32({7, 5}, 17));
  t.node("Conv", {"x", "w1", "b1"}, {"c1"}).set_attr_ints("pads", {1, 1, 1, 1});
  t.node("Relu", {"c1"}, {"r1"});
  Node& mp = t.node("MaxPool", {"r1"}, {"p1"});
  mp.set_attr_ints("kernel_shape", {2, 2});
  mp.set_attr_ints("strides", {2, 2});
  Node& dw = t.node("Conv", {"p1", "w2"}, {"c2"});
  dw.set_attr_int("group", 10);
  dw.set_attr_ints("pads", {1, 1, 1, 1});
  t.node("HardSwish", {"c2"}, {"h2"});
  t.node("Add", {"h2", "p1"}, {"a2"});
  t.node("Mul", {"a2", "scale"}, {"m2"});
  t.node("Sigmoid", {"m2"}, {"s2"});
  t.node("Mul", {"s2", "a2"}, {"g2"});
  t.node("GlobalAveragePool", {"g2"}, {"gap"});
  t.node("Flatten", {"gap"}, {"flat"});
  Node& gemm = t.node("Gemm", {"flat", "fc_w", "fc_b"}, {"fc"});
  gemm.set_attr_int("transB", 1);
  gemm.set_attr_float("alpha", 0.5f);
  t.node("LeakyRelu", {"fc"}, {"lr"}).set_attr_float("alpha", 0.2f);
  t.node("MatMul", {"lr", "mm"}, {"y"});
  t.output("y", 2);
  t.output("a2");  // an intermediate also read outside: a second output of the subgraph
  const Model model = t.model();
  expect_close(model, {random_f32({2, 3, 17, 15}, 1)});
  Session s(model, SessionOptions{{"xnnpack", "reference"}, 1, false});
  const auto a = s.assignment();
  ASSERT_EQ(a.size(), 1u) << "every node should collapse into one Subgraph";
  EXPECT_EQ(a[0].second, "xnnpack");
}

// Tanh is not taken: conv1 → tanh → add(conv1, tanh) must not put the Add in conv1's group
// (that node would then depend on itself through tanh).
TEST(Xnnpack, NodeNotTakenInsideARun) {
  TestModel t(13);
  t.input("x", {1, 6, 9, 7});
  t.init("w1", random_f32({6, 6, 3, 3}, 21));
  t.init("w2", random_f32({5, 6, 1, 1}, 22));
  t.node("Conv", {"x", "w1"}, {"c1"}).set_attr_ints("pads", {1, 1, 1, 1});
  t.node("Tanh", {"c1"}, {"t1"});
  t.node("Add", {"c1", "t1"}, {"a1"});
  t.node("Conv", {"a1", "w2"}, {"c2"});
  t.node("Relu", {"c2"}, {"y"});
  t.output("y");
  const Model model = t.model();
  expect_close(model, {random_f32({1, 6, 9, 7}, 2)}, 2);
}

TEST(Xnnpack, BatchNormFoldedAndOldClip) {
  TestModel t(10);  // Clip with min/max attributes, BatchNormalization-9
  t.input("x", {1, 4, 6, 5});
  t.init("w", random_f32({6, 4, 3, 3}, 31));
  t.init("gamma", random_f32({6}, 32, 0.5f, 1.5f));
  t.init("beta", random_f32({6}, 33));
  t.init("mean", random_f32({6}, 34));
  t.init("var", random_f32({6}, 35, 0.5f, 2.f));
  t.node("Conv", {"x", "w"}, {"c"});
  t.node("BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, {"bn"});
  Node& clip = t.node("Clip", {"bn"}, {"y"});
  clip.set_attr_float("min", -0.25f);
  clip.set_attr_float("max", 0.75f);
  t.output("y");
  const Model model = t.model();
  expect_close(model, {random_f32({1, 4, 6, 5}, 3)});
  Session s(model, SessionOptions{{"xnnpack", "reference"}, 1, false});
  EXPECT_EQ(s.assignment().size(), 1u);
}

TEST(Xnnpack, ShapeChangesRebuildTheRuntime) {
  TestModel t(13);
  t.input_dims("x", {Dim{-1, "n"}, Dim{3, ""}, Dim{-1, "h"}, Dim{-1, "w"}});
  t.init("w", random_f32({4, 3, 3, 3}, 41));
  t.node("Conv", {"x", "w"}, {"c"}).set_attr_ints("pads", {1, 1, 1, 1});
  t.node("Relu", {"c"}, {"y"});
  t.output("y");
  const Model model = t.model();
  Session fast(model, SessionOptions{{"xnnpack", "reference"}, 1, false});
  Session ref(model, SessionOptions{{"reference"}, 1, false});
  for (const Shape& s : {Shape{1, 3, 8, 9}, Shape{2, 3, 5, 7}, Shape{1, 3, 8, 9}}) {
    const Tensor in = random_f32(s, 9);
    const Tensor got = fast.run({in})[0], want = ref.run({in})[0];
    EXPECT_TRUE(test::tensors_close(got, want, shape_str(s)));
  }
}

// ------------------------------------------------------------------ QDQ int8
// A QDQ graph as edgeopt quantize and PyTorch's exporter write it: activations quantized per
// tensor (QuantizeLinear then DequantizeLinear), weights int8 with one scale per output channel,
// biases int32 in units of input scale × weight scale.
class QdqModel : public TestModel {
 public:
  explicit QdqModel(int64_t opset = 13) : TestModel(opset) {}

  // Scale and zero point initializers "<name>_s", "<name>_z" (uint8 or int8).
  void params(const std::string& name, float scale, int zp, DType dt) {
    init(name + "_s", Tensor::scalar(scale));
    if (dt == DType::kU8)
      init(name + "_z", Tensor::scalar(static_cast<uint8_t>(zp)));
    else
      init(name + "_z", Tensor::scalar(static_cast<int8_t>(zp)));
  }
  // x → QuantizeLinear → "<name>_q"; returns the name of its DequantizeLinear's output.
  std::string qdq(const std::string& x, const std::string& name, float scale, int zp,
                  DType dt = DType::kU8) {
    params(name, scale, zp, dt);
    node("QuantizeLinear", {x, name + "_s", name + "_z"}, {name + "_q"});
    return dq(name + "_q", name);
  }
  std::string dq(const std::string& q, const std::string& name) {
    node("DequantizeLinear", {q, name + "_s", name + "_z"}, {name + "_dq"});
    return name + "_dq";
  }
  // Random float weights quantized to int8 with one scale per index along `axis`; returns
  // the DequantizeLinear output. The scales are kept for bias().
  std::string weight(const std::string& name, const Shape& shape, uint32_t seed, int axis = 0) {
    const Tensor w = random_f32(shape, seed, -0.5f, 0.5f);
    Tensor q(DType::kI8, shape);
    const int64_t channels = shape[axis];
    int64_t inner = 1;
    for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
    std::vector<float> scales(channels, 0.f);
    for (int64_t i = 0; i < w.numel(); ++i) {
      float& s = scales[(i / inner) % channels];
      s = std::max(s, std::fabs(w.data<float>()[i]) / 127.f);
    }
    for (int64_t i = 0; i < w.numel(); ++i)
      q.data<int8_t>()[i] =
          static_cast<int8_t>(std::lrint(w.data<float>()[i] / scales[(i / inner) % channels]));
    init(name + "_w", q);
    init(name + "_ws", Tensor::from_vector(scales, {channels}));
    init(name + "_wz", Tensor(DType::kI8, {channels}));  // zeros
    Node& n = node("DequantizeLinear", {name + "_w", name + "_ws", name + "_wz"}, {name + "_wdq"});
    n.set_attr_int("axis", axis);
    w_scales_ = scales;
    return name + "_wdq";
  }
  // An int32 bias for the last weight(), read by a node whose input has scale `x_scale`.
  std::string bias(const std::string& name, float x_scale, uint32_t seed) {
    const int64_t m = static_cast<int64_t>(w_scales_.size());
    const Tensor b = random_f32({m}, seed, -0.3f, 0.3f);
    Tensor q(DType::kI32, {m});
    std::vector<float> scales(m);
    for (int64_t i = 0; i < m; ++i) {
      scales[i] = x_scale * w_scales_[i];
      q.data<int32_t>()[i] = static_cast<int32_t>(std::lrint(b.data<float>()[i] / scales[i]));
    }
    init(name + "_b", q);
    init(name + "_bs", Tensor::from_vector(scales, {m}));
    node("DequantizeLinear", {name + "_b", name + "_bs"}, {name + "_bdq"}).set_attr_int("axis", 0);
    return name + "_bdq";
  }
  void output_as(const std::string& name, DType dt, int rank) {
    ModelBuilder::output(name, dt, rank);
  }

 private:
  std::vector<float> w_scales_;
};

// `model` on xnnpack against reference, every output within its tolerance (int8: one step),
// and at least `min_int8` nodes defined as XNNPACK int8 operators while doing so.
void expect_int8(const Model& model, const std::vector<Tensor>& inputs, int min_int8,
                 int threads = 1) {
  const int64_t before = rt::xnnpack::int8_operators_defined();
  test::CompareOptions options;
  options.threads = threads;
  EXPECT_TRUE(test::matches_reference(model, inputs, "xnnpack", options));
  EXPECT_GE(rt::xnnpack::int8_operators_defined() - before, min_int8)
      << "the QDQ nodes did not run as XNNPACK int8 operators";
}

// Conv + Relu, depthwise conv with stride, max pooling, a residual Add + Relu, global average
// pooling, Flatten and a fully connected head, each between DequantizeLinear and
// QuantizeLinear: one subgraph, seven int8 operators (the Add runs in float, subgraph.cpp says
// why); uint8 activations.
TEST(XnnpackInt8, QdqNetworkRunsInInt8) {
  QdqModel t;
  t.input("x", {2, 8, 11, 9});
  const std::string x = t.qdq("x", "in", 1.f / 255, 0);
  t.node("Conv", {x, t.weight("c1", {12, 8, 3, 3}, 51), t.bias("c1", 1.f / 255, 52)}, {"c1"})
      .set_attr_ints("pads", {1, 1, 1, 1});
  t.node("Relu", {"c1"}, {"r1"});
  const std::string r1 = t.qdq("r1", "r1", 0.02f, 0);
  Node& dw =
      t.node("Conv", {r1, t.weight("dw", {12, 1, 3, 3}, 53), t.bias("dw", 0.02f, 54)}, {"dw"});
  dw.set_attr_int("group", 12);
  dw.set_attr_ints("strides", {2, 2});
  dw.set_attr_ints("pads", {1, 0, 1, 1});
  const std::string d = t.qdq("dw", "dw", 0.03f, 128);
  Node& mp = t.node("MaxPool", {d}, {"mp"});
  mp.set_attr_ints("kernel_shape", {2, 2});
  mp.set_attr_ints("pads", {0, 0, 1, 1});
  const std::string p = t.qdq("mp", "mp", 0.03f, 128);
  t.node("Conv", {p, t.weight("c2", {12, 12, 1, 1}, 55), t.bias("c2", 0.03f, 56)}, {"c2"});
  const std::string c2 = t.qdq("c2", "c2", 0.025f, 120);
  t.node("Add", {c2, p}, {"a"});
  t.node("Relu", {"a"}, {"ar"});
  const std::string a = t.qdq("ar", "a", 0.04f, 0);
  t.node("GlobalAveragePool", {a}, {"gap"});
  const std::string g = t.qdq("gap", "gap", 0.01f, 0);
  t.node("Flatten", {g}, {"flat"});
  const std::string f = t.qdq("flat", "flat", 0.01f, 0);  // same parameters
  t.node("Gemm", {f, t.weight("fc", {5, 12}, 57), t.bias("fc", 0.01f, 58)}, {"fc"})
      .set_attr_int("transB", 1);
  t.params("y", 0.02f, 128, DType::kU8);
  t.node("QuantizeLinear", {"fc", "y_s", "y_z"}, {"y"});
  t.output_as("y", DType::kU8, 2);
  t.output_as("a_q", DType::kU8, 4);  // an int8 intermediate read outside
  const Model model = t.model();
  expect_int8(model, {random_f32({2, 8, 11, 9}, 6, 0.f, 1.f)}, 7);
  expect_int8(model, {random_f32({2, 8, 11, 9}, 7, 0.f, 1.f)}, 7, 2);
  Session s(model, SessionOptions{{"xnnpack", "reference"}, 1, false});
  ASSERT_EQ(s.assignment().size(), 1u) << "every node should collapse into one Subgraph";
}

// 8-bit values crossing the subgraph's boundary: a uint8 graph input, int8 (signed)
// activations, int8 graph outputs of rank 4 (NHWC inside) and 3, a node XNNPACK does not take
// (Tanh) between two subgraphs, and a MatMul whose weights are quantized per column.
TEST(XnnpackInt8, Int8BoundariesAndSignedActivations) {
  QdqModel t;
  t.input("xq", {1, 6, 7, 5}, DType::kU8);
  t.params("xq", 0.1f, 100, DType::kU8);
  const std::string x = t.dq("xq", "xq");
  t.node("Conv", {x, t.weight("c1", {4, 6, 3, 3}, 61), t.bias("c1", 0.1f, 62)}, {"c1"})
      .set_attr_ints("pads", {1, 1, 1, 1});
  t.params("c1o", 0.05f, -10, DType::kI8);
  t.node("QuantizeLinear", {"c1", "c1o_s", "c1o_z"}, {"c1_q"});
  t.output_as("c1_q", DType::kI8, 4);
  t.node("Tanh", {t.dq("c1_q", "c1o")}, {"th"});
  const std::string th = t.qdq("th", "th", 1.f / 127, 0, DType::kI8);
  t.node("Conv", {th, t.weight("c2", {3, 4, 1, 1}, 63)}, {"c2"});
  t.params("c2o", 0.02f, 5, DType::kI8);
  t.node("QuantizeLinear", {"c2", "c2o_s", "c2o_z"}, {"c2_q"});
  t.output_as("c2_q", DType::kI8, 4);
  t.input("sq", {1, 4, 6}, DType::kI8);
  t.params("sq", 0.05f, 3, DType::kI8);
  t.node("MatMul", {t.dq("sq", "sq"), t.weight("mm", {6, 5}, 64, 1)}, {"mm"});
  t.params("mmo", 0.03f, -4, DType::kI8);
  t.node("QuantizeLinear", {"mm", "mmo_s", "mmo_z"}, {"mm_q"});
  t.output_as("mm_q", DType::kI8, 3);
  const Model model = t.model();
  const Tensor xq = test::random_tensor(DType::kU8, {1, 6, 7, 5}, 8, 0, 255);
  const Tensor sq = test::random_tensor(DType::kI8, {1, 4, 6}, 9, -128, 127);
  expect_int8(model, {xq, sq}, 3);
}

// What the int8 operators do not take runs in float on the dequantized data, inside the same
// subgraph: uint8 weights with a zero point, a float activation (Sigmoid) of a dequantized
// value, a dequantized value that is a graph output, an Add with a constant.
TEST(XnnpackInt8, FloatOnDequantizedData) {
  QdqModel t;
  t.input("x", {1, 3, 6, 6});
  const std::string x = t.qdq("x", "in", 1.f / 255, 0);
  Tensor wq = test::random_tensor(DType::kU8, {5, 3, 3, 3}, 71, 0, 255);
  t.init("w", wq);
  t.params("w", 0.004f, 128, DType::kU8);
  t.node("DequantizeLinear", {"w", "w_s", "w_z"}, {"w_dq"});
  t.node("Conv", {x, "w_dq"}, {"c"});
  const std::string c = t.qdq("c", "c", 0.05f, 128);
  t.node("Sigmoid", {c}, {"sg"});
  t.init("k", random_f32({5, 1, 1}, 72));
  t.node("Add", {"sg", "k"}, {"y"});
  t.output("y");
  t.output(c);
  const Model model = t.model();
  const int64_t before = rt::xnnpack::int8_operators_defined();
  expect_close(model, {random_f32({1, 3, 6, 6}, 10, 0.f, 1.f)});
  EXPECT_EQ(rt::xnnpack::int8_operators_defined(), before);
}

class XnnpackFashion : public ::testing::TestWithParam<std::string> {};

TEST_P(XnnpackFashion, MatchesReference) {
  const fs::path path = fs::path(EDGEOPT_SOURCE_DIR) / "models" / (GetParam() + ".onnx");
  if (!fs::exists(path)) GTEST_SKIP() << path << " not found";
  const Model model = load_model(path);
  const ValueInfo* in = model.graph.real_inputs().at(0);
  Shape s;
  for (const Dim& d : in->dims) s.push_back(d.is_static() ? d.value : 3);
  expect_close(model, {random_f32(s, 4, 0.f, 1.f)});
  expect_close(model, {random_f32(s, 5, 0.f, 1.f)}, 1, 2);
}

INSTANTIATE_TEST_SUITE_P(Models, XnnpackFashion,
                         ::testing::Values("fashion_resnet", "fashion_mobilenet"));

class XnnpackTorchvision : public ::testing::TestWithParam<std::string> {};

TEST_P(XnnpackTorchvision, MatchesReference) {
  const fs::path dir = fs::path(EDGEOPT_BINARY_DIR) / "fixtures";
  const fs::path path = dir / (GetParam() + "_op13.onnx");
  if (!fs::exists(path))
    GTEST_SKIP() << path << " not found (scripts/make_torchvision_fixtures.py " << dir << ")";
  const Model model = load_model(path);
  const Tensor input = load_tensor_pb(dir / (GetParam() + "_input.pb"));
  expect_close(model, {input}, 1, 2);
}

INSTANTIATE_TEST_SUITE_P(Models, XnnpackTorchvision,
                         ::testing::Values("resnet18", "mobilenet_v2", "squeezenet1_1",
                                           "efficientnet_b0"));

}  // namespace
}  // namespace edgeopt
