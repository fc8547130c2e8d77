// Low-rank factorization tests on a small MLP and a conv: the relative
// reconstruction error reported must equal sqrt(Σ dropped σ² / Σ σ²) computed
// by numpy's SVD (/usr/bin/python3) on the original weights; MACs must fall;
// outputs must stay close.
#include "edgeopt/lowrank.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>

#include "edgeopt/error.h"
#include "edgeopt/inspect.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/session.h"
#include "testing/model_builder.h"
#include "testing/random.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;

// rows×cols matrix of rank `rank` plus small noise: a spectrum with a clear
// knee, as trained layers have.
Tensor low_rank_plus_noise(int64_t rows, int64_t cols, int64_t rank, float noise, Shape shape,
                           std::mt19937 &rng) {
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> a(rows * rank), b(rank * cols);
  for (float &v : a) v = d(rng);
  for (float &v : b) v = d(rng);
  Tensor t(DType::kF32, std::move(shape));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      double s = 0;
      for (int64_t k = 0; k < rank; ++k) s += a[i * rank + k] * b[k * cols + j];
      t.data<float>()[i * cols + j] =
          static_cast<float>(s / std::sqrt(double(rank))) + noise * d(rng);
    }
  return t;
}

// An opset-13 model `name` without nodes yet, input x and output y of these shapes.
Model io_model(const std::string &name, const Shape &x, const Shape &y) {
  Model m;
  m.opset_imports = {{"", 13}};
  m.graph.name = name;
  m.graph.inputs = {test::value_info("x", x)};
  m.graph.outputs = {test::value_info("y", y)};
  return m;
}

// x[4,96] → Gemm(W1ᵀ: [64,96], transB) → Relu → MatMul(W2: [64,80]) → Add(b2) →
// y[4,80].
Model mlp() {
  std::mt19937 rng(11);
  Model m = io_model("mlp", {4, 96}, {4, 80});
  Graph &g = m.graph;
  g.add_initializer("w1", low_rank_plus_noise(64, 96, 6, 0.05f, {64, 96}, rng));
  g.add_initializer("b1", test::normal_tensor({64}, 1.0f, rng));
  g.add_initializer("w2", low_rank_plus_noise(64, 80, 10, 0.05f, {64, 80}, rng));
  g.add_initializer("b2", test::normal_tensor({80}, 1.0f, rng));
  Node fc1 = test::make_node("fc1", "Gemm", {"x", "w1", "b1"}, {"h"});
  fc1.set_attr_int("transB", 1);
  g.nodes = {fc1, test::make_node("relu", "Relu", {"h"}, {"r"}),
             test::make_node("fc2", "MatMul", {"r", "w2"}, {"m"}),
             test::make_node("bias2", "Add", {"m", "b2"}, {"y"})};
  return m;
}

// x[1,16,10,10] → Conv 3x3 (32 filters, pads 1, stride 2, bias) → y.
Model conv_model() {
  std::mt19937 rng(5);
  Model m = io_model("conv", {1, 16, 10, 10}, {1, 32, 5, 5});
  Graph &g = m.graph;
  g.add_initializer("w", low_rank_plus_noise(32, 16 * 9, 5, 0.02f, {32, 16, 3, 3}, rng));
  g.add_initializer("b", test::normal_tensor({32}, 1.0f, rng));
  Node c = test::make_node("conv", "Conv", {"x", "w", "b"}, {"y"});
  c.set_attr_ints("pads", {1, 1, 1, 1});
  c.set_attr_ints("strides", {2, 2});
  g.nodes = {c};
  return m;
}

// numpy's sqrt(Σ_{i≥r} σ_i² / Σ σ_i²) for the rank-2 view of each initializer
// at `ranks`.
std::map<std::string, double> numpy_errors(const fs::path &model,
                                           const std::map<std::string, int64_t> &ranks,
                                           const std::map<std::string, bool> &transpose) {
  std::ostringstream script;
  script << "import onnx, numpy as np\nfrom onnx import numpy_helper\n"
         << "m = onnx.load('" << model.string() << "')\n"
         << "w = {i.name: numpy_helper.to_array(i) for i in "
            "m.graph.initializer}\n";
  for (const auto &[name, r] : ranks) {
    script << "a = w['" << name << "'].astype(np.float64)\na = a.reshape(a.shape[0], -1)\n";
    if (transpose.at(name)) script << "a = a.T\n";
    script << "s = np.linalg.svd(a, compute_uv=False)\n"
           << "print('" << name << "', np.sqrt((s[" << r << ":] ** 2).sum() / (s ** 2).sum()))\n";
  }
  const fs::path py = model.parent_path() / "svd.py";
  FILE *f = std::fopen(py.c_str(), "w");
  std::fputs(script.str().c_str(), f);
  std::fclose(f);
  std::map<std::string, double> out;
  FILE *p = ::popen(("/usr/bin/python3 " + py.string() + " 2>/dev/null").c_str(), "r");
  if (!p) return out;
  char name[256];
  double v;
  while (std::fscanf(p, "%255s %lf", name, &v) == 2) out[name] = v;
  ::pclose(p);
  return out;
}

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("edgeopt_lowrank_test_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

Tensor fixed_input(Shape shape) {
  std::mt19937 rng(2);
  return test::normal_tensor(std::move(shape), 1.0f, rng);
}

double relative_diff(const Tensor &a, const Tensor &b) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double d = double(a.data<float>()[i]) - b.data<float>()[i];
    num += d * d;
    den += double(b.data<float>()[i]) * b.data<float>()[i];
  }
  return std::sqrt(num / den);
}

