// The reference provider's compute-heavy kernels (Conv, MatMul, LpNormalization) against naive
// loops written here, for what the ONNX backend tests (run by tools/conformance, ctest
// onnx_conformance*) do not reach: f64, many channels, im2col chunking, 1-D MatMul operands,
// LpNormalization.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "edgeopt/error.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/session.h"
#include "ir/onnx_proto_utils.h"
#include "testing/model_builder.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;

// |got - want| <= atol + rtol * |want| for floats (NaN matches NaN); integers exactly.
void expect_close(const Tensor& got, const Tensor& want, const std::string& what,
                  double rtol = 1e-3, double atol = 1e-5) {
  ASSERT_EQ(dtype_name(got.dtype()), std::string(dtype_name(want.dtype()))) << what;
  ASSERT_EQ(shape_str(got.shape()), shape_str(want.shape())) << what;
  int reported = 0;
  for (int64_t i = 0; i < want.numel() && reported < 5; ++i) {
    bool ok;
    if (dtype_is_float(want.dtype())) {
      const double g = got.get_f64(i), w = want.get_f64(i);
      ok = (std::isnan(g) && std::isnan(w)) || g == w ||
           std::abs(g - w) <= atol + rtol * std::abs(w);
    } else {
      ok = got.get_i64(i) == want.get_i64(i);
    }
    if (!ok) {
      ++reported;
      ADD_FAILURE() << what << " element " << i << ": got " << got.get_f64(i) << ", want "
                    << want.get_f64(i);
    }
  }
}

// A one-node model: inputs named x0, x1, ... with the given tensors' dtypes and shapes.
Model one_node(const std::string& op, const std::vector<Tensor>& inputs,
               std::vector<Attribute> attrs = {}, int64_t opset = 17) {
  Model m;
  m.opset_imports = {{"", opset}};
  Node n;
  n.op_type = op;
  n.name = op + "_0";
  for (size_t i = 0; i < inputs.size(); ++i) {
    ValueInfo v;
    v.name = "x" + std::to_string(i);
    v.dtype = inputs[i].dtype();
    v.has_shape = true;
    for (int64_t d : inputs[i].shape()) v.dims.push_back(Dim{d, ""});
    m.graph.inputs.push_back(v);
    n.inputs.push_back(v.name);
  }
  n.outputs = {"y"};
  n.attributes = std::move(attrs);
  m.graph.nodes.push_back(n);
  ValueInfo y;
  y.name = "y";
  y.dtype = inputs[0].dtype();
  m.graph.outputs.push_back(y);
  return m;
}

using test::int_attr;
using test::ints_attr;

template <class T>
Tensor random_tensor(Shape shape, std::mt19937& rng) {
  Tensor t(dtype_of<T>::value, std::move(shape));
  std::uniform_real_distribution<double> u(-1, 1);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<T>()[i] = static_cast<T>(u(rng));
  return t;
}

// Naive 2-D convolution straight from the definition, summed in double.
Tensor naive_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int64_t group,
                    const std::vector<int64_t>& s, const std::vector<int64_t>& d,
                    const std::vector<int64_t>& pads) {
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
  const int64_t m = w.dim(0), cg = w.dim(1), kh = w.dim(2), kw = w.dim(3);
  const int64_t oh = (h + pads[0] + pads[2] - (kh - 1) * d[0] - 1) / s[0] + 1;
  const int64_t ow = (wd + pads[1] + pads[3] - (kw - 1) * d[1] - 1) / s[1] + 1;
  Tensor y(x.dtype(), {n, m, oh, ow});
  const int64_t mg = m / group;
  int64_t p = 0;
  for (int64_t in = 0; in < n; ++in)
    for (int64_t om = 0; om < m; ++om)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox, ++p) {
          double acc = b.get_f64(om);
          const int64_t g = om / mg;
          for (int64_t ic = 0; ic < cg; ++ic)
            for (int64_t ky = 0; ky < kh; ++ky)
              for (int64_t kx = 0; kx < kw; ++kx) {
                const int64_t iy = oy * s[0] - pads[0] + ky * d[0];
                const int64_t ix = ox * s[1] - pads[1] + kx * d[1];
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                acc += x.get_f64(((in * c + g * cg + ic) * h + iy) * wd + ix) *
                       w.get_f64(((om * cg + ic) * kh + ky) * kw + kx);
              }
          if (y.dtype() == DType::kF32)
            y.data<float>()[p] = static_cast<float>(acc);
          else
            y.data<double>()[p] = acc;
        }
  return y;
}

