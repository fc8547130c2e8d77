// The reference provider's element-wise kernels on hand-computed cases, for semantics the ONNX
// backend node tests (run by tools/conformance, ctest onnx_conformance*) do not reach: legacy
// broadcasting, integer division by zero, rounding of double → half, ...
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "edgeopt/error.h"
#include "edgeopt/session.h"
#include "testing/model_builder.h"

namespace edgeopt {
namespace {

struct In {
  std::string name;
  Tensor value;
};

// Runs a one-node model `op` (default domain, `opset`) on the given inputs on the reference
// provider and returns its single output.
Tensor run_op(const std::string& op, int64_t opset, const std::vector<In>& inputs,
              const std::vector<Attribute>& attrs = {}) {
  Model m;
  m.opset_imports = {{"", opset}};
  Node n;
  n.name = "n";
  n.op_type = op;
  n.attributes = attrs;
  std::vector<Tensor> feed;
  for (const In& in : inputs) {
    ValueInfo v;
    v.name = in.name;
    v.dtype = in.value.dtype();
    v.has_shape = true;
    for (int64_t d : in.value.shape()) v.dims.push_back(Dim{d, ""});
    m.graph.inputs.push_back(v);
    n.inputs.push_back(in.name);
    feed.push_back(in.value);
  }
  n.outputs = {"y"};
  m.graph.nodes.push_back(n);
  ValueInfo y;
  y.name = "y";
  m.graph.outputs.push_back(y);
  Session s(std::move(m), SessionOptions{.providers = {"reference"}});
  return s.run(feed).at(0);
}

using test::float_attr;
using test::int_attr;

template <class T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

TEST(ReferenceElementwise, LegacyBroadcastAlignsBAtAxis) {
  // Opset 6: B (3) broadcast over A (2x3x2) along axis 1: y[i][j][k] = a[i][j][k] + b[j].
  Tensor a = Tensor::from_vector<float>(std::vector<float>(12, 1.0f), {2, 3, 2});
  Tensor b = Tensor::from_vector<float>({10, 20, 30}, {3});
  Tensor y =
      run_op("Add", 6, {{"a", a}, {"b", b}}, {int_attr("broadcast", 1), int_attr("axis", 1)});
  EXPECT_EQ(y.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{11, 11, 21, 21, 31, 31, 11, 11, 21, 21, 31, 31}));
  // Without broadcast=1 the shapes must match.
  EXPECT_THROW(run_op("Add", 6, {{"a", a}, {"b", b}}), Error);
}

TEST(ReferenceElementwise, IntegerDivTruncatesAndSurvivesZero) {
  Tensor a = Tensor::from_vector<int32_t>({-7, 7, -7, 5, std::numeric_limits<int32_t>::min()}, {5});
  Tensor b = Tensor::from_vector<int32_t>({2, -2, -2, 0, -1}, {5});
  EXPECT_EQ(values<int32_t>(run_op("Div", 14, {{"a", a}, {"b", b}})),
            (std::vector<int32_t>{-3, -3, 3, 0, std::numeric_limits<int32_t>::min()}));
}

TEST(ReferenceElementwise, ModFollowsDivisorSignUnlessFmod) {
  Tensor a = Tensor::from_vector<int64_t>({-4, 4, -4, 4}, {4});
  Tensor b = Tensor::from_vector<int64_t>({3, -3, -3, 0}, {4});
  EXPECT_EQ(values<int64_t>(run_op("Mod", 13, {{"a", a}, {"b", b}})),
            (std::vector<int64_t>{2, -2, -1, 0}));
  EXPECT_EQ(values<int64_t>(run_op("Mod", 13, {{"a", a}, {"b", b}}, {int_attr("fmod", 1)})),
            (std::vector<int64_t>{-1, 1, -1, 0}));
  Tensor f = Tensor::from_vector<float>({1.5f}, {1});
  EXPECT_THROW(run_op("Mod", 13, {{"a", f}, {"b", f}}), Error);  // floats need fmod=1
}

TEST(ReferenceElementwise, RoundHalfToEven) {
  Tensor x = Tensor::from_vector<float>({0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f}, {6});
  EXPECT_EQ(values<float>(run_op("Round", 11, {{"x", x}})),
            (std::vector<float>{0, 2, 2, -0.0f, -2, 2}));
}

TEST(ReferenceElementwise, ClipUsesAttributesBeforeOpset11) {
  Tensor x = Tensor::from_vector<float>({-3, -0.5f, 0.5f, 3}, {4});
  EXPECT_EQ(
      values<float>(run_op("Clip", 6, {{"x", x}}, {float_attr("min", -1), float_attr("max", 1)})),
      (std::vector<float>{-1, -0.5f, 0.5f, 1}));
  // Opset 11: bounds are inputs; lo > hi gives hi everywhere.
  Tensor lo = Tensor::scalar<float>(2), hi = Tensor::scalar<float>(1);
  EXPECT_EQ(values<float>(run_op("Clip", 11, {{"x", x}, {"lo", lo}, {"hi", hi}})),
            (std::vector<float>{1, 1, 1, 1}));
}

TEST(ReferenceElementwise, CastRoundsDoubleToHalfOnce) {
  // 1 + 2^-11 + 2^-40 lies just above the midpoint of halves 1 and 1 + 2^-10, so it rounds up;
  // rounding through float first would land on the midpoint and round to even (down).
  const double v = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
  Tensor x = Tensor::from_vector<double>({v, 1.0 + std::ldexp(1.0, -11)}, {2});
  Tensor y = run_op("Cast", 13, {{"x", x}}, {int_attr("to", static_cast<int64_t>(DType::kF16))});
  ASSERT_EQ(y.dtype(), DType::kF16);
  EXPECT_EQ(y.data<uint16_t>()[0], 0x3c01);
  EXPECT_EQ(y.data<uint16_t>()[1], 0x3c00);  // the exact midpoint rounds to even
}

TEST(ReferenceElementwise, CastFloatToIntTruncatesAndSaturates) {
  Tensor x = Tensor::from_vector<float>({2.7f, -2.7f, 1e10f, -1e10f, NAN}, {5});
  Tensor y = run_op("Cast", 13, {{"x", x}}, {int_attr("to", static_cast<int64_t>(DType::kI32))});
  EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{2, -2, std::numeric_limits<int32_t>::max(),
                                                      std::numeric_limits<int32_t>::min(), 0}));
  Tensor w = Tensor::from_vector<int32_t>({300, -1}, {2});
  Tensor u = run_op("Cast", 13, {{"x", w}}, {int_attr("to", static_cast<int64_t>(DType::kU8))});
  EXPECT_EQ(values<uint8_t>(u), (std::vector<uint8_t>{44, 255}));  // integers wrap
}