TEST(LowRank, MlpErrorMatchesNumpySvdAndMacsFall) {
  const fs::path dir = temp_dir();
  const Model original = mlp();
  save_model(original, dir / "mlp.onnx");
  Model m = original;
  LowRankOptions o;
  o.energy = 0.9;
  const LowRankReport r = factorize_lowrank(m, o);
  ASSERT_EQ(r.layers.size(), 2u);
  std::map<std::string, int64_t> ranks;
  for (const LowRankLayer &l : r.layers) {
    EXPECT_TRUE(l.applied) << l.node << ": " << l.skipped;
    EXPECT_GE(l.rank, 1);
    EXPECT_LE(l.rank,
              10);  // the planted rank (6 and 10) holds > 90% of the energy
    EXPECT_LT(l.macs_after, l.macs_before);
    ranks[l.node == "fc1" ? "w1" : "w2"] = l.rank;
  }
  const auto expected = numpy_errors(dir / "mlp.onnx", ranks, {{"w1", true}, {"w2", false}});
  if (expected.size() != 2u) GTEST_SKIP() << "numpy/onnx not available in /usr/bin/python3";
  for (const LowRankLayer &l : r.layers) {
    const double want = expected.at(l.node == "fc1" ? "w1" : "w2");
    EXPECT_NEAR(l.rel_error, want, 1e-4 + 1e-3 * want) << l.node;
    EXPECT_LT(l.rel_error, std::sqrt(1 - 0.9) + 1e-9) << l.node;
  }
  save_model(m, dir / "mlp_lr.onnx");
  const Model reloaded = load_model(dir / "mlp_lr.onnx");
  EXPECT_LT(inspect_model(reloaded, 1).macs, inspect_model(original, 1).macs);
  const Tensor x = fixed_input({4, 96});
  const Tensor want = Session(original).run({x})[0];
  const Tensor got = Session(reloaded).run({x})[0];
  ASSERT_EQ(got.shape(), want.shape());
  // Two layers each off by up to sqrt(0.1) ≈ 0.32; at 99.9% energy the output
  // is close.
  EXPECT_LT(relative_diff(got, want), 0.6);
  Model fine = original;
  LowRankOptions o2;
  o2.energy = 0.999;
  factorize_lowrank(fine, o2);
  EXPECT_LT(relative_diff(Session(fine).run({x})[0], want), 0.05);
  fs::remove_all(dir);
}

TEST(LowRank, ConvBecomesKxKThenPointwiseWithTheSameOutput) {
  const fs::path dir = temp_dir();
  const Model original = conv_model();
  Model m = original;
  LowRankOptions o;
  o.rank_ratio = 8.0 / 32.0;  // r = 8 > the planted rank 5
  const LowRankReport r = factorize_lowrank(m, o);
  ASSERT_EQ(r.layers.size(), 1u);
  const LowRankLayer &l = r.layers[0];
  ASSERT_TRUE(l.applied) << l.skipped;
  EXPECT_EQ(l.rank, 8);
  EXPECT_EQ(l.macs_before, 32 * 16 * 9);
  EXPECT_EQ(l.macs_after, 8 * 16 * 9 + 32 * 8);
  ASSERT_EQ(m.graph.nodes.size(), 2u);
  EXPECT_EQ(m.graph.nodes[1].attr_ints("kernel_shape"), (std::vector<int64_t>{1, 1}));
  save_model(m, dir / "conv_lr.onnx");
  const Model reloaded = load_model(dir / "conv_lr.onnx");
  const Tensor x = fixed_input({1, 16, 10, 10});
  const Tensor want = Session(original).run({x})[0];
  const Tensor got = Session(reloaded).run({x})[0];
  ASSERT_EQ(got.shape(), want.shape());
  // The weights are rank 5 plus 2% noise: rank 8 leaves about the noise.
  EXPECT_LT(l.rel_error, 0.05);
  EXPECT_LT(relative_diff(got, want), 0.05);
  fs::remove_all(dir);
}

TEST(LowRank, FullRankIsNotFactorizedAndOptionsAreChecked) {
  Model m = mlp();
  LowRankOptions o;
  o.rank_ratio = 1.0;
  const LowRankReport r = factorize_lowrank(m, o);
  for (const LowRankLayer &l : r.layers) EXPECT_FALSE(l.applied);
  EXPECT_EQ(m.graph.nodes.size(), 4u);
  LowRankOptions both;
  both.energy = 0.9;
  both.rank_ratio = 0.5;
  EXPECT_THROW(factorize_lowrank(m, both), Error);
}

}  // namespace
}  // namespace edgeopt
