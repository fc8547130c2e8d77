// Separable resampling of the reference Resize and Upsample: an N-D output element is the
// weighted sum over the product of its per-axis taps (runtime/ops/resample_taps.h, the
// coordinate maths shared with the other providers).
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "runtime/ops/resample_taps.h"
#include "shape_common.h"

namespace edgeopt::rt::ref {

using ops::AxisTaps;
using ops::resample_axis;
using ops::ResampleSpec;

// y[o] = Σ over tap combinations of Π weights * x[taps]; outside-crop outputs = extrapolation.
// Nearest (one tap of weight 1 per axis) is a plain copy and works for every dtype.
inline void resample(const Tensor& x, Tensor& y, const std::vector<AxisTaps>& taps, bool nearest,
                     double extrapolation, const Node& node) {
  const int r = x.rank();
  const std::vector<int64_t> st = strides_of(x.shape());
  const Shape& ys = y.shape();
  std::vector<int64_t> o(r, 0), c(r, 0);
  auto next = [&](std::vector<int64_t>& v, auto&& limit) {
    for (int d = r - 1; d >= 0; --d) {
      if (++v[d] < limit(d)) return true;
      v[d] = 0;
    }
    return false;
  };
  if (nearest && x.dtype() != DType::kF32 && x.dtype() != DType::kF64) {
    ElementCopier cp(x, y);
    for (int64_t i = 0; i < y.numel(); ++i, next(
                                                o, [&](int d) { return ys[d]; })) {
      int64_t off = 0;
      for (int d = 0; d < r; ++d) off += taps[d].idx[taps[d].begin[o[d]]] * st[d];
      cp(i, off);
    }
    return;
  }
  EDGEOPT_DISPATCH_NUMERIC(x.dtype(), node, {
    const T* a = x.data<T>();
    T* b = y.data<T>();
    for (int64_t i = 0; i < y.numel(); ++i, next(
                                                o, [&](int d) { return ys[d]; })) {
      bool outside = false;
      for (int d = 0; d < r; ++d) outside |= taps[d].begin[o[d]] == taps[d].begin[o[d] + 1];
      if (outside) {
        b[i] = static_cast<T>(extrapolation);
        continue;
      }
      double sum = 0;
      std::fill(c.begin(), c.end(), 0);
      auto count = [&](int d) { return taps[d].begin[o[d] + 1] - taps[d].begin[o[d]]; };
      do {
        double w = 1;
        int64_t off = 0;
        for (int d = 0; d < r; ++d) {
          const int64_t k = taps[d].begin[o[d]] + c[d];
          w *= taps[d].weight[k];
          off += taps[d].idx[k] * st[d];
        }
        if (w != 0) sum += w * static_cast<double>(a[off]);
      } while (next(c, count));
      if constexpr (std::is_integral_v<T>)
        b[i] = static_cast<T>(std::nearbyint(sum));
      else
        b[i] = static_cast<T>(sum);
    }
  });
}

}  // namespace edgeopt::rt::ref
