// The coordinate maths of ONNX Resize and Upsample, shared by every provider's kernels: per
// output coordinate along an axis, the input coordinates ("taps") it reads and their weights,
// after the ONNX Resize specification (x_original from x_resized per
// coordinate_transformation_mode).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace edgeopt::rt::ops {

struct ResampleSpec {
  std::string mode = "nearest";                // nearest | linear | cubic
  std::string coord = "half_pixel";            // coordinate_transformation_mode
  std::string nearest = "round_prefer_floor";  // or round_prefer_ceil, floor, ceil, simple
  double cubic_a = -0.75;
  bool exclude_outside = false;
};

// Taps of one axis: for output coordinate o, taps [begin[o], begin[o+1]) of idx/weight; an
// output coordinate with no taps lies outside the crop (tf_crop_and_resize) and takes the
// extrapolation value.
struct AxisTaps {
  std::vector<int64_t> begin{0};
  std::vector<int64_t> idx;
  std::vector<double> weight;
};

// scale: output/input ratio of the axis; roi_start/roi_end: crop box (tf_crop_and_resize).
inline AxisTaps resample_axis(const ResampleSpec& s, int64_t in_len, int64_t out_len, double scale,
                              double roi_start, double roi_end) {
  AxisTaps t;
  // The ONNX reference uses the unrounded output length scale * in_len in these formulas.
  const double out_w = scale * static_cast<double>(in_len);
  const double last = static_cast<double>(in_len - 1);
  auto clampi = [&](int64_t i) { return std::clamp<int64_t>(i, 0, in_len - 1); };
  for (int64_t o = 0; o < out_len; ++o) {
    const double xr = static_cast<double>(o);
    double x = 0;
    if (s.coord == "half_pixel") {
      x = (xr + 0.5) / scale - 0.5;
    } else if (s.coord == "pytorch_half_pixel") {
      x = out_w > 1 ? (xr + 0.5) / scale - 0.5 : 0;
    } else if (s.coord == "align_corners") {
      x = out_w == 1 ? 0 : xr * last / (out_w - 1);
    } else if (s.coord == "asymmetric") {
      x = xr / scale;
    } else if (s.coord == "tf_half_pixel_for_nn") {
      x = (xr + 0.5) / scale;
    } else {  // tf_crop_and_resize
      x = out_w > 1 ? roi_start * last + xr * (roi_end - roi_start) * last / (out_w - 1)
                    : 0.5 * (roi_start + roi_end) * last;
      if (x < 0 || x > last) {
        t.begin.push_back(static_cast<int64_t>(t.idx.size()));
        continue;
      }
    }
    const double fl = std::floor(x);
    const double r = x - fl;
    const int64_t x0 = static_cast<int64_t>(fl);
    if (s.mode == "nearest") {
      int64_t i = x0;
      if (s.nearest == "simple") {
        i = scale < 1 ? static_cast<int64_t>(std::ceil(x)) : x0;
      } else if (r != 0) {
        if (s.nearest == "round_prefer_floor")
          i = r <= 0.5 ? x0 : x0 + 1;
        else if (s.nearest == "round_prefer_ceil")
          i = r < 0.5 ? x0 : x0 + 1;
        else if (s.nearest == "ceil")
          i = x0 + 1;
      }
      t.idx.push_back(clampi(i));
      t.weight.push_back(1.0);
    } else if (s.mode == "linear") {
      // (1 - r) * in[x0] + r * in[x0 + 1], indices clamped to the edge.
      t.idx.push_back(clampi(x0));
      t.weight.push_back(1 - r);
      t.idx.push_back(clampi(x0 + 1));
      t.weight.push_back(r);
    } else {
      // Keys cubic convolution with parameter A over in[x0-1 .. x0+2].
      const double a = s.cubic_a;
      const double d[4] = {1 + r, r, 1 - r, 2 - r};
      double w[4], sum = 0;
      for (int k = 0; k < 4; ++k) {
        const double z = d[k];
        w[k] = z <= 1 ? ((a + 2) * z - (a + 3)) * z * z + 1
                      : ((a * z - 5 * a) * z + 8 * a) * z - 4 * a;
        if (s.exclude_outside && (x0 - 1 + k < 0 || x0 - 1 + k > in_len - 1)) w[k] = 0;
        sum += w[k];
      }
      for (int k = 0; k < 4; ++k) {
        t.idx.push_back(clampi(x0 - 1 + k));
        t.weight.push_back(s.exclude_outside && sum != 0 ? w[k] / sum : w[k]);
      }
    }
    t.begin.push_back(static_cast<int64_t>(t.idx.size()));
  }
  return t;
}

}  // namespace edgeopt::rt::ops
