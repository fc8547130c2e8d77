// The one tolerance policy of the tests: `got` agrees with `want` (the reference) when
//   max |got - want| <= atol + rtol * max |want|
// over all elements, with equal shapes and dtypes; NaN agrees with NaN only, an infinity with
// the same infinity only. Per-dtype defaults (default_tolerance): f32 rtol 1e-4 + atol 1e-6
// (float sums in another order, FMA, vector exp/tanh approximations), f64 1e-10 + 1e-12, f16
// 2e-3 + 1e-3 and bf16 1.6e-2 + 1e-2 (two rounding steps of each type's precision), int8/uint8
// one quantization step (a requantized value may round the other way), every other integer and
// bool exact.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "edgeopt/tensor.h"

namespace edgeopt::test {

struct Tolerance {
  double atol = 0;
  double rtol = 0;
};

Tolerance default_tolerance(DType dtype);

struct Agreement {
  bool ok = false;
  double max_diff = 0;  // max |got - want| over finite pairs
  double max_ref = 0;   // max |want| over finite elements
  double bound = 0;     // atol + rtol * max_ref
  std::string detail;   // why not, when !ok ("shape 2x3 vs 3x2", "element 4: nan vs 1.5", ...)
};

Agreement agreement(const Tensor& got, const Tensor& want, Tolerance tol);
inline Agreement agreement(const Tensor& got, const Tensor& want) {
  return agreement(got, want, default_tolerance(want.dtype()));
}

// For EXPECT_TRUE / ASSERT_TRUE: the message names `what` and gives the numbers.
::testing::AssertionResult tensors_close(const Tensor& got, const Tensor& want,
                                         const std::string& what, Tolerance tol);
::testing::AssertionResult tensors_close(const Tensor& got, const Tensor& want,
                                         const std::string& what = "output");

}  // namespace edgeopt::test
