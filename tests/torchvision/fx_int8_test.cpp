// An int8 ResNet-18 made by PyTorch FX post-training quantization (engine onednn) and exported
// to ONNX as QuantizeLinear/DequantizeLinear around float ops
// (scripts/make_torchvision_fixtures.py), run by edgeopt's reference provider on 100 random
// inputs and compared with PyTorch's int8 kernels.
//
// The logits come out of a final DequantizeLinear, so they lie on a grid of step `scale`. With
// weights=None the 1000 logits are close together and PyTorch's top two are often one step
// apart or tied (5 exact ties in 100), so an exact top-1 match measures argmax tie-breaking more
// than the runtime: ONNX Runtime itself matches PyTorch's exact top-1 on only 88 of these 100.
// What is asserted instead: (1) edgeopt's top class scores, in PyTorch's logits, within one step
// of PyTorch's best, on >= 99% of inputs (a class PyTorch cannot tell apart from its top-1 at
// this precision); (2) >= 99% of all logits are within one step of PyTorch's; (3) no logit is
// more than 3 steps off. (ONNX Runtime on the same data: 98%, 99.4%, 2 steps.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "edgeopt/data.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/session.h"
#include "fxq_fixture.h"

namespace fs = std::filesystem;

namespace {

using edgeopt::testing::fixtures_dir;
using edgeopt::testing::output_step;

int64_t argmax(const float* p, int64_t n) { return std::max_element(p, p + n) - p; }

// Image i of an [N, C, H, W] batch, as a batch of one.
edgeopt::Tensor sample(const edgeopt::Tensor& batch, int64_t i) {
  const edgeopt::Shape& s = batch.shape();
  edgeopt::Tensor x(edgeopt::DType::kF32, {1, s[1], s[2], s[3]});
  std::memcpy(x.data<float>(), batch.data<float>() + i * x.numel(), x.numel() * sizeof(float));
  return x;
}

TEST(TorchvisionFxInt8, ReferenceAgreesWithPyTorchInt8) {
  const fs::path dir = fixtures_dir();
  const fs::path model_path = dir / "resnet18_fxq_op13.onnx";
  for (const char* f :
       {"resnet18_fxq_op13.onnx", "resnet18_fxq_inputs.npy", "resnet18_fxq_logits.npy"})
    if (!fs::exists(dir / f)) GTEST_SKIP() << dir / f << " is missing: run ctest -R make_fixtures";
  const edgeopt::Tensor inputs = edgeopt::load_npy(dir / "resnet18_fxq_inputs.npy");
  const edgeopt::Tensor want = edgeopt::load_npy(dir / "resnet18_fxq_logits.npy");
  ASSERT_EQ(inputs.shape().size(), 4u);
  const int64_t n = inputs.shape()[0];
  ASSERT_EQ(want.shape(), (std::vector<int64_t>{n, 1000}));

  const edgeopt::Model model = edgeopt::load_model(model_path);
  int quantize_nodes = 0;
  for (const auto& node : model.graph.nodes) quantize_nodes += node.op_type == "QuantizeLinear";
  ASSERT_GT(quantize_nodes, 10) << "the fixture is not a QDQ model";
  edgeopt::SessionOptions opts;
  opts.providers = {"reference"};
  edgeopt::Session session(model, opts);
  const float step = output_step(model);
  ASSERT_GT(step, 0) << "no DequantizeLinear scale found for the output";
  int exact = 0, within_step = 0;
  int64_t close = 0;
  double max_steps = 0;
  for (int64_t i = 0; i < n; ++i) {
    const edgeopt::Tensor x = sample(inputs, i);
    const std::vector<edgeopt::Tensor> got = session.run(std::vector<edgeopt::Tensor>{x});
    ASSERT_EQ(got.size(), 1u);
    ASSERT_EQ(got[0].numel(), 1000);
    const float* g = got[0].data<float>();
    const float* w = want.data<float>() + i * 1000;
    const int64_t top_g = argmax(g, 1000), top_w = argmax(w, 1000);
    exact += top_g == top_w;
    within_step += w[top_g] >= w[top_w] - 1.01f * step;
    for (int k = 0; k < 1000; ++k) {
      const double steps = std::fabs(g[k] - w[k]) / step;
      close += steps <= 1.01;
      max_steps = std::max(max_steps, steps);
    }
  }
  const double close_frac = double(close) / double(n * 1000);
  std::printf(
      "FX int8 resnet18 vs PyTorch int8 (step %.4g): exact top-1 %d/%lld, top-1 within "
      "one step %d/%lld, logits within one step %.4f, max %.2f steps\n",
      step, exact, static_cast<long long>(n), within_step, static_cast<long long>(n), close_frac,
      max_steps);
  EXPECT_GE(within_step, (99 * n + 99) / 100);
  EXPECT_GE(close_frac, 0.99);
  EXPECT_LE(max_steps, 3.01);
}

// The oneDNN provider's true int8 path (QConv / QGemm with fused requantization, u8 max pool)
// against the reference provider on the same FX model: top-1 agreement and logits within one
// step of the output DequantizeLinear. PyTorch's FX export keeps 8-bit weights; on AVX2 hosts
// without VNNI oneDNN's u8 × s8 pair sums (vpmaddubsw) can saturate int16 with them, which would
// show here as logits more than a step apart.
TEST(TorchvisionFxInt8, OnednnInt8MatchesReference) {
  const fs::path dir = fixtures_dir();
  for (const char* f : {"resnet18_fxq_op13.onnx", "resnet18_fxq_inputs.npy"})
    if (!fs::exists(dir / f)) GTEST_SKIP() << dir / f << " is missing: run ctest -R make_fixtures";
  const edgeopt::Tensor inputs = edgeopt::load_npy(dir / "resnet18_fxq_inputs.npy");
  const edgeopt::Model model = edgeopt::load_model(dir / "resnet18_fxq_op13.onnx");
  const float step = output_step(model);
  ASSERT_GT(step, 0);
  edgeopt::SessionOptions fast_opts, ref_opts;
  fast_opts.providers = {"onednn", "reference"};
  fast_opts.profile = true;
  ref_opts.providers = {"reference"};
  edgeopt::Session fast(model, fast_opts), ref(model, ref_opts);
  const int64_t n = 4;
  int agree = 0;
  int64_t close = 0;
  double max_steps = 0;
  for (int64_t i = 0; i < n; ++i) {
    const edgeopt::Tensor x = sample(inputs, i);
    const edgeopt::Tensor g = fast.run(std::vector<edgeopt::Tensor>{x})[0];
    const edgeopt::Tensor w = ref.run(std::vector<edgeopt::Tensor>{x})[0];
    ASSERT_EQ(g.numel(), 1000);
    agree += argmax(g.data<float>(), 1000) == argmax(w.data<float>(), 1000);
    for (int k = 0; k < 1000; ++k) {
      const double steps = std::fabs(g.data<float>()[k] - w.data<float>()[k]) / step;
      close += steps <= 1.01;
      max_steps = std::max(max_steps, steps);
    }
  }
  int qconv = 0, float_conv = 0;
  for (const edgeopt::NodeProfile& p : fast.profile()) {
    qconv += p.op_type == "QConv" && p.provider == "onednn";
    float_conv += p.op_type == "Conv";
  }
  const double close_frac = double(close) / double(n * 1000);
  std::printf(
      "FX int8 resnet18, onednn vs reference: top-1 %d/%lld, logits within one step "
      "%.4f, max %.2f steps, %d QConv\n",
      agree, static_cast<long long>(n), close_frac, max_steps, qconv);
  EXPECT_EQ(qconv, 20);
  EXPECT_EQ(float_conv, 0);
  EXPECT_GE(agree, n - 1);
  EXPECT_GE(close_frac, 0.99);
}

}  // namespace
