// Index helpers of the reference window kernels (Conv, ConvTranspose, MaxPool, AveragePool);
// the window geometry itself is runtime/ops/window.h, shared with the other providers.
#pragma once

#include <array>

#include "common.h"
#include "runtime/ops/window.h"

namespace edgeopt::rt::ref {

using namespace ::edgeopt::rt::ops;  // NOLINT: the window geometry reads as the reference's own
using SpatialIndex = std::array<int64_t, kMaxSpatial>;

// Product of dims.
inline int64_t prod(const Shape& s) {
  int64_t p = 1;
  for (int64_t d : s) p *= d;
  return p;
}

// Multi-index of flat position `p` in `dims` (row-major).
inline void unravel(int64_t p, const Shape& dims, SpatialIndex& idx) {
  for (int d = static_cast<int>(dims.size()) - 1; d >= 0; --d) {
    idx[d] = p % dims[d];
    p /= dims[d];
  }
}

// Advances a row-major multi-index; returns false after the last one.
inline bool next_index(const Shape& dims, SpatialIndex& idx) {
  for (int d = static_cast<int>(dims.size()) - 1; d >= 0; --d) {
    if (++idx[d] < dims[d]) return true;
    idx[d] = 0;
  }
  return false;
}

}  // namespace edgeopt::rt::ref
