// The shared test library (tests/testing/) checked on its own: the tolerance policy accepts
// what is within atol + rtol * max|ref| and refuses everything else (shape, dtype, NaN, one
// element too far), random tensors repeat for a seed and stay in range, and the provider
// comparison fails when the provider ran nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "edgeopt/session.h"
#include "testing/model_builder.h"
#include "testing/provider_compare.h"
#include "testing/random.h"
#include "testing/tolerance.h"

namespace edgeopt {
namespace {

using test::random_tensor;
using test::tensors_close;
using test::Tolerance;

TEST(TestLibraryTolerance, BoundIsAtolPlusRtolTimesMaxRef) {
  const Tensor want = Tensor::from_vector<float>({1, -10, 0.5f}, {3});
  // max |ref| 10: bound 0.1 + 0.01 * 10 = 0.2.
  const Tolerance tol{0.1, 0.01};
  EXPECT_TRUE(tensors_close(Tensor::from_vector<float>({1.19f, -10, 0.5f}, {3}), want, "y", tol));
  EXPECT_FALSE(tensors_close(Tensor::from_vector<float>({1.21f, -10, 0.5f}, {3}), want, "y", tol));
  const test::Agreement a =
      test::agreement(Tensor::from_vector<float>({1, -10.5f, 0.5f}, {3}), want, tol);
  EXPECT_FALSE(a.ok);
  EXPECT_NEAR(a.max_diff, 0.5, 1e-6);
  EXPECT_NEAR(a.bound, 0.2, 1e-9);
  EXPECT_EQ(a.max_ref, 10);
}

TEST(TestLibraryTolerance, ShapeDtypeAndNanAreRefused) {
  const Tensor want = Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2});
  EXPECT_FALSE(tensors_close(want.reshaped({4}), want));
  EXPECT_FALSE(tensors_close(Tensor::from_vector<double>({1, 2, 3, 4}, {2, 2}), want));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor with_nan = Tensor::from_vector<float>({1, nan, 3, inf}, {2, 2});
  EXPECT_FALSE(tensors_close(with_nan, want));
  EXPECT_FALSE(tensors_close(want, with_nan));
  EXPECT_TRUE(tensors_close(with_nan, with_nan.clone()));
  EXPECT_FALSE(tensors_close(Tensor::from_vector<float>({1, nan, 3, -inf}, {2, 2}), with_nan));
}

TEST(TestLibraryTolerance, PerDtypeDefaults) {
  // int8 / uint8: one quantization step.
  const Tensor q = Tensor::from_vector<uint8_t>({0, 128, 255}, {3});
  EXPECT_TRUE(tensors_close(Tensor::from_vector<uint8_t>({1, 127, 255}, {3}), q));
  EXPECT_FALSE(tensors_close(Tensor::from_vector<uint8_t>({2, 128, 255}, {3}), q));
  EXPECT_TRUE(tensors_close(Tensor::from_vector<int8_t>({-128, 1}, {2}),
                            Tensor::from_vector<int8_t>({-127, 0}, {2})));
  // Other integers: exact, 64-bit ones beyond 2^53 too.
  const int64_t big = (int64_t{1} << 60) + 1;
  EXPECT_FALSE(tensors_close(Tensor::from_vector<int64_t>({big}, {1}),
                             Tensor::from_vector<int64_t>({big - 1}, {1})));
  EXPECT_FALSE(tensors_close(Tensor::from_vector<int32_t>({7}, {1}),
                             Tensor::from_vector<int32_t>({8}, {1})));
  // f32: 1e-4 relative.
  const Tensor f = Tensor::from_vector<float>({100, 1}, {2});
  EXPECT_TRUE(tensors_close(Tensor::from_vector<float>({100.009f, 1}, {2}), f));
  EXPECT_FALSE(tensors_close(Tensor::from_vector<float>({100.02f, 1}, {2}), f));
}

TEST(TestLibraryRandom, SeededAndInRange) {
  const Tensor a = random_tensor({3, 5, 7}, 42, -2.f, 3.f);
  EXPECT_TRUE(tensors_close(a, random_tensor({3, 5, 7}, 42, -2.f, 3.f), "same seed", {0, 0}));
  EXPECT_FALSE(tensors_close(a, random_tensor({3, 5, 7}, 43, -2.f, 3.f), "other seed", {0, 0}));
  for (int64_t i = 0; i < a.numel(); ++i) {
    EXPECT_GE(a.data<float>()[i], -2.f);
    EXPECT_LE(a.data<float>()[i], 3.f);
  }
  const Tensor q = random_tensor(DType::kI8, {1000}, 1, -300, 300);
  int64_t lo = 0, hi = 0;
  for (int64_t i = 0; i < q.numel(); ++i) {
    lo = std::min<int64_t>(lo, q.data<int8_t>()[i]);
    hi = std::max<int64_t>(hi, q.data<int8_t>()[i]);
  }
  EXPECT_EQ(lo, -128);  // clamped to the dtype's range, both ends reached
  EXPECT_EQ(hi, 127);
  EXPECT_EQ(random_tensor(DType::kF32, {0, 4}, 1).numel(), 0);
}

// A model the fast provider does not take at all: the comparison must fail on the node count.
TEST(TestLibraryProviderCompare, FailsWhenTheProviderRanNothing) {
  const std::string fast = default_providers().front();
  if (fast == "reference") GTEST_SKIP() << "no fast provider compiled in";
  test::ModelBuilder b(13, "sign");
  b.input("x", {2, 3});
  b.node("Sign", {"x"}, {"y"});  // no fast provider has Sign
  b.output("y");
  const Model m = b.build();
  const Tensor x = random_tensor({2, 3}, 1);
  EXPECT_FALSE(test::matches_reference(m, {x}, fast));
  test::CompareOptions none;
  none.min_provider_nodes = 0;
  EXPECT_TRUE(test::matches_reference(m, {x}, fast, none));
}

}  // namespace
}  // namespace edgeopt
