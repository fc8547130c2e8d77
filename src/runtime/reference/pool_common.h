// Index helpers of the reference window kernels (Conv, ConvTranspose, MaxPool, AveragePool);
// the window geometry itself is runtime/ops/window.h, shared with the other providers.
#pragma once

#include <algorithm>
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

// Row-major strides of the spatial dims `dims`: the offset of one step along each dim.
inline SpatialIndex spatial_strides(const Shape& dims) {
  const int nd = static_cast<int>(dims.size());
  SpatialIndex stride{};
  stride[nd - 1] = 1;
  for (int d = nd - 2; d >= 0; --d) stride[d] = stride[d + 1] * dims[d + 1];
  return stride;
}

// Throws unless the input shape xs is N x C x D1 x ... .
inline void check_spatial_input(const Node& node, const Shape& xs) {
  if (xs.size() < 3)
    fail_input("node ", node.describe(), ": input '", node.input(0),
               "' must be N x C x D1 x ..., got ", shape_str(xs));
}

// N x C x out...: the output shape of a window op.
inline Shape window_output_shape(int64_t n, int64_t c, const Window& w) {
  Shape out = {n, c};
  out.insert(out.end(), w.out.begin(), w.out.end());
  return out;
}

// The checks Conv and ConvTranspose share: x and w float of one dtype; their shapes of the same
// rank, x N x C x D1 x ...; the bias (when given) of that dtype and of shape [m].
void check_conv_inputs(const Node& node, const Tensor& x, const Tensor& w);
void check_conv_shapes(const Node& node, const Shape& xs, const Shape& ws);
void check_conv_bias(const Node& node, const Tensor& b, DType dtype, int64_t m);

// y[j, :] = bias[j] (0 without a bias) for the `channels` planes of out_size elements at y.
template <class T>
void fill_bias(T* y, int64_t channels, int64_t out_size, const T* bias) {
  for (int64_t j = 0; j < channels; ++j)
    std::fill(y + j * out_size, y + (j + 1) * out_size, bias ? bias[j] : T(0));
}

// A pooling node's window (kernel_shape required), resolved for input shape N x C x D1 x ...
// and kept until the shape changes.
class PoolWindow {
 public:
  explicit PoolWindow(const Node& node);
  const Window& operator()(const Shape& xs);

 private:
  const Node& node_;
  WindowAttrs attrs_;
  Shape x_shape_;
  Window win_;
};

}  // namespace edgeopt::rt::ref
