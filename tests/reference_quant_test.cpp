// Reference provider, quantized ops: QuantizeLinear, DequantizeLinear, QLinearConv,
// QLinearMatMul, ConvInteger, MatMulInteger, DynamicQuantizeLinear.
//
// Checked against values computed by hand (per-axis and per-channel cases the ONNX backend node
// tests, run by tools/conformance, do not cover).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "edgeopt/error.h"
#include "edgeopt/ir.h"
#include "edgeopt/session.h"
#include "runtime/reference/quant_common.h"
#include "testing/model_builder.h"

namespace edgeopt {
namespace {

std::vector<Tensor> run_reference(Model model, const std::vector<Tensor>& inputs) {
  Session s(std::move(model), SessionOptions{.providers = {"reference"}});
  return s.run(inputs);
}

// Compares exactly for integer tensors, with rtol 1e-3 (and a tiny atol) for float tensors.
void expect_tensor_eq(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  for (int64_t i = 0; i < want.numel(); ++i) {
    if (dtype_is_float(want.dtype())) {
      const double g = got.get_f64(i), w = want.get_f64(i);
      EXPECT_NEAR(g, w, 1e-3 * std::fabs(w) + 1e-6) << what << " element " << i;
    } else {
      EXPECT_EQ(got.get_i64(i), want.get_i64(i)) << what << " element " << i;
    }
  }
}

// ---- hand-made models --------------------------------------------------------------------

// A one-node model: `fed` is given as graph input 0 (the rest are initializers); an empty
// name in `inputs` omits that optional input.
Model one_node(const std::string& op, const std::vector<std::string>& inputs,
               const std::vector<std::pair<std::string, Tensor>>& initializers,
               const ValueInfo& fed, std::vector<std::string> outputs, int64_t opset = 13,
               std::vector<Attribute> attrs = {}) {
  Model m;
  m.opset_imports = {{"", opset}};
  Node n;
  n.name = "n0";
  n.op_type = op;
  n.inputs = inputs;
  n.outputs = outputs;
  n.attributes = std::move(attrs);
  m.graph.nodes.push_back(n);
  m.graph.inputs.push_back(fed);
  for (const auto& [name, t] : initializers) m.graph.add_initializer(name, t);
  for (const std::string& o : outputs) {
    ValueInfo v;
    v.name = o;
    m.graph.outputs.push_back(v);
  }
  return m;
}

ValueInfo input_info(const std::string& name, DType t, const Shape& s) {
  ValueInfo v;
  v.name = name;
  v.dtype = t;
  v.has_shape = true;
  for (int64_t d : s) {
    Dim dim;
    dim.value = d;
    v.dims.push_back(dim);
  }
  return v;
}

using test::int_attr;
using test::ints_attr;

TEST(ReferenceQuant, DequantizePerChannel4DWeight) {
  // Weight [3 out channels, 2, 1, 3], int8, per output channel (axis 0):
  //   channel 0: scale 0.5,  zp 0  → y = x * 0.5
  //   channel 1: scale 2,    zp -1 → y = (x + 1) * 2
  //   channel 2: scale 0.25, zp 3  → y = (x - 3) * 0.25
  const std::vector<int8_t> w = {-128, -1, 0, 1,  2,   127,    // channel 0
                                 -1,   0,  5, -7, 100, -128,   // channel 1
                                 3,    4,  7, -1, 127, -128};  // channel 2
  const std::vector<float> want = {-64, -0.5, 0,    0.5, 1,    63.5, 0,  2,  12,
                                   -12, 202,  -254, 0,   0.25, 1,    -1, 31, -32.75};
  Model m = one_node("DequantizeLinear", {"w", "s", "z"},
                     {{"s", Tensor::from_vector<float>({0.5f, 2.0f, 0.25f}, {3})},
                      {"z", Tensor::from_vector<int8_t>({0, -1, 3}, {3})}},
                     input_info("w", DType::kI8, {3, 2, 1, 3}), {"y"}, 13, {int_attr("axis", 0)});
  const auto got = run_reference(std::move(m), {Tensor::from_vector<int8_t>(w, {3, 2, 1, 3})});
  ASSERT_EQ(got.size(), 1u);
  expect_tensor_eq(got[0], Tensor::from_vector<float>(want, {3, 2, 1, 3}), "dequantized weight");
}

TEST(ReferenceQuant, DequantizeNegativeAxisInt32) {
  // int32 input (bias-like), per-axis on the last dim via axis -1, no zero point:
  // y = x * scale[j].
  Model m = one_node("DequantizeLinear", {"x", "s"},
                     {{"s", Tensor::from_vector<float>({0.5f, 0.125f}, {2})}},
                     input_info("x", DType::kI32, {2, 2}), {"y"}, 13, {int_attr("axis", -1)});
  const auto got =
      run_reference(std::move(m), {Tensor::from_vector<int32_t>({4, 8, -1000000, 3}, {2, 2})});
  expect_tensor_eq(got[0], Tensor::from_vector<float>({2, 1, -500000, 0.375f}, {2, 2}), "y");
}

TEST(ReferenceQuant, QuantizePerAxisUint8) {
  // x [2, 3], axis 1: scale [0.5, 1, 2], zero point [10, 128, 0].
  //   column 0: x / 0.5 + 10; column 1: x + 128; column 2: x / 2.
  //   x row 0: 1.25 → 2.5 → ties to even 2 → 12;  -0.5 → round(-0.5) = -0 → 128;
  //            5 → 2.5 → 2
  //   x row 1: -10 → -20 + 10 → -10 → saturates to 0;  200 → 328 → 255;  3 → 1.5 → 2
  Model m = one_node("QuantizeLinear", {"x", "s", "z"},
                     {{"s", Tensor::from_vector<float>({0.5f, 1.0f, 2.0f}, {3})},
                      {"z", Tensor::from_vector<uint8_t>({10, 128, 0}, {3})}},
                     input_info("x", DType::kF32, {2, 3}), {"y"}, 13, {int_attr("axis", 1)});
  const auto got = run_reference(
      std::move(m),
      {Tensor::from_vector<float>({1.25f, -0.5f, 5.0f, -10.0f, 200.0f, 3.0f}, {2, 3})});
  expect_tensor_eq(got[0], Tensor::from_vector<uint8_t>({12, 128, 2, 0, 255, 2}, {2, 3}), "y");
}

TEST(ReferenceQuant, QuantizePerAxisInt8Axis0On4D) {
  // x [2, 1, 1, 3], axis 0: scale [1, 0.1], zero point int8 [-3, 5].
  //   channel 0: x - 3 → 126.5 → 126 (even) - 3 = 123; -130 → -133 → -128; 0.5 → 0 - 3 = -3
  //   channel 1: x / 0.1 + 5 → 1 / 0.1 = 10 → 15; -1.25 → -12.5 → -12 + 5 = -7; 20 → 205 → 127
  Model m = one_node("QuantizeLinear", {"x", "s", "z"},
                     {{"s", Tensor::from_vector<float>({1.0f, 0.1f}, {2})},
                      {"z", Tensor::from_vector<int8_t>({-3, 5}, {2})}},
                     input_info("x", DType::kF32, {2, 1, 1, 3}), {"y"}, 13, {int_attr("axis", 0)});
  const auto got = run_reference(
      std::move(m),
      {Tensor::from_vector<float>({126.5f, -130.0f, 0.5f, 1.0f, -1.25f, 20.0f}, {2, 1, 1, 3})});
  expect_tensor_eq(got[0], Tensor::from_vector<int8_t>({123, -128, -3, 15, -7, 127}, {2, 1, 1, 3}),
                   "y");
}

TEST(ReferenceQuant, QuantizeWithoutZeroPointIsUint8) {
  // No zero point: uint8 with zero point 0. scale 2: 5 → 2.5 → 2; 7 → 3.5 → 4; -3 → 0;
  // 1000 → 255; 1 → 0.5 → 0; 3 → 1.5 → 2.
  Model m = one_node("QuantizeLinear", {"x", "s"}, {{"s", Tensor::scalar<float>(2.0f)}},
                     input_info("x", DType::kF32, {6}), {"y"}, 10);
  const auto got = run_reference(
      std::move(m), {Tensor::from_vector<float>({5.0f, 7.0f, -3.0f, 1000.0f, 1.0f, 3.0f}, {6})});
  expect_tensor_eq(got[0], Tensor::from_vector<uint8_t>({2, 4, 0, 255, 0, 2}, {6}), "y");
}

TEST(ReferenceQuant, QLinearConvPerChannelWithBiasAndStride) {
  // x [1, 1, 3, 3] uint8, x_scale 0.5, x_zp 2; w [2, 1, 2, 2] int8 per-channel:
  //   w_scale [1, 0.25], w_zp [0, 1]; B [10, -4]; y_scale 1, y_zp 100 (uint8); strides 1.
  // x - 2 = [[0, 1, 2], [3, 4, 5], [6, 7, 8]] (x = that + 2).
  // Channel 0: w = [[1, 0], [0, -1]] → acc = a - d over each 2x2 window = -4 everywhere, + 10 =
  //   6; * (0.5 * 1 / 1) = 3 → 103.
  // Channel 1: w - 1 = [[1, 1], [1, 1]] (w = 2) → window sums of x - 2: 8, 12, 20, 24; - 4
  //   → 4, 8, 16, 20; * 0.125 = 0.5, 1, 2, 2.5 → ties to even 0, 1, 2, 2 → 100, 101, 102, 102.
  const std::vector<uint8_t> x = {2, 3, 4, 5, 6, 7, 8, 9, 10};
  Model m = one_node("QLinearConv", {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"},
                     {{"xs", Tensor::scalar<float>(0.5f)},
                      {"xz", Tensor::scalar<uint8_t>(2)},
                      {"w", Tensor::from_vector<int8_t>({1, 0, 0, -1, 2, 2, 2, 2}, {2, 1, 2, 2})},
                      {"ws", Tensor::from_vector<float>({1.0f, 0.25f}, {2})},
                      {"wz", Tensor::from_vector<int8_t>({0, 1}, {2})},
                      {"ys", Tensor::scalar<float>(1.0f)},
                      {"yz", Tensor::scalar<uint8_t>(100)},
                      {"b", Tensor::from_vector<int32_t>({10, -4}, {2})}},
                     input_info("x", DType::kU8, {1, 1, 3, 3}), {"y"}, 10);
  const auto got = run_reference(std::move(m), {Tensor::from_vector<uint8_t>(x, {1, 1, 3, 3})});
  expect_tensor_eq(
      got[0], Tensor::from_vector<uint8_t>({103, 103, 103, 103, 100, 101, 102, 102}, {1, 2, 2, 2}),
      "y");
}

TEST(ReferenceQuant, ConvIntegerGroupsStridesSamePadding) {
  // x [1, 2, 1, 4] uint8 with x_zp 1, group 2 (depthwise), w [2, 1, 1, 3] uint8 with w_zp 0,
  // stride 2, auto_pad SAME_UPPER: out = ceil(4 / 2) = 2, total pad = (2-1)*2 + 3 - 4 = 1 →
  // pad begin 0, end 1.
  // channel 0: x - 1 = [0, 1, 2, 3], w = [1, 1, 1] → windows [0,1,2] = 3, [2,3,pad] = 5
  // channel 1: x - 1 = [4, 3, 2, 1], w = [1, 0, 2] → 4 + 4 = 8, 2 + 0 + 0 = 2
  Attribute pad;
  pad.name = "auto_pad";
  pad.type = AttrType::kString;
  pad.s = "SAME_UPPER";
  Model m = one_node("ConvInteger", {"x", "w", "xz"},
                     {{"w", Tensor::from_vector<uint8_t>({1, 1, 1, 1, 0, 2}, {2, 1, 1, 3})},
                      {"xz", Tensor::scalar<uint8_t>(1)}},
                     input_info("x", DType::kU8, {1, 2, 1, 4}), {"y"}, 10,
                     {int_attr("group", 2), ints_attr("strides", {1, 2}), pad});
  const auto got = run_reference(
      std::move(m), {Tensor::from_vector<uint8_t>({1, 2, 3, 4, 5, 4, 3, 2}, {1, 2, 1, 4})});
  expect_tensor_eq(got[0], Tensor::from_vector<int32_t>({3, 5, 8, 2}, {1, 2, 1, 2}), "y");
}

TEST(ReferenceQuant, MatMulIntegerPerRowAndColumnZeroPoints) {
  // A [2, 2] int8 with per-row zp [1, -1]; B [2, 2] uint8 with per-column zp [0, 10].
  // A - zp = [[0, 2], [3, 1]]; B - zp = [[1, 0], [2, -5]] (B = [[1, 10], [2, 5]]).
  // Y = [[4, -10], [5, -5]].
  Model m = one_node("MatMulInteger", {"a", "b", "az", "bz"},
                     {{"b", Tensor::from_vector<uint8_t>({1, 10, 2, 5}, {2, 2})},
                      {"az", Tensor::from_vector<int8_t>({1, -1}, {2})},
                      {"bz", Tensor::from_vector<uint8_t>({0, 10}, {2})}},
                     input_info("a", DType::kI8, {2, 2}), {"y"}, 10);
  const auto got = run_reference(std::move(m), {Tensor::from_vector<int8_t>({1, 3, 2, 0}, {2, 2})});
  expect_tensor_eq(got[0], Tensor::from_vector<int32_t>({4, -10, 5, -5}, {2, 2}), "y");
}

TEST(ReferenceQuant, QLinearMatMulPerColumnScaleBroadcastBatch) {
  // a [2, 1, 2] uint8 (a_scale 1, a_zp 0), b [2, 2] int8 per-column b_scale [1, 0.5], b_zp 0;
  // y_scale 1, y_zp int8 0.
  // batch 0: a = [1, 2], b = [[1, 3], [2, -1]] → acc [5, 1] → [5, 0.5 → 0]
  // batch 1: a = [3, 0] → acc [3, 9] → [3, 4.5 → 4]
  Model m = one_node("QLinearMatMul", {"a", "as", "az", "b", "bs", "bz", "ys", "yz"},
                     {{"as", Tensor::scalar<float>(1.0f)},
                      {"az", Tensor::scalar<uint8_t>(0)},
                      {"b", Tensor::from_vector<int8_t>({1, 3, 2, -1}, {2, 2})},
                      {"bs", Tensor::from_vector<float>({1.0f, 0.5f}, {2})},
                      {"bz", Tensor::from_vector<int8_t>({0, 0}, {2})},
                      {"ys", Tensor::scalar<float>(1.0f)},
                      {"yz", Tensor::scalar<int8_t>(0)}},
                     input_info("a", DType::kU8, {2, 1, 2}), {"y"}, 10);
  const auto got =
      run_reference(std::move(m), {Tensor::from_vector<uint8_t>({1, 2, 3, 0}, {2, 1, 2})});
  expect_tensor_eq(got[0], Tensor::from_vector<int8_t>({5, 0, 3, 4}, {2, 1, 2}), "y");
}

TEST(ReferenceQuant, DynamicQuantizeAllZerosUsesUnitScale) {
  Model m = one_node("DynamicQuantizeLinear", {"x"}, {}, input_info("x", DType::kF32, {3}),
                     {"y", "ys", "yz"}, 11);
  const auto got = run_reference(std::move(m), {Tensor::from_vector<float>({0, 0, 0}, {3})});
  expect_tensor_eq(got[0], Tensor::from_vector<uint8_t>({0, 0, 0}, {3}), "y");
  EXPECT_EQ(got[1].data<float>()[0], 1.0f);
  EXPECT_EQ(got[2].data<uint8_t>()[0], 0);
}

TEST(ReferenceQuant, PerAxisScaleOfWrongLengthIsInputError) {
  Model m =
      one_node("QuantizeLinear", {"x", "s"}, {{"s", Tensor::from_vector<float>({1.0f, 2.0f}, {2})}},
               input_info("x", DType::kF32, {2, 3}), {"y"}, 13, {int_attr("axis", 1)});
  try {
    run_reference(std::move(m), {Tensor(DType::kF32, {2, 3})});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("y_scale"), std::string::npos) << e.what();
  }
}

TEST(QuantCommon, RoundHalfEvenAndSaturate) {
  using rt::ref::round_half_even;
  EXPECT_EQ(round_half_even(0.5f), 0.0f);
  EXPECT_EQ(round_half_even(1.5f), 2.0f);
  EXPECT_EQ(round_half_even(2.5f), 2.0f);
  EXPECT_EQ(round_half_even(-2.5f), -2.0f);
  EXPECT_EQ(round_half_even(-3.5f), -4.0f);
  EXPECT_EQ(round_half_even(2.4999998f), 2.0f);
  EXPECT_EQ(round_half_even(-0.7f), -1.0f);
  EXPECT_EQ(rt::ref::saturate_cast<int8_t>(-200.0f), -128);
  EXPECT_EQ(rt::ref::saturate_cast<uint8_t>(256.0f), 255);
  EXPECT_EQ(rt::ref::saturate_cast<int8_t>(int64_t{1} << 40), 127);
  EXPECT_EQ(rt::ref::quantize_value<uint8_t>(3.0f, 2.0f, 128), 130);  // 1.5 → 2, + 128
}

}  // namespace
}  // namespace edgeopt