template <class T>
void check_conv(Shape x_shape, int64_t m, int64_t k, int64_t group, std::vector<int64_t> s,
                std::vector<int64_t> d, std::vector<int64_t> pads, double rtol, double atol) {
  std::mt19937 rng(42);
  const Tensor x = random_tensor<T>(x_shape, rng);
  const Tensor wt = random_tensor<T>({m, x_shape[1] / group, k, k}, rng);
  const Tensor b = random_tensor<T>({m}, rng);
  Session session(one_node("Conv", {x, wt, b},
                           {ints_attr("strides", s), ints_attr("dilations", d),
                            ints_attr("pads", pads), int_attr("group", group)}),
                  SessionOptions{.providers = {"reference"}});
  expect_close(session.run(std::vector<Tensor>{x, wt, b})[0],
               naive_conv2d(x, wt, b, group, s, d, pads), "conv", rtol, atol);
}

TEST(ReferenceConv, ManyChannelsChunkedIm2colMatchesNaive) {
  // K = 64 * 9 = 576 rows and 48 * 48 outputs: more than one im2col chunk. Sums of 576 f32
  // products carry ~1e-5 absolute rounding against the double naive sum.
  check_conv<float>({1, 64, 48, 48}, 20, 3, 1, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1e-4, 1e-4);
}

TEST(ReferenceConv, F64GroupedDilatedAsymmetricPadsMatchesNaive) {
  check_conv<double>({2, 6, 11, 9}, 9, 3, 3, {2, 1}, {2, 1}, {1, 0, 2, 3}, 1e-12, 1e-12);
}

TEST(ReferenceConv, PointwiseDirectPathMatchesNaive) {
  check_conv<float>({2, 13, 7, 5}, 10, 1, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1e-5, 1e-5);
}

TEST(ReferenceConv, RejectsChannelMismatch) {
  std::mt19937 rng(1);
  const Tensor x = random_tensor<float>({1, 4, 5, 5}, rng);
  const Tensor w = random_tensor<float>({2, 3, 3, 3}, rng);
  try {
    Session session(one_node("Conv", {x, w}), SessionOptions{.providers = {"reference"}});
    session.run(std::vector<Tensor>{x, w});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("Conv_0"), std::string::npos) << e.what();
  }
}

TEST(ReferenceMatMul, OneDimOperandsAndBatchBroadcast) {
  std::mt19937 rng(7);
  // [2, 1, 3, 4] x [5, 4, 2] -> [2, 5, 3, 2]
  const Tensor a = random_tensor<float>({2, 1, 3, 4}, rng);
  const Tensor b = random_tensor<float>({5, 4, 2}, rng);
  Session s(one_node("MatMul", {a, b}), SessionOptions{.providers = {"reference"}});
  const Tensor y = s.run(std::vector<Tensor>{a, b})[0];
  ASSERT_EQ(y.shape(), (Shape{2, 5, 3, 2}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 5; ++j)
      for (int64_t r = 0; r < 3; ++r)
        for (int64_t c = 0; c < 2; ++c) {
          double acc = 0;
          for (int64_t k = 0; k < 4; ++k)
            acc += a.get_f64((i * 3 + r) * 4 + k) * b.get_f64((j * 4 + k) * 2 + c);
          EXPECT_NEAR(y.get_f64(((i * 5 + j) * 3 + r) * 2 + c), acc, 1e-5);
        }
  // [4] x [3, 4, 2] -> [3, 2]
  const Tensor v = Tensor::from_vector<float>({1, 2, 3, 4}, {4});
  const Tensor m = random_tensor<float>({3, 4, 2}, rng);
  Session s1(one_node("MatMul", {v, m}), SessionOptions{.providers = {"reference"}});
  const Tensor y1 = s1.run(std::vector<Tensor>{v, m})[0];
  ASSERT_EQ(y1.shape(), (Shape{3, 2}));
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t c = 0; c < 2; ++c) {
      double acc = 0;
      for (int64_t k = 0; k < 4; ++k) acc += (k + 1) * m.get_f64((i * 4 + k) * 2 + c);
      EXPECT_NEAR(y1.get_f64(i * 2 + c), acc, 1e-5);
    }
  // [3, 4, 2] x [2] -> [3, 4]
  const Tensor u = Tensor::from_vector<float>({2, -1}, {2});
  Session s2(one_node("MatMul", {m, u}), SessionOptions{.providers = {"reference"}});
  const Tensor y2 = s2.run(std::vector<Tensor>{m, u})[0];
  ASSERT_EQ(y2.shape(), (Shape{3, 4}));
  for (int64_t i = 0; i < 12; ++i)
    EXPECT_NEAR(y2.get_f64(i), 2 * m.get_f64(i * 2) - m.get_f64(i * 2 + 1), 1e-6);
}

