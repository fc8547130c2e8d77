// The arm64 build against the x86 build on an int8 model (run by `make test-arm64` under qemu,
// tests/arm64.cmake): the FX int8 ResNet-18 exported by PyTorch (64x64 inputs,
// scripts/make_torchvision_fixtures.py --size 64 --fx-int8), run by the arm64 session's default
// providers, against the logits the x86 build's `edgeopt run` wrote for the same inputs with its
// default providers (onednn's int8 kernels) and with its reference provider
// (tests/arm64/x86_logits.sh).
//
// The bound is how closely x86's two providers agree with each other on the same inputs:
// the QDQ graph requantizes after each of its 20 convolutions, and a float rounding that lands
// on the other side of a .5 moves a value by one step, which the next layers carry on. Measured
// on 8 inputs: x86 onednn vs x86 reference 93.2% of the logits within one step, max 4 steps;
// so "within one step" holds for most logits, not all. The arm64 build must agree with each
// x86 output at least as well (share within one step no more than 1 point lower, max steps no
// higher), and its top class must score within one step of x86's best on all but one input.
//
// EDGEOPT_X86_DIR names the folder with inputs.npy, logits_reference.npy and
// logits_default.npy; EDGEOPT_FIXTURES_DIR the fixtures. The test fails (never skips) when one
// is missing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "edgeopt/data.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/session.h"
#include "fxq_fixture.h"

namespace fs = std::filesystem;

namespace {

constexpr int64_t kClasses = 1000;

struct Agreement {
  int64_t n = 0;
  int top1_same = 0;       // argmax equal
  int top1_within = 0;     // our top class scores within one step of x86's best, in x86's logits
  double within_step = 0;  // share of logits within one step
  double max_steps = 0;
};

Agreement compare(const edgeopt::Tensor& got, const edgeopt::Tensor& want, float step) {
  Agreement a;
  a.n = want.shape()[0];
  int64_t close = 0;
  for (int64_t i = 0; i < a.n; ++i) {
    const float* g = got.data<float>() + i * kClasses;
    const float* w = want.data<float>() + i * kClasses;
    const int64_t top_g = std::max_element(g, g + kClasses) - g;
    const int64_t top_w = std::max_element(w, w + kClasses) - w;
    a.top1_same += top_g == top_w;
    a.top1_within += w[top_g] >= w[top_w] - 1.01f * step;
    for (int64_t k = 0; k < kClasses; ++k) {
      const double steps = std::fabs(double(g[k]) - w[k]) / step;
      close += steps <= 1.01;
      a.max_steps = std::max(a.max_steps, steps);
    }
  }
  a.within_step = double(close) / double(a.n * kClasses);
  return a;
}

class Arm64Int8 : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* x86 = std::getenv("EDGEOPT_X86_DIR");
    ASSERT_NE(x86, nullptr) << "EDGEOPT_X86_DIR is unset (tests/arm64.cmake sets it)";
    x86_dir_ = x86;
    const fs::path model_path = edgeopt::testing::fixtures_dir() / "resnet18_fxq_op13.onnx";
    for (const fs::path& p : {model_path, x86_dir_ / "inputs.npy"})
      ASSERT_TRUE(fs::exists(p)) << p << " is missing";
    const edgeopt::Model model = edgeopt::load_model(model_path);
    step_ = edgeopt::testing::output_step(model);
    ASSERT_GT(step_, 0) << "no DequantizeLinear scale found for the output";
    const edgeopt::Tensor inputs = edgeopt::load_npy(x86_dir_ / "inputs.npy");
    ASSERT_EQ(inputs.shape().size(), 4u);
    ASSERT_GE(inputs.shape()[0], 2);

    edgeopt::SessionOptions opts;  // the default providers of this build
    opts.profile = true;
    edgeopt::Session session(model, opts);
    const std::vector<edgeopt::Tensor> out = session.run(std::vector<edgeopt::Tensor>{inputs});
    ASSERT_EQ(out.size(), 1u);
    got_ = out[0];
    ASSERT_EQ(got_.shape(), (std::vector<int64_t>{inputs.shape()[0], kClasses}));

    // Which provider ran which op: the record of where the int8 nodes ran.
    std::map<std::string, int> ran;
    for (const edgeopt::NodeProfile& p : session.profile())
      if (p.calls > 0) ++ran[p.provider + " " + p.op_type];
    std::string providers;
    for (const std::string& p : edgeopt::default_providers()) providers += " " + p;
    std::printf("this build's default providers:%s; nodes run:", providers.c_str());
    for (const auto& [what, count] : ran) std::printf(" %s x%d,", what.c_str(), count);
    std::printf("\n");
  }

  Agreement against(const char* file) {
    const edgeopt::Tensor want = edgeopt::load_npy(x86_dir_ / file);
    EXPECT_EQ(want.shape(), got_.shape()) << file;
    if (want.shape() != got_.shape()) return {};
    const Agreement a = compare(got_, want, step_);
    std::printf(
        "vs x86 %s (step %.4g): top-1 same %d/%lld, within one step %d/%lld; logits "
        "within one step %.4f, max %.2f steps\n",
        file, step_, a.top1_same, static_cast<long long>(a.n), a.top1_within,
        static_cast<long long>(a.n), a.within_step, a.max_steps);
    return a;
  }

  fs::path x86_dir_;
  float step_ = 0;
  edgeopt::Tensor got_;
};

// x86's own provider disagreement: the bound for the arm64 build.
Agreement x86_baseline(const fs::path& dir, float step) {
  const edgeopt::Tensor d = edgeopt::load_npy(dir / "logits_default.npy");
  const edgeopt::Tensor r = edgeopt::load_npy(dir / "logits_reference.npy");
  EXPECT_EQ(d.shape(), r.shape());
  if (d.shape() != r.shape()) return {};
  const Agreement a = compare(d, r, step);
  std::printf(
      "x86 default vs x86 reference: top-1 same %d/%lld; logits within one step %.4f, "
      "max %.2f steps\n",
      a.top1_same, static_cast<long long>(a.n), a.within_step, a.max_steps);
  return a;
}

void expect_as_close_as(const Agreement& a, const Agreement& bound) {
  ASSERT_GT(a.n, 0);
  ASSERT_EQ(a.n, bound.n);
  EXPECT_GE(a.top1_within, a.n - 1);
  EXPECT_GE(a.within_step, bound.within_step - 0.01);
  EXPECT_LE(a.max_steps, bound.max_steps + 0.01);
}

TEST_F(Arm64Int8, AgreesWithX86ReferenceAsX86ProvidersDo) {
  expect_as_close_as(against("logits_reference.npy"), x86_baseline(x86_dir_, step_));
}

TEST_F(Arm64Int8, AgreesWithX86DefaultProvidersAsX86ProvidersDo) {
  expect_as_close_as(against("logits_default.npy"), x86_baseline(x86_dir_, step_));
}

}  // namespace
