// Shared helpers of the reference kernels: broadcasting, axis handling, dtype dispatch.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "../kernel.h"

namespace edgeopt::rt::ref {

inline constexpr const char* kProvider = "reference";

// Numpy-style broadcast of two or more shapes; throws Error on mismatch.
Shape broadcast_shapes(const std::vector<Shape>& shapes, const Node& node);

// Strides (in elements) of `in` broadcast to `out`: 0 along broadcast dims.
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);

// Row-major strides of a shape.
std::vector<int64_t> strides_of(const Shape& s);

// Normalises a possibly negative axis into [0, rank); throws Error when out of range.
int64_t normalize_axis(int64_t axis, int64_t rank, const Node& node);

// Calls f(out_index, in_offsets...) over every element of `out`, with each input's offset
// computed from broadcast strides. Iterates the last dimension in an inner loop.
template <class F>
void for_each_broadcast(const Shape& out, const std::vector<std::vector<int64_t>>& strides, F&& f) {
  const int rank = static_cast<int>(out.size());
  const int64_t n = shape_numel(out);
  if (n == 0) return;
  std::vector<int64_t> idx(rank, 0);
  std::vector<int64_t> off(strides.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    f(i, off);
    for (int d = rank - 1; d >= 0; --d) {
      ++idx[d];
      for (size_t k = 0; k < strides.size(); ++k) off[k] += strides[k][d];
      if (idx[d] < out[d]) break;
      for (size_t k = 0; k < strides.size(); ++k) off[k] -= strides[k][d] * idx[d];
      idx[d] = 0;
    }
  }
}

[[noreturn]] void unsupported_dtype(const Node& node, DType t);

}  // namespace edgeopt::rt::ref

// Dispatches on a numeric dtype: inside BODY, `T` is the C++ element type.
#define EDGEOPT_DISPATCH_NUMERIC(dtype, node, BODY)       \
  switch (dtype) {                                        \
    case ::edgeopt::DType::kF32: {                        \
      using T = float;                                    \
      BODY;                                               \
      break;                                              \
    }                                                     \
    case ::edgeopt::DType::kF64: {                        \
      using T = double;                                   \
      BODY;                                               \
      break;                                              \
    }                                                     \
    case ::edgeopt::DType::kI8: {                         \
      using T = int8_t;                                   \
      BODY;                                               \
      break;                                              \
    }                                                     \
    case ::edgeopt::DType::kU8: {                         \
      using T = uint8_t;                                  \
      BODY;                                               \
      break;                                              \
    }                                                     \
    case ::edgeopt::DType::kI16: {                        \
      using T = int16_t;                                  \
      BODY;                                               \
      break;                                              \
    }                                                     \
    case ::edgeopt::DType::kU16: {                        \
      using T = uint16_t;                                 \
      BODY;                                               \
      break;                                              \
    }                                                     \
    case ::edgeopt::DType::kI32: {                        \
      using T = int32_t;                                  \
      BODY;                                               \
      break;                                              \
    }                                                     \
    case ::edgeopt::DType::kU32: {                        \
      using T = uint32_t;                                 \
      BODY;                                               \
      break;                                              \
    }                                                     \
    case ::edgeopt::DType::kI64: {                        \
      using T = int64_t;                                  \
      BODY;                                               \
      break;                                              \
    }                                                     \
    case ::edgeopt::DType::kU64: {                        \
      using T = uint64_t;                                 \
      BODY;                                               \
      break;                                              \
    }                                                     \
    default:                                              \
      ::edgeopt::rt::ref::unsupported_dtype(node, dtype); \
  }

#define EDGEOPT_DISPATCH_FLOAT(dtype, node, BODY)         \
  switch (dtype) {                                        \
    case ::edgeopt::DType::kF32: {                        \
      using T = float;                                    \
      BODY;                                               \
      break;                                              \
    }                                                     \
    case ::edgeopt::DType::kF64: {                        \
      using T = double;                                   \
      BODY;                                               \
      break;                                              \
    }                                                     \
    default:                                              \
      ::edgeopt::rt::ref::unsupported_dtype(node, dtype); \
  }
