// Every (provider, op) of the kernel registry against the reference provider on awkward shapes,
// after ggml's test-backend-ops and ncnn's testutil: odd sizes, size-1 dims, broadcasting,
// channel counts that are not a multiple of the SIMD width (8 on AVX2, 16 on AVX-512), empty
// tensors where the op allows them. Each case is a small model built with the shared builders
// (tests/testing/), random inputs from a fixed seed, run on the provider (reference behind it)
// and on the reference provider alone; the outputs must agree within the one tolerance policy
// (testing/tolerance.h), and the provider must have run the ops the case is written for (so a
// case that silently falls back to the reference cannot pass).
//
// The reference provider is the oracle and is not swept (its kernels are checked against the
// ONNX backend node test data by the conformance runner). Ops of the other providers that no
// case covers are listed in kNotCovered with the reason; RegistryIsCovered fails when the
// registry holds an op that is neither covered nor listed, or when a listed op is covered.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "edgeopt/session.h"
#include "runtime/kernel.h"
#include "testing/model_builder.h"
#include "testing/provider_compare.h"
#include "testing/random.h"
#include "testing/tolerance.h"

namespace edgeopt {
namespace {

using test::ModelBuilder;
using test::random_tensor;
using test::Tolerance;

struct Built {
  Model model;
  std::vector<Tensor> inputs;
};

struct SweepCase {
  std::string name;  // test name suffix
  std::string provider;
  // Ops ("Op" or "domain.Op") the provider must run in this case.
  std::vector<std::string> covers;
  std::function<Built()> make;
  std::optional<Tolerance> tolerance;
};

// Ops of non-reference providers that no case covers, with the reason.
const std::map<std::string, std::string> kNotCovered = {
    {"onednn/edgeopt.onednn.QChannelMul",
     "made only from a whole int8 squeeze-excitation block (QConv, QGlobalAveragePool, two 1x1 "
     "QConvs, a sigmoid table, the channel Mul): covered by onednn_int8_test's "
     "SqueezeExcitation cases and the torchvision int8 models, not by a one-node model"},
};

std::string shape_tag(const Shape& s) {
  if (s.empty()) return "scalar";
  std::string t;
  for (int64_t d : s) t += (t.empty() ? "" : "x") + std::to_string(d);
  return t;
}

// Default opset of the sweep: 14 (HardSwish appears in 14; the others are unchanged since 13).
constexpr int64_t kOpset = 14;

// ---- element-wise ----------------------------------------------------------------------------

const std::vector<Shape> kUnaryShapes = {{7}, {1, 1, 1, 1}, {3, 5, 7, 11}, {2, 67, 5, 3}, {0, 5}};

void set_unary_attrs(ModelBuilder& b, const std::string& op, std::vector<std::string>& in) {
  if (op == "Clip") {
    b.constant("lo", Tensor::scalar<float>(-0.5f)).constant("hi", Tensor::scalar<float>(0.7f));
    in = {"x", "lo", "hi"};
  }
  if (op == "Pow") {  // the exponent oneDNN takes (x * x)
    b.constant("e", Tensor::scalar<float>(2.f));
    in = {"x", "e"};
  }
}

Built unary_model(const std::string& op, const Shape& shape) {
  ModelBuilder b(kOpset, "unary");
  b.input("x", shape);
  std::vector<std::string> in{"x"};
  set_unary_attrs(b, op, in);
  Node& n = b.node(op, in, {"y"});
  if (op == "LeakyRelu") n.set_attr_float("alpha", 0.13f);
  if (op == "Elu") n.set_attr_float("alpha", 0.7f);
  b.output("y");
  return {b.build(), {random_tensor(shape, 1, op == "Sqrt" ? 0.f : -4.f, 4.f)}};
}

// Softmax at the default axis: from opset 13 the last one, before it the 2-D
// coercion at axis 1. Logits up to +-30, where a missing max subtraction would overflow exp().
Built softmax_model(const std::string& op, const Shape& shape, int64_t opset) {
  ModelBuilder b(opset, "softmax");
  b.input("x", shape);
  b.node(op, {"x"}, {"y"});
  b.output("y");
  return {b.build(), {random_tensor(shape, 1, -30.f, 30.f)}};
}

// Reduce* over trailing axes (`axes` empty: all of them), from the attribute or, for ReduceSum
// from opset 13, a constant input.
struct ReduceCase {
  const char* tag;
  Shape shape;
  std::vector<int64_t> axes;
  int64_t keepdims;
};
const std::vector<ReduceCase> kReduceCases = {
    {"last_3x5x7", {3, 5, 7}, {-1}, 1},
    {"last2_2x67x5x3", {2, 67, 5, 3}, {-2, -1}, 0},
    {"all_3x5x7", {3, 5, 7}, {}, 1},
    {"all_flat_4x9", {4, 9}, {}, 0},
    {"positive_last_3x5x7", {3, 5, 7}, {2}, 0},
    {"spatial_2x19x5x3", {2, 19, 5, 3}, {2, 3}, 1},
    {"spatial_flat_1x33x7x7", {1, 33, 7, 7}, {-1, -2}, 0},
    {"empty_rows_0x5", {0, 5}, {-1}, 1},
    {"empty_reduced_3x0", {3, 0}, {-1}, 0},
    {"unit_4x3x1", {4, 3, 1}, {-1}, 0},
};

Built reduce_model(const std::string& op, const ReduceCase& c, int64_t opset) {
  ModelBuilder b(opset, "reduce");
  b.input("x", c.shape);
  std::vector<std::string> in{"x"};
  if (op == "ReduceSum" && opset >= 13 && !c.axes.empty()) {
    b.constant("axes", Tensor::from_vector(c.axes, {static_cast<int64_t>(c.axes.size())}));
    in.push_back("axes");
  }
  Node& n = b.node(op, in, {"y"});
  if (in.size() == 1 && !c.axes.empty()) n.set_attr_ints("axes", c.axes);
  n.set_attr_int("keepdims", c.keepdims);
  b.output("y");
  return {b.build(), {random_tensor(c.shape, 1, -3.f, 3.f)}};
}

struct BinaryShapes {
  const char* tag;
  Shape a, b;
};
const std::vector<BinaryShapes> kBinaryShapes = {
    {"same_3x5x7", {3, 5, 7}, {3, 5, 7}},
    {"bcast_2x17x1x5_17x9x1", {2, 17, 1, 5}, {17, 9, 1}},
    {"bcast_first_1x1x3_4x5x3", {1, 1, 3}, {4, 5, 3}},
    {"channels_1x67x3x3_67x1x1", {1, 67, 3, 3}, {67, 1, 1}},
    {"scalar_5x1_1", {5, 1}, {1}},
    {"ones_1x1x1", {1, 1, 1}, {1, 1, 1}},
    {"empty_0x3_3", {0, 3}, {3}},
};

Built binary_model(const std::string& op, const BinaryShapes& s, bool b_constant) {
  ModelBuilder b(kOpset, "binary");
  b.input("a", s.a);
  // Divisors away from zero.
  const float lo = op == "Div" ? 0.5f : -2.f;
  Tensor bv = random_tensor(s.b, 2, lo, 2.f);
  std::vector<Tensor> inputs{random_tensor(s.a, 1, -2.f, 2.f)};
  if (b_constant) {
    b.constant("b", bv);
  } else {
    b.input("b", s.b);
    inputs.push_back(bv);
  }
  b.node(op, {"a", "b"}, {"y"});
  b.output("y");
  return {b.build(), inputs};
}

// ---- matrix products ---------------------------------------------------------------------------

struct MatMulShapes {
  const char* tag;
  Shape a, b;
};
const std::vector<MatMulShapes> kMatMulShapes = {
    {"3x5_5x7", {3, 5}, {5, 7}},
    {"batched_2x3x17x9_9x13", {2, 3, 17, 9}, {9, 13}},
    {"one_1x1_1x1", {1, 1}, {1, 1}},
    {"vector_7_7x3", {7}, {7, 3}},
    {"wide_4x67_67x33", {4, 67}, {67, 33}},
    {"rank3_5x2x19_19x6", {5, 2, 19}, {19, 6}},
};

Built matmul_model(const MatMulShapes& s) {
  ModelBuilder b(kOpset, "matmul");
  b.input("a", s.a).constant("b", random_tensor(s.b, 2));
  b.node("MatMul", {"a", "b"}, {"y"});
  b.output("y");
  return {b.build(), {random_tensor(s.a, 1)}};
}

struct GemmCase {
  const char* tag;
  Shape a, b, c;  // c empty: no C
  int trans_a, trans_b;
  float alpha, beta;
};
const std::vector<GemmCase> kGemmCases = {
    {"plain_5x7_7x9_c9", {5, 7}, {7, 9}, {9}, 0, 0, 1.f, 1.f},
    {"transB_3x17_9x17_c1x9", {3, 17}, {9, 17}, {1, 9}, 0, 1, 1.f, 1.f},
    {"transA_17x3_17x9", {17, 3}, {17, 9}, {}, 1, 0, 1.f, 1.f},
    {"alpha_beta_c_scalar", {4, 6}, {6, 5}, {1}, 0, 0, 0.5f, 2.f},
    {"one_row_1x67_67x33", {1, 67}, {67, 33}, {33}, 0, 0, 1.f, 1.f},
};

Built gemm_model(const GemmCase& g) {
  ModelBuilder b(kOpset, "gemm");
  b.input("a", g.a).constant("b", random_tensor(g.b, 2));
  std::vector<std::string> in{"a", "b"};
  if (!g.c.empty()) {
    b.constant("c", random_tensor(g.c, 3));
    in.push_back("c");
  }
  Node& n = b.node("Gemm", in, {"y"});
  n.set_attr_int("transA", g.trans_a);
  n.set_attr_int("transB", g.trans_b);
  n.set_attr_float("alpha", g.alpha);
  n.set_attr_float("beta", g.beta);
  b.output("y");
  return {b.build(), {random_tensor(g.a, 1)}};
}

// ---- Concat, QuantizeLinear / DequantizeLinear -------------------------------------------------

Built concat_model(const std::vector<Shape>& parts, int64_t axis) {
  ModelBuilder b(kOpset, "concat");
  std::vector<std::string> in;
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < parts.size(); ++i) {
    in.push_back("x" + std::to_string(i));
    b.input(in.back(), parts[i]);
    inputs.push_back(random_tensor(parts[i], static_cast<uint32_t>(i + 1)));
  }
  b.node("Concat", in, {"y"}).set_attr_int("axis", axis);
  b.output("y");
  return {b.build(), inputs};
}

Built quantize_model(const Shape& shape, DType to, int zero_point) {
  ModelBuilder b(kOpset, "quantize");
  b.input("x", shape).constant("s", Tensor::scalar<float>(0.02f));
  Tensor zp(to, {});
  if (to == DType::kU8)
    zp.data<uint8_t>()[0] = static_cast<uint8_t>(zero_point);
  else
    zp.data<int8_t>()[0] = static_cast<int8_t>(zero_point);
  b.constant("zp", zp);
  b.node("QuantizeLinear", {"x", "s", "zp"}, {"y"});
  b.output("y", to);
  // Past both ends of the range, so that saturation is exercised.
  return {b.build(), {random_tensor(shape, 1, -3.f, 3.f)}};
}

Built dequantize_model(const Shape& shape, DType from, int zero_point) {
  ModelBuilder b(kOpset, "dequantize");
  b.input("x", shape, from).constant("s", Tensor::scalar<float>(0.037f));
  Tensor zp(from, {});
  if (from == DType::kU8)
    zp.data<uint8_t>()[0] = static_cast<uint8_t>(zero_point);
  else
    zp.data<int8_t>()[0] = static_cast<int8_t>(zero_point);
  b.constant("zp", zp);
  b.node("DequantizeLinear", {"x", "s", "zp"}, {"y"});
  b.output("y");
  return {b.build(), {random_tensor(from, shape, 1, -128, 255)}};
}

// ---- convolutions and pools ---------------------------------------------------------------------

struct ConvCase {
  const char* tag;
  Shape x, w;
  int64_t group;
  std::vector<int64_t> strides, pads, dilations;
  bool bias;
  const char* covers;  // the node the provider runs
};
const std::vector<ConvCase> kConvCases = {
    {"3x3_pad_odd_5to7",
     {1, 5, 11, 9},
     {7, 5, 3, 3},
     1,
     {},
     {1, 1, 1, 1},
     {},
     true,
     "edgeopt.onednn.Conv"},
    {"stride2_asym_pads_13to17",
     {2, 13, 10, 7},
     {17, 13, 3, 2},
     1,
     {2, 1},
     {1, 0, 0, 1},
     {},
     true,
     "edgeopt.onednn.Conv"},
    {"depthwise_67",
     {1, 67, 9, 9},
     {67, 1, 3, 3},
     67,
     {},
     {1, 1, 1, 1},
     {},
     true,
     "edgeopt.onednn.Conv"},
    {"grouped_dilated",
     {1, 12, 13, 13},
     {9, 4, 3, 3},
     3,
     {},
     {2, 2, 2, 2},
     {2, 2},
     false,
     "edgeopt.onednn.Conv"},
    {"pointwise_67to33", {1, 67, 5, 3}, {33, 67, 1, 1}, 1, {}, {}, {}, true, "edgeopt.onednn.Conv"},
    {"rgb_stem_stride2",
     {1, 3, 16, 16},
     {8, 3, 3, 3},
     1,
     {2, 2},
     {1, 1, 1, 1},
     {},
     true,
     "edgeopt.onednn.Conv"},
    {"one_pixel_1x1", {1, 1, 1, 1}, {1, 1, 1, 1}, 1, {}, {}, {}, true, "edgeopt.onednn.Conv"},
    {"conv1d", {2, 5, 17}, {7, 5, 3}, 1, {}, {1, 1}, {}, true, "Conv"},
    {"conv3d", {1, 3, 5, 6, 7}, {4, 3, 3, 3, 3}, 1, {}, {1, 0, 1, 1, 0, 1}, {}, true, "Conv"},
};

void add_conv(ModelBuilder& b, const ConvCase& c, const std::string& x, const std::string& y,
              uint32_t seed) {
  b.constant("w_" + y, random_tensor(c.w, seed));
  std::vector<std::string> in{x, "w_" + y};
  if (c.bias) {
    b.constant("b_" + y, random_tensor({c.w[0]}, seed + 1));
    in.push_back("b_" + y);
  }
  Node& n = b.node("Conv", in, {y});
  n.set_attr_int("group", c.group);
  if (!c.strides.empty()) n.set_attr_ints("strides", c.strides);
  if (!c.pads.empty()) n.set_attr_ints("pads", c.pads);
  if (!c.dilations.empty()) n.set_attr_ints("dilations", c.dilations);
}

Built conv_model(const ConvCase& c) {
  ModelBuilder b(kOpset, "conv");
  b.input("x", c.x);
  add_conv(b, c, "x", "y", 2);
  b.output("y");
  return {b.build(), {random_tensor(c.x, 1)}};
}

// The conv every "after a conv" case starts from: 13 output channels (not a multiple of the
// vector width), so the laid-out value has padded lanes.
const ConvCase kStem = {"stem", {1, 6, 9, 7}, {13, 6, 3, 3}, 1, {}, {1, 1, 1, 1}, {}, true, ""};

// Conv followed by `op` (a fused post-op, or a node running in the provider's layout).
Built conv_then(const std::string& op) {
  ModelBuilder b(kOpset, "conv_then");
  b.input("x", kStem.x);
  add_conv(b, kStem, "x", "c", 2);
  std::vector<Tensor> inputs{random_tensor(kStem.x, 1)};
  const Shape out{1, 13, 9, 7};
  if (op == "Add" || op == "Mul" || op == "Sub" || op == "Div") {
    // Per-channel constant, broadcast over H and W.
    b.constant("k", random_tensor({13, 1, 1}, 5, 0.5f, 2.f));
    b.node(op, {"c", "k"}, {"y"});
  } else if (op == "ResidualAdd") {
    b.input("r", out);
    inputs.push_back(random_tensor(out, 6));
    b.node("Add", {"c", "r"}, {"y"});
  } else if (op == "Concat") {
    b.input("r", {1, 5, 9, 7});
    inputs.push_back(random_tensor({1, 5, 9, 7}, 6));
    b.node("Concat", {"c", "r"}, {"y"}).set_attr_int("axis", 1);
  } else if (op == "Silu") {
    b.node("Sigmoid", {"c"}, {"s"});
    b.node("Mul", {"c", "s"}, {"y"});
  } else {
    std::vector<std::string> in{"c"};
    if (op == "Clip") {
      b.constant("lo", Tensor::scalar<float>(-0.5f)).constant("hi", Tensor::scalar<float>(0.7f));
      in = {"c", "lo", "hi"};
    }
    Node& n = b.node(op, in, {"y"});
    if (op == "LeakyRelu") n.set_attr_float("alpha", 0.13f);
    if (op == "Elu") n.set_attr_float("alpha", 0.7f);
  }
  b.output("y");
  return {b.build(), inputs};
}

// ShuffleNet's channel shuffle, Reshape [N, g, C/g, H, W] → Transpose (0, 2, 1, 3, 4) →
// Reshape back, on a graph input (NCHW) or after a conv of C outputs (the provider's layout;
// C = 24: a padded last block).
Built shuffle_model(const Shape& x, int64_t g, bool after_conv) {
  ModelBuilder b(kOpset, "shuffle");
  const int64_t c = x[1];
  b.input("x", x);
  std::string in = "x";
  if (after_conv) {
    const ConvCase conv{"pw", x, {c, c, 1, 1}, 1, {}, {}, {}, true, ""};
    add_conv(b, conv, "x", "c", 2);
    in = "c";
  }
  b.constant("s5", Tensor::from_vector<int64_t>({x[0], g, c / g, x[2], x[3]}, {5}));
  b.constant("s4", Tensor::from_vector<int64_t>({x[0], c, x[2], x[3]}, {4}));
  b.node("Reshape", {in, "s5"}, {"r"});
  b.node("Transpose", {"r"}, {"t"}).set_attr_ints("perm", {0, 2, 1, 3, 4});
  b.node("Reshape", {"t", "s4"}, {"y"});
  b.output("y");
  return {b.build(), {random_tensor(x, 1)}};
}

struct PoolCase {
  const char* tag;
  const char* op;
  Shape x;
  std::vector<int64_t> kernel, strides, pads;
  int ceil_mode, count_include_pad;
};
const std::vector<PoolCase> kPoolCases = {
    {"max_3x3_s2_p1", "MaxPool", {1, 13, 11, 9}, {3, 3}, {2, 2}, {1, 1, 1, 1}, 0, 0},
    {"max_2x3_ceil", "MaxPool", {2, 67, 7, 8}, {2, 3}, {2, 2}, {}, 1, 0},
    {"avg_3x2_exclude_pad", "AveragePool", {1, 13, 10, 9}, {3, 2}, {1, 2}, {1, 0, 1, 1}, 0, 0},
    {"avg_3x3_include_pad", "AveragePool", {2, 5, 7, 7}, {3, 3}, {2, 2}, {1, 1, 1, 1}, 0, 1},
    {"avg_ceil", "AveragePool", {1, 9, 8, 11}, {3, 3}, {2, 2}, {}, 1, 0},
    {"gap_2x67x5x3", "GlobalAveragePool", {2, 67, 5, 3}, {}, {}, {}, 0, 0},
    {"gap_1x1x1x1", "GlobalAveragePool", {1, 1, 1, 1}, {}, {}, {}, 0, 0},
    {"gmp_2x67x5x3", "GlobalMaxPool", {2, 67, 5, 3}, {}, {}, {}, 0, 0},
    {"max_1d", "MaxPool", {2, 13, 17}, {3}, {2}, {1, 1}, 0, 0},
    {"avg_1d", "AveragePool", {2, 13, 17}, {3}, {1}, {1, 1}, 0, 0},
    {"gap_1d", "GlobalAveragePool", {2, 13, 17}, {}, {}, {}, 0, 0},
    {"gmp_3d", "GlobalMaxPool", {1, 5, 3, 4, 5}, {}, {}, {}, 0, 0},
};

Built pool_model(const PoolCase& p, bool after_conv) {
  ModelBuilder b(kOpset, "pool");
  b.input("x", p.x);
  std::string in = "x";
  if (after_conv) {
    const ConvCase c{"", p.x, {p.x[1], p.x[1], 1, 1}, 1, {}, {}, {}, true, ""};
    add_conv(b, c, "x", "c", 2);
    in = "c";
  }
  Node& n = b.node(p.op, {in}, {"y"});
  if (!p.kernel.empty()) n.set_attr_ints("kernel_shape", p.kernel);
  if (!p.strides.empty()) n.set_attr_ints("strides", p.strides);
  if (!p.pads.empty()) n.set_attr_ints("pads", p.pads);
  if (p.ceil_mode) n.set_attr_int("ceil_mode", 1);
  if (p.count_include_pad) n.set_attr_int("count_include_pad", 1);
  b.output("y");
  return {b.build(), {random_tensor(p.x, 1)}};
}

Built conv_transpose_model(const Shape& x, const Shape& w, int64_t group,
                           std::vector<int64_t> strides, std::vector<int64_t> pads,
                           std::vector<int64_t> output_padding) {
  ModelBuilder b(kOpset, "conv_transpose");
  b.input("x", x)
      .constant("w", random_tensor(w, 2))
      .constant("b", random_tensor({w[1] * group}, 3));
  Node& n = b.node("ConvTranspose", {"x", "w", "b"}, {"y"});
  n.set_attr_int("group", group);
  n.set_attr_ints("strides", strides);
  n.set_attr_ints("pads", pads);
  if (!output_padding.empty()) n.set_attr_ints("output_padding", output_padding);
  b.output("y");
  return {b.build(), {random_tensor(x, 1)}};
}

Built resize_model(const Shape& x, const std::vector<float>& scales, const std::string& mode,
                   const std::string& coordinates) {
  ModelBuilder b(kOpset, "resize");
  b.input("x", x).constant("scales", Tensor::from_vector<float>(scales, {4}));
  Node& n = b.node("Resize", {"x", "", "scales"}, {"y"});
  n.set_attr_string("mode", mode);
  n.set_attr_string("coordinate_transformation_mode", coordinates);
  if (mode == "nearest") n.set_attr_string("nearest_mode", "floor");
  b.output("y");
  return {b.build(), {random_tensor(x, 1)}};
}

// ---- recurrent ----------------------------------------------------------------------------------

// GRU / LSTM on oneDNN's RNN primitives: gates permuted, biases split (linear_before_reset),
// directions, optional initial states and outputs, weights as constants or as graph inputs
// (packed on every run).
struct RecurrentCase {
  const char* tag;
  const char* op;
  int64_t seq, batch, input, hidden;
  const char* direction;
  bool lbr;            // GRU linear_before_reset
  bool bias, initial;  // B; initial_h (and initial_c)
  bool y, states;      // outputs Y; Y_h (and Y_c)
  bool weights_in;     // W, R, B graph inputs rather than constants
};

const std::vector<RecurrentCase> kRecurrentCases = {
    {"gru_lbr", "GRU", 5, 1, 7, 16, "forward", true, true, true, true, true, false},
    {"gru_b3_nobias", "GRU", 4, 3, 5, 12, "forward", false, false, false, true, true, false},
    {"gru_bidir_b3", "GRU", 6, 3, 8, 10, "bidirectional", true, true, true, true, true, false},
    {"gru_reverse_no_y", "GRU", 3, 2, 6, 9, "reverse", false, true, true, false, true, false},
    {"gru_weights_in", "GRU", 4, 2, 5, 8, "bidirectional", false, true, true, true, true, true},
    {"lstm_b2", "LSTM", 5, 2, 9, 16, "forward", false, true, true, true, true, false},
    {"lstm_one_step", "LSTM", 1, 1, 32, 32, "forward", false, true, true, true, true, false},
    {"lstm_bidir_b1", "LSTM", 4, 1, 6, 11, "bidirectional", false, false, false, true, true, false},
    {"lstm_bidir_b2_no_states", "LSTM", 3, 2, 5, 7, "bidirectional", false, true, true, true, false,
     false},
    {"lstm_reverse_weights_in", "LSTM", 6, 2, 4, 10, "reverse", false, true, true, true, true,
     true},
};

Built recurrent_model(const RecurrentCase& c) {
  const bool lstm = std::string(c.op) == "LSTM";
  const int64_t gates = lstm ? 4 : 3;
  const int64_t dirs = std::string(c.direction) == "bidirectional" ? 2 : 1;
  ModelBuilder b(kOpset, "recurrent");
  b.input("x", {c.seq, c.batch, c.input});
  std::vector<Tensor> inputs = {random_tensor({c.seq, c.batch, c.input}, 1)};
  const std::vector<std::pair<std::string, Shape>> weights = {
      {"w", {dirs, gates * c.hidden, c.input}},
      {"r", {dirs, gates * c.hidden, c.hidden}},
      {"b", {dirs, 2 * gates * c.hidden}}};
  uint32_t seed = 2;
  for (const auto& [name, shape] : weights) {
    if (name == "b" && !c.bias) continue;
    Tensor t = random_tensor(shape, seed++, -0.5f, 0.5f);
    if (c.weights_in) {
      b.input(name, shape);
      inputs.push_back(std::move(t));
    } else {
      b.constant(name, std::move(t));
    }
  }
  std::vector<std::string> in = {"x", "w", "r", c.bias ? "b" : "", ""};
  if (c.initial)
    for (const char* name : {"h0", "c0"}) {
      if (name[0] == 'c' && !lstm) break;
      b.input(name, {dirs, c.batch, c.hidden});
      inputs.push_back(random_tensor({dirs, c.batch, c.hidden}, seed++));
      in.push_back(name);
    }
  std::vector<std::string> out = {c.y ? "y" : ""};
  if (c.states) {
    out.push_back("yh");
    if (lstm) out.push_back("yc");
  } else if (!c.y) {
    out.push_back("yh");
  }
  Node& n = b.node(c.op, in, out);
  n.set_attr_int("hidden_size", c.hidden);
  n.set_attr_string("direction", c.direction);
  if (c.lbr) n.set_attr_int("linear_before_reset", 1);
  for (const std::string& o : out)
    if (!o.empty()) b.output(o);
  return {b.build(), std::move(inputs)};
}

// ---- int8: QDQ patterns the oneDNN int8 rewrite turns into its own ops --------------------------

constexpr float kXScale = 0.03f, kYScale = 0.05f;

// x f32 → Q(u8, kXScale, 128) → DQ: the quantized activation every int8 pattern starts from.
void add_qdq_input(ModelBuilder& b, const Shape& shape) {
  b.input("x", shape);
  b.constant("xs", Tensor::scalar<float>(kXScale)).constant("xz", Tensor::scalar<uint8_t>(128));
  b.node("QuantizeLinear", {"x", "xs", "xz"}, {"xq"});
  b.node("DequantizeLinear", {"xq", "xs", "xz"}, {"xd"});
}

// `y` f32 → Q(u8, kYScale, zp) → DQ → `out`.
void add_qdq_output(ModelBuilder& b, const std::string& y, const std::string& out, int zp = 128) {
  b.constant("ys", Tensor::scalar<float>(kYScale))
      .constant("yz", Tensor::scalar<uint8_t>(static_cast<uint8_t>(zp)));
  b.node("QuantizeLinear", {y, "ys", "yz"}, {y + "_q"});
  b.node("DequantizeLinear", {y + "_q", "ys", "yz"}, {out});
}

// Per-output-channel int8 weights, dequantized by a DequantizeLinear on axis 0.
void add_int8_weights(ModelBuilder& b, const Shape& w_shape, const std::string& out) {
  b.constant("wq", random_tensor(DType::kI8, w_shape, 2, -127, 127));
  b.constant("wsc", random_tensor({w_shape[0]}, 3, 0.002f, 0.01f));
  b.constant("wz", Tensor(DType::kI8, {w_shape[0]}));
  b.node("DequantizeLinear", {"wq", "wsc", "wz"}, {out}).set_attr_int("axis", 0);
}

// Quantizes `y` to the graph output "y" and builds the model, fed with x in [-3, 3].
Built finish_int8(ModelBuilder& b, const std::string& y, const Shape& x, int zp = 128) {
  add_qdq_output(b, y, "y", zp);
  b.output("y");
  return {b.build(), {random_tensor(x, 1, -3.f, 3.f)}};
}

// ShuffleNet's channel shuffle as a quantizer leaves it, a QDQ pair (x's parameters) after every
// Reshape and the Transpose, on the input or after a QConv (channels-last u8).
Built int8_shuffle_model(bool after_conv, int64_t g) {
  const Shape x{1, 24, 5, 3};
  ModelBuilder b(kOpset, "int8_shuffle");
  add_qdq_input(b, x);
  std::string in = "xd";
  auto qdq = [&](const std::string& v) {
    b.node("QuantizeLinear", {v, "xs", "xz"}, {v + "_q"});
    b.node("DequantizeLinear", {v + "_q", "xs", "xz"}, {v + "_d"});
    return v + "_d";
  };
  if (after_conv) {
    add_int8_weights(b, {24, 24, 1, 1}, "wd");
    b.node("Conv", {"xd", "wd"}, {"c"});
    in = qdq("c");
  }
  b.constant("s5", Tensor::from_vector<int64_t>({1, g, 24 / g, 5, 3}, {5}));
  b.constant("s4", Tensor::from_vector<int64_t>({1, 24, 5, 3}, {4}));
  b.node("Reshape", {in, "s5"}, {"r"});
  b.node("Transpose", {qdq("r")}, {"t"}).set_attr_ints("perm", {0, 2, 1, 3, 4});
  b.node("Reshape", {qdq("t"), "s4"}, {"s"});
  b.node("QuantizeLinear", {"s", "xs", "xz"}, {"sq"});
  b.node("DequantizeLinear", {"sq", "xs", "xz"}, {"y"});
  b.output("y");
  return {b.build(), {random_tensor(x, 1, -3.f, 3.f)}};
}

Built qconv_model(bool relu) {
  const Shape x{1, 13, 9, 7};
  ModelBuilder b(kOpset, "qconv");
  add_qdq_input(b, x);
  add_int8_weights(b, {19, 13, 3, 3}, "wd");
  b.constant("bias", random_tensor({19}, 4, -0.2f, 0.2f));
  b.node("Conv", {"xd", "wd", "bias"}, {"c"}).set_attr_ints("pads", {1, 1, 1, 1});
  std::string y = "c";
  if (relu) {
    b.node("Relu", {"c"}, {"r"});
    y = "r";
  }
  return finish_int8(b, y, x, relu ? 0 : 128);
}

// A 3-D int8 conv (r3d_18's): NCDHW in the graph; with `residual`, + DQ(r) and Relu fused.
Built qconv3d_model(bool residual) {
  const Shape x{1, 5, 4, 6, 7}, y{1, 8, 4, 6, 7};
  ModelBuilder b(kOpset, "qconv3d");
  add_qdq_input(b, x);
  add_int8_weights(b, {8, 5, 3, 3, 3}, "wd");
  b.constant("bias", random_tensor({8}, 4, -0.2f, 0.2f));
  b.node("Conv", {"xd", "wd", "bias"}, {"c"}).set_attr_ints("pads", {1, 1, 1, 1, 1, 1});
  std::vector<Tensor> inputs{random_tensor(x, 1, -3.f, 3.f)};
  std::string out = "c";
  if (residual) {
    b.input("r", y);
    inputs.push_back(random_tensor(y, 7, -2.f, 2.f));
    add_qdq_output(b, "c", "cd");
    b.node("QuantizeLinear", {"r", "ys", "yz"}, {"rq"});
    b.node("DequantizeLinear", {"rq", "ys", "yz"}, {"rd"});
    b.node("Add", {"cd", "rd"}, {"s"});
    b.node("Relu", {"s"}, {"t"});
    out = "t";
  }
  b.constant("os", Tensor::scalar<float>(kYScale)).constant("oz", Tensor::scalar<uint8_t>(0));
  b.node("QuantizeLinear", {out, "os", "oz"}, {"oq"});
  b.node("DequantizeLinear", {"oq", "os", "oz"}, {"o"});
  b.output("o");
  return {b.build(), inputs};
}

Built qgemm_model() {
  const Shape x{3, 67};
  ModelBuilder b(kOpset, "qgemm");
  add_qdq_input(b, x);
  add_int8_weights(b, {33, 67}, "wd");
  b.constant("bias", random_tensor({33}, 4, -0.2f, 0.2f));
  Node& n = b.node("Gemm", {"xd", "wd", "bias"}, {"g"});
  n.set_attr_int("transB", 1);
  return finish_int8(b, "g", x);
}

// QConv → DQ → GlobalAveragePool → Q: the pool runs on 8-bit data.
Built qgap_model() {
  const Shape x{1, 13, 9, 7};
  ModelBuilder b(kOpset, "qgap");
  add_qdq_input(b, x);
  add_int8_weights(b, {19, 13, 3, 3}, "wd");
  b.node("Conv", {"xd", "wd"}, {"c"}).set_attr_ints("pads", {1, 1, 1, 1});
  add_qdq_output(b, "c", "cd");
  b.node("GlobalAveragePool", {"cd"}, {"p"});
  return finish_int8(b, "p", x);
}

// DQ → Sigmoid → Q: a float island on 8-bit values, a 256-entry table.
Built lut_model() {
  const Shape x{2, 13, 5, 3};
  ModelBuilder b(kOpset, "lut");
  add_qdq_input(b, x);
  b.node("Sigmoid", {"xd"}, {"s"});
  b.constant("ys", Tensor::scalar<float>(1.f / 255)).constant("yz", Tensor::scalar<uint8_t>(0));
  b.node("QuantizeLinear", {"s", "ys", "yz"}, {"sq"});
  b.node("DequantizeLinear", {"sq", "ys", "yz"}, {"y"});
  b.output("y");
  return {b.build(), {random_tensor(x, 1, -3.f, 3.f)}};
}

// ---- the table
// ------------------------------------------------------------------------------------

std::vector<SweepCase> all_cases() {
  std::vector<SweepCase> v;
  const std::vector<std::string> providers = available_providers();
  const bool onednn = std::count(providers.begin(), providers.end(), "onednn") > 0;
  const bool xnnpack = std::count(providers.begin(), providers.end(), "xnnpack") > 0;
  const std::vector<std::string> unary = {"Relu",      "LeakyRelu", "Clip", "Sigmoid",
                                          "HardSwish", "Tanh",      "Elu"};
  const std::string xsub = "edgeopt.xnnpack.Subgraph";
  if (onednn) {
    for (const std::string& op : unary)
      for (const Shape& s : kUnaryShapes)
        v.push_back({op + "_" + shape_tag(s), "onednn", {op}, [=] { return unary_model(op, s); }});
    for (const std::string op : {"Sqrt", "Exp", "Abs", "Neg", "Pow"})
      for (const Shape& s : kUnaryShapes)
        v.push_back({op + "_" + shape_tag(s), "onednn", {op}, [=] { return unary_model(op, s); }});
    for (const Shape& s : kUnaryShapes)
      for (const int64_t opset : {11, 13})
        if (opset >= 13 || s.size() >= 2)  // before 13 the default axis is 1
          v.push_back({"Softmax_" + shape_tag(s) + "_op" + std::to_string(opset),
                       "onednn",
                       {"Softmax"},
                       [=] { return softmax_model("Softmax", s, opset); }});
    for (const RecurrentCase& c : kRecurrentCases)
      v.push_back(
          {std::string(c.op) + "_" + c.tag, "onednn", {c.op}, [=] { return recurrent_model(c); }});
    for (const std::string op : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin"})
      for (const ReduceCase& c : kReduceCases)
        for (const int64_t opset : {11, 13}) {
          const bool spatial = c.shape.size() == 4 && c.axes.size() == 2;  // all are H, W
          // The global pools' rewrite (rank 4, H and W) takes ReduceMean and ReduceMax.
          std::vector<std::string> covers{op};
          if (spatial && op == "ReduceMean") covers = {"edgeopt.onednn.GlobalAveragePool"};
          if (spatial && op == "ReduceMax") covers = {"edgeopt.onednn.GlobalMaxPool"};
          v.push_back({op + "_" + c.tag + "_op" + std::to_string(opset), "onednn", covers,
                       [=] { return reduce_model(op, c, opset); }});
        }
    for (const bool conv : {false, true})
      for (const auto& [x, g] : std::vector<std::pair<Shape, int64_t>>{
               {{2, 24, 5, 3}, 2}, {{1, 48, 7, 7}, 2}, {{1, 36, 4, 6}, 3}})
        v.push_back({"ChannelShuffle_" + shape_tag(x) + "_g" + std::to_string(g) +
                         (conv ? "_after_conv" : ""),
                     "onednn",
                     {"edgeopt.onednn.ChannelShuffle"},
                     [=] { return shuffle_model(x, g, conv); }});
    for (const bool conv : {false, true})
      for (const int64_t g : {2, 3})
        v.push_back({"ChannelShuffle_int8_g" + std::to_string(g) + (conv ? "_after_qconv" : ""),
                     "onednn",
                     {"edgeopt.onednn.ChannelShuffle"},
                     [=] { return int8_shuffle_model(conv, g); }});
    for (const char* op : {"Add", "Sub", "Mul", "Div"})
      for (const BinaryShapes& s : kBinaryShapes)
        for (bool c : {false, true})
          v.push_back({std::string(op) + "_" + s.tag + (c ? "_const" : ""), "onednn", {op}, [=] {
                         return binary_model(op, s, c);
                       }});
    for (const MatMulShapes& s : kMatMulShapes)
      v.push_back(
          {std::string("MatMul_") + s.tag, "onednn", {"MatMul"}, [=] { return matmul_model(s); }});
    for (const GemmCase& g : kGemmCases)
      v.push_back(
          {std::string("Gemm_") + g.tag, "onednn", {"Gemm"}, [=] { return gemm_model(g); }});
    v.push_back({"Concat_axis1_odd", "onednn", {"Concat"}, [] {
                   return concat_model({{2, 3, 5}, {2, 1, 5}, {2, 7, 5}}, 1);
                 }});
    v.push_back({"Concat_axis_neg1", "onednn", {"Concat"}, [] {
                   return concat_model({{3, 4, 1}, {3, 4, 6}}, -1);
                 }});
    v.push_back({"Concat_axis0", "onednn", {"Concat"}, [] {
                   return concat_model({{1, 67}, {2, 67}}, 0);
                 }});
    v.push_back({"Concat_empty_part", "onednn", {"Concat"}, [] {
                   return concat_model({{2, 3, 5}, {2, 0, 5}, {2, 2, 5}}, 1);
                 }});
    v.push_back({"QuantizeLinear_u8_1x67x3x3", "onednn", {"QuantizeLinear"}, [] {
                   return quantize_model({1, 67, 3, 3}, DType::kU8, 128);
                 }});
    v.push_back({"QuantizeLinear_i8_7", "onednn", {"QuantizeLinear"}, [] {
                   return quantize_model({7}, DType::kI8, -3);
                 }});
    v.push_back({"DequantizeLinear_u8_2x13x5", "onednn", {"DequantizeLinear"}, [] {
                   return dequantize_model({2, 13, 5}, DType::kU8, 131);
                 }});
    v.push_back({"DequantizeLinear_i8_1x1", "onednn", {"DequantizeLinear"}, [] {
                   return dequantize_model({1, 1}, DType::kI8, 5);
                 }});
    for (const ConvCase& c : kConvCases)
      v.push_back(
          {std::string("Conv_") + c.tag, "onednn", {c.covers}, [=] { return conv_model(c); }});
    // After a 13-channel conv: fused post-ops, or nodes in the blocked layout with padded lanes.
    for (const std::string& op : unary)
      v.push_back(
          {"Conv_then_" + op, "onednn", {"edgeopt.onednn.Conv", "edgeopt.onednn.ToNchw"}, [=] {
             return conv_then(op);
           }});
    for (const char* op : {"Add", "Sub", "Mul", "Div", "ResidualAdd", "Concat", "Silu"})
      v.push_back({std::string("Conv_then_") + op, "onednn", {"edgeopt.onednn.Conv"}, [=] {
                     return conv_then(op);
                   }});
    for (const PoolCase& p : kPoolCases) {
      const bool plain = p.x.size() != 4;  // 1-D and 3-D pools keep the default domain
      const std::string op = (plain ? "" : "edgeopt.onednn.") + std::string(p.op);
      // A 2-D pool reads and writes the blocked layout: ToBlocked before it, ToNchw after.
      std::vector<std::string> covers{op};
      if (!plain) covers = {"edgeopt.onednn.ToBlocked", op, "edgeopt.onednn.ToNchw"};
      v.push_back(
          {std::string("Pool_") + p.tag, "onednn", covers, [=] { return pool_model(p, false); }});
      if (!plain)
        v.push_back({std::string("Pool_after_conv_") + p.tag, "onednn", {op}, [=] {
                       return pool_model(p, true);
                     }});
    }
    v.push_back(
        {"ConvTranspose_s2_p1_op1", "onednn", {"edgeopt.onednn.ConvTranspose"}, [] {
           return conv_transpose_model({1, 5, 7, 6}, {5, 3, 3, 3}, 1, {2, 2}, {1, 1, 1, 1}, {1, 1});
         }});
    v.push_back(
        {"ConvTranspose_grouped_asym", "onednn", {"edgeopt.onednn.ConvTranspose"}, [] {
           return conv_transpose_model({2, 6, 5, 4}, {6, 5, 3, 2}, 2, {1, 2}, {1, 0, 0, 1}, {});
         }});
    v.push_back({"Resize_nearest_x2", "onednn", {"edgeopt.onednn.Resize"}, [] {
                   return resize_model({1, 13, 5, 7}, {1, 1, 2, 2}, "nearest", "asymmetric");
                 }});
    v.push_back({"Resize_linear_half_pixel", "onednn", {"edgeopt.onednn.Resize"}, [] {
                   return resize_model({2, 3, 4, 5}, {1, 1, 2, 3}, "linear", "half_pixel");
                 }});
    v.push_back({"Resize_linear_align_corners", "onednn", {"edgeopt.onednn.Resize"}, [] {
                   return resize_model({1, 17, 3, 3}, {1, 1, 3, 3}, "linear", "align_corners");
                 }});
    // int8: outputs are dequantized, so one step of the output scale is the tolerance.
    const Tolerance step{kYScale * 1.001, 0};
    v.push_back({"QConv",
                 "onednn",
                 {"edgeopt.onednn.ToNhwc", "edgeopt.onednn.QConv"},
                 [] { return qconv_model(false); },
                 step});
    v.push_back(
        {"QConv_relu", "onednn", {"edgeopt.onednn.QConv"}, [] { return qconv_model(true); }, step});
    v.push_back({"QGemm", "onednn", {"edgeopt.onednn.QGemm"}, [] { return qgemm_model(); }, step});
    for (const bool residual : {false, true})
      v.push_back({residual ? "QConv3d_residual_relu" : "QConv3d",
                   "onednn",
                   {"edgeopt.onednn.QConv"},
                   [=] { return qconv3d_model(residual); },
                   step});
    v.push_back({"QGlobalAveragePool",
                 "onednn",
                 {"edgeopt.onednn.QGlobalAveragePool"},
                 [] { return qgap_model(); },
                 step});
    v.push_back({"Lut_sigmoid",
                 "onednn",
                 {"edgeopt.onednn.Lut"},
                 [] { return lut_model(); },
                 Tolerance{1.001 / 255, 0}});
  }
  if (xnnpack) {
    // XNNPACK runs whole groups of nodes as one edgeopt.xnnpack.Subgraph; each case puts one
    // op it takes (xnnpack/rewrite.cpp takes()) into a subgraph.
    for (const std::string& op : unary)
      if (op != "Tanh")
        for (const Shape& s : kUnaryShapes)
          v.push_back(
              {op + "_" + shape_tag(s), "xnnpack", {xsub}, [=] { return unary_model(op, s); }});
    // A broadcast is taken from a constant operand, or between values of the same rank
    // (rewrite.cpp takes_binary); other broadcasts stay on the reference provider.
    for (const char* op : {"Add", "Mul"})
      for (const BinaryShapes& s : kBinaryShapes)
        for (bool c : {false, true})
          if (c || s.a.size() == s.b.size())
            v.push_back(
                {std::string(op) + "_" + s.tag + (c ? "_const" : ""), "xnnpack", {xsub}, [=] {
                   return binary_model(op, s, c);
                 }});
    for (const MatMulShapes& s : kMatMulShapes)
      if (s.a.size() == 2 || s.a.size() == 3)
        v.push_back(
            {std::string("MatMul_") + s.tag, "xnnpack", {xsub}, [=] { return matmul_model(s); }});
    for (const GemmCase& g : kGemmCases)
      if (!g.trans_a)
        v.push_back(
            {std::string("Gemm_") + g.tag, "xnnpack", {xsub}, [=] { return gemm_model(g); }});
    for (const ConvCase& c : kConvCases)
      if (c.x.size() == 4)
        v.push_back(
            {std::string("Conv_") + c.tag, "xnnpack", {xsub}, [=] { return conv_model(c); }});
    for (const PoolCase& p : kPoolCases)
      // Not taken: GlobalMaxPool, ceil_mode, padded windows counting the padding.
      if (p.x.size() == 4 && std::string(p.op) != "GlobalMaxPool" && !p.ceil_mode &&
          !p.count_include_pad)
        v.push_back({std::string("Pool_") + p.tag, "xnnpack", {xsub}, [=] {
                       return pool_model(p, false);
                     }});
  }
  return v;
}

void PrintTo(const SweepCase& c, std::ostream* os) { *os << c.provider << " " << c.name; }

class ProviderOpSweep : public ::testing::TestWithParam<SweepCase> {};

TEST_P(ProviderOpSweep, MatchesReference) {
  const SweepCase& c = GetParam();
  const Built b = c.make();
  const test::ProviderComparison r = test::run_on_both(b.model, b.inputs, c.provider);
  test::CompareOptions options;
  options.tolerance = c.tolerance;
  EXPECT_TRUE(test::agrees(r, c.provider, options));
  for (const std::string& op : c.covers)
    EXPECT_NE(std::find(r.provider_ops.begin(), r.provider_ops.end(), op), r.provider_ops.end())
        << c.provider << " did not run " << op << " (ran "
        << ::testing::PrintToString(r.provider_ops) << ")";
}

INSTANTIATE_TEST_SUITE_P(Registry, ProviderOpSweep, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<SweepCase>& info) {
                           return info.param.provider + "_" + info.param.name;
                         });

// Every op of every non-reference provider is covered by a case above or listed in kNotCovered.
TEST(ProviderOpSweepCoverage, RegistryIsCovered) {
  std::set<std::string> covered;
  for (const SweepCase& c : all_cases())
    for (const std::string& op : c.covers) covered.insert(c.provider + "/" + op);
  std::set<std::string> registry;
  for (const rt::KernelDef& d : rt::KernelRegistry::global().defs()) {
    if (d.provider == "reference") continue;
    const bool plain = d.domain.empty() || d.domain == "ai.onnx";
    registry.insert(d.provider + "/" + (plain ? "" : d.domain + ".") + d.op_type);
  }
  EXPECT_FALSE(registry.empty());
  for (const std::string& op : registry)
    EXPECT_TRUE(covered.count(op) || kNotCovered.count(op))
        << op << " is in the kernel registry but no sweep case covers it: add a case or list it "
        << "in kNotCovered with the reason";
  for (const auto& [op, why] : kNotCovered) {
    EXPECT_FALSE(covered.count(op)) << op << " is covered now: drop it from kNotCovered";
    EXPECT_TRUE(registry.count(op)) << op << " is no longer in the registry: drop it";
  }
  for (const std::string& op : covered)
    EXPECT_TRUE(registry.count(op)) << "a case covers " << op << ", which is not registered";
}

}  // namespace
}  // namespace edgeopt
