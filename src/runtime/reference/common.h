// Shared helpers of the reference kernels: broadcasting, axis handling, dtype dispatch.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
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

// Element count of shape[begin, end).
inline int64_t dims_product(const Shape& s, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end && i < s.size(); ++i) p *= s[i];
  return p;
}

// A shape seen as outer x len x inner around one axis: len = shape[axis], outer and inner the
// element counts of the dims before and after it.
struct AxisLayout {
  int64_t outer = 1, len = 1, inner = 1;
};
inline AxisLayout axis_layout(const Shape& s, int64_t axis) {
  const auto a = static_cast<size_t>(axis);
  return {dims_product(s, 0, a), s[a], dims_product(s, a + 1, s.size())};
}

// A kernel along the node's `axis` attribute: infer() checks it against the input's rank with
// check_axis(), run() reads axis_ (infer() runs again for every other input shape).
class AxisKernel : public NodeKernel {
 public:
  AxisKernel(const KernelInit& init, int64_t default_axis)
      : NodeKernel(init), axis_attr_(init.node.attr_int("axis", default_axis)) {}

 protected:
  // The axis for an input of this rank, in [0, rank) (a negative one counts from the end).
  int64_t check_axis(int64_t rank) { return axis_ = normalize_axis(axis_attr_, rank, node_); }
  // A shape around axis_.
  AxisLayout layout(const Shape& s) const { return axis_layout(s, axis_); }

  int64_t axis_attr_;
  int64_t axis_ = 0;  // of the latest infer()
};

// Calls f(out_index, in_offsets...) over every element of `out`, with each input's offset
// computed from broadcast strides. Iterates the last dimension in an inner loop.
template <class F>
void for_each_broadcast(const Shape& out, const std::vector<std::vector<int64_t>>& strides, F&& f) {
  const int rank = static_cast<int>(out.size());
  const int64_t n = shape_numel(out);
  if (n == 0) return;
  const size_t m = strides.size();
  const int64_t inner = rank > 0 ? out[rank - 1] : 1;
  std::vector<int64_t> idx(rank, 0), off(m, 0), cur(m), step(m, 0);
  if (rank > 0)
    for (size_t k = 0; k < m; ++k) step[k] = strides[k][rank - 1];
  for (int64_t i = 0; i < n; i += inner) {
    for (size_t k = 0; k < m; ++k) cur[k] = off[k];
    for (int64_t j = 0; j < inner; ++j) {
      f(i + j, cur);
      for (size_t k = 0; k < m; ++k) cur[k] += step[k];
    }
    for (int d = rank - 2; d >= 0; --d) {  // next row: the odometer over the outer dims
      ++idx[d];
      for (size_t k = 0; k < m; ++k) off[k] += strides[k][d];
      if (idx[d] < out[d]) break;
      for (size_t k = 0; k < m; ++k) off[k] -= strides[k][d] * idx[d];
      idx[d] = 0;
    }
  }
}

// On x86 a function marked so is also compiled for AVX-512 and AVX2, the CPU picking the
// clone at load (the build itself targets any x86-64, i.e. SSE2): for the few loops written
// to run in vector lanes. Elsewhere (arm64's NEON is the baseline) it does nothing.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define EDGEOPT_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define EDGEOPT_VECTOR_CLONES
#endif

[[noreturn]] void unsupported_dtype(const Node& node, DType t);

// Throws unless input 0, x, is f32 or f64 of shape N x C x ... (rank 2 or more).
void check_float_nc_input(const Node& node, const Tensor& x);

// Float to integer, truncated; out-of-range values saturate (and NaN gives 0) instead of
// being undefined.
template <class I>
I float_to_int(double v) {
  if (std::isnan(v)) return 0;
  if (v <= static_cast<double>(std::numeric_limits<I>::lowest()))
    return std::numeric_limits<I>::lowest();
  if (v >= static_cast<double>(std::numeric_limits<I>::max())) return std::numeric_limits<I>::max();
  return static_cast<I>(v);
}

}  // namespace edgeopt::rt::ref

// One case of a dtype dispatch below: inside BODY, `ALIAS` names the C++ element type `TYPE`.
#define EDGEOPT_DTYPE_CASE(DTYPE, ALIAS, TYPE, BODY) \
  case ::edgeopt::DType::DTYPE: {                    \
    using ALIAS = TYPE;                              \
    BODY;                                            \
    break;                                           \
  }

// Dispatches on a numeric dtype: inside BODY, `T` is the C++ element type.
#define EDGEOPT_DISPATCH_NUMERIC(dtype, node, BODY)       \
  switch (dtype) {                                        \
    EDGEOPT_DTYPE_CASE(kF32, T, float, BODY)              \
    EDGEOPT_DTYPE_CASE(kF64, T, double, BODY)             \
    EDGEOPT_DTYPE_CASE(kI8, T, int8_t, BODY)              \
    EDGEOPT_DTYPE_CASE(kU8, T, uint8_t, BODY)             \
    EDGEOPT_DTYPE_CASE(kI16, T, int16_t, BODY)            \
    EDGEOPT_DTYPE_CASE(kU16, T, uint16_t, BODY)           \
    EDGEOPT_DTYPE_CASE(kI32, T, int32_t, BODY)            \
    EDGEOPT_DTYPE_CASE(kU32, T, uint32_t, BODY)           \
    EDGEOPT_DTYPE_CASE(kI64, T, int64_t, BODY)            \
    EDGEOPT_DTYPE_CASE(kU64, T, uint64_t, BODY)           \
    default:                                              \
      ::edgeopt::rt::ref::unsupported_dtype(node, dtype); \
  }

#define EDGEOPT_DISPATCH_FLOAT(dtype, node, BODY)         \
  switch (dtype) {                                        \
    EDGEOPT_DTYPE_CASE(kF32, T, float, BODY)              \
    EDGEOPT_DTYPE_CASE(kF64, T, double, BODY)             \
    default:                                              \
      ::edgeopt::rt::ref::unsupported_dtype(node, dtype); \
  }