TEST(ReferenceLpNormalization, L1AndL2AlongAxis) {
  const Tensor x = Tensor::from_vector<float>({3, 4, 0, -6, 8, 0}, {2, 3});
  Session l2(one_node("LpNormalization", {x}, {int_attr("axis", 0)}, 1),
             SessionOptions{.providers = {"reference"}});
  // Columns (3, -6), (4, 8), (0, 0): norms sqrt(45), sqrt(80), 0 (a zero vector stays zero).
  const Tensor y2 = l2.run(std::vector<Tensor>{x})[0];
  const double n0 = std::sqrt(45.0), n1 = std::sqrt(80.0);
  const std::vector<double> want2 = {3 / n0, 4 / n1, 0, -6 / n0, 8 / n1, 0};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(y2.get_f64(i), want2[i], 1e-6);
  Session l1(one_node("LpNormalization", {x}, {int_attr("p", 1)}, 1),
             SessionOptions{.providers = {"reference"}});
  // Rows: |3| + |4| + 0 = 7 and |-6| + 8 + 0 = 14.
  const Tensor y1 = l1.run(std::vector<Tensor>{x})[0];
  const std::vector<double> want1 = {3 / 7.0, 4 / 7.0, 0, -6 / 14.0, 8 / 14.0, 0};
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(y1.get_f64(i), want1[i], 1e-6);
}

// Times a whole CNN on the reference provider (a measurement, not part of the suite): runs only
// when EDGEOPT_RESNET18 names a torchvision ResNet-18 exported to ONNX with a 1x3x224x224 input,
// e.g. scripts/make_torchvision_fixtures.py's resnet18_op13.onnx. When resnet18_input.pb and
// resnet18_output.pb (PyTorch's output) lie beside it, the output is compared too.
TEST(ReferenceConv, ResNet18Timing) {
  const char* path = std::getenv("EDGEOPT_RESNET18");
  if (!path) GTEST_SKIP() << "set EDGEOPT_RESNET18 to a resnet18 .onnx to time it";
  Session s(load_model(path), SessionOptions{.providers = {"reference"}});
  const fs::path dir = fs::path(path).parent_path();
  const bool have_io =
      fs::exists(dir / "resnet18_input.pb") && fs::exists(dir / "resnet18_output.pb");
  std::mt19937 rng(3);
  const Tensor x = have_io ? load_tensor_pb(dir / "resnet18_input.pb")
                           : random_tensor<float>({1, 3, 224, 224}, rng);
  s.run(std::vector<Tensor>{x});
  const auto t0 = std::chrono::steady_clock::now();
  const Tensor y = s.run(std::vector<Tensor>{x})[0];
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("resnet18 reference run: %.1f ms\n", ms);
  EXPECT_EQ(y.numel(), 1000);
  EXPECT_LT(ms, 5000);
  if (have_io) expect_close(y, load_tensor_pb(dir / "resnet18_output.pb"), "resnet18", 1e-3, 1e-4);
}

}  // namespace
}  // namespace edgeopt
