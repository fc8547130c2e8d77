// Seeded random tensors for tests: the same seed gives the same values on every run and host.
#pragma once

#include <cstdint>
#include <random>

#include "edgeopt/tensor.h"

namespace edgeopt::test {

// Values uniform in [lo, hi] (floating dtypes), or integers in [lo, hi] rounded and clamped to
// the dtype's range (integer dtypes); bool is true with probability one half.
Tensor random_tensor(DType dtype, Shape shape, uint32_t seed, double lo = -1, double hi = 1);
// The common case: f32.
Tensor random_tensor(Shape shape, uint32_t seed, float lo = -1.f, float hi = 1.f);
// f32 values drawn from N(0, stddev²) with the caller's generator, for a test that draws all
// its tensors from one stream.
Tensor normal_tensor(Shape shape, float stddev, std::mt19937& rng);

}  // namespace edgeopt::test