TEST(ReferenceElementwise, IntegerPowIsExact) {
  Tensor b = Tensor::from_vector<int64_t>({3, 2, -1, 1, 3037000499}, {5});
  Tensor e = Tensor::from_vector<int64_t>({4, -1, -3, -5, 2}, {5});
  EXPECT_EQ(values<int64_t>(run_op("Pow", 15, {{"b", b}, {"e", e}})),
            (std::vector<int64_t>{81, 0, -1, 1, 3037000499LL * 3037000499LL}));
}

TEST(ReferenceElementwise, VariadicBroadcastsAndPropagatesNaN) {
  Tensor a = Tensor::from_vector<float>({1, NAN, 3}, {3});
  Tensor b = Tensor::from_vector<float>({2, 0}, {2, 1});
  Tensor y = run_op("Max", 13, {{"a", a}, {"b", b}});
  ASSERT_EQ(y.shape(), (Shape{2, 3}));
  const std::vector<float> v = values<float>(y);
  EXPECT_EQ(v[0], 2);
  EXPECT_TRUE(std::isnan(v[1]));
  EXPECT_EQ(v[2], 3);
  EXPECT_EQ(v[3], 1);
  Tensor m = run_op("Mean", 13,
                    {{"a", Tensor::from_vector<float>({1, 2}, {2})},
                     {"b", Tensor::from_vector<float>({3}, {1})},
                     {"c", Tensor::from_vector<float>({5, 7}, {2})}});
  EXPECT_EQ(values<float>(m), (std::vector<float>{3, 4}));
}

TEST(ReferenceElementwise, BadInputsNameTheNode) {
  Tensor a = Tensor::from_vector<float>({1, 2}, {2});
  Tensor b = Tensor::from_vector<int32_t>({1, 2}, {2});
  try {
    run_op("Add", 14, {{"a", a}, {"b", b}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'n' (Add)"), std::string::npos) << e.what();
  }
  Tensor c = Tensor::from_vector<float>({1, 2, 3}, {3});
  EXPECT_THROW(run_op("Mul", 14, {{"a", a}, {"c", c}}), Error);
}

}  // namespace
}  // namespace edgeopt
