// Image preprocessing: resize (shorter side), center crop, scale, mean/std, HWC u8 → CHW f32.
#include <algorithm>
#include <cmath>

#include "edgeopt/data.h"
#include "edgeopt/error.h"

namespace edgeopt {

namespace {

// Resampling weights of a 1-D antialiased linear (triangle) filter, as PIL's BILINEAR resize:
// output i covers input centre c = (i + 0.5) * s with s = in / out; the triangle is widened
// by s when shrinking so that every input pixel contributes (no aliasing).
struct Taps {
  std::vector<int64_t> first;  // first input index per output
  std::vector<int64_t> count;  // taps per output
  std::vector<float> weights;  // `width` slots per output
  int64_t width = 0;
};

// Taps of outputs [begin, begin + n) of a resize from `in` to `out` samples.
Taps make_taps(int64_t in, int64_t out, int64_t begin, int64_t n) {
  const double s = static_cast<double>(in) / static_cast<double>(out);
  const double fscale = std::max(s, 1.0);
  const double support = fscale;  // triangle half-width 1, scaled
  Taps t;
  t.width = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  t.first.resize(n);
  t.count.resize(n);
  t.weights.assign(n * t.width, 0.0f);
  std::vector<double> w;
  for (int64_t i = 0; i < n; ++i) {
    const double c = (static_cast<double>(begin + i) + 0.5) * s;
    const int64_t lo = std::max<int64_t>(0, static_cast<int64_t>(c - support + 0.5));
    const int64_t hi = std::min<int64_t>(in, static_cast<int64_t>(c + support + 0.5));
    double sum = 0;
    w.clear();
    for (int64_t j = lo; j < hi; ++j) {
      // w = max(0, 1 - |x|) with x the distance from pixel centre j + 0.5 in filter units.
      const double x = (static_cast<double>(j) + 0.5 - c) / fscale;
      const double v = std::max(0.0, 1.0 - std::abs(x));
      w.push_back(v);
      sum += v;
    }
    t.first[i] = lo;
    t.count[i] = static_cast<int64_t>(w.size());
    for (size_t k = 0; k < w.size() && static_cast<int64_t>(k) < t.width; ++k)
      t.weights[i * t.width + k] = static_cast<float>(sum > 0 ? w[k] / sum : 0.0);
    t.count[i] = std::min(t.count[i], t.width);
  }
  return t;
}

// Separable resize of an h×w×c float image to nh×nw×c, of which only the window of oh×ow
// starting at (top, left) is computed and returned: a center crop after a resize never pays
// for the pixels it drops (a 5-pixel-high strip resized to a shorter side of 9 would be a
// 9 x 825,000 image otherwise).
std::vector<float> resample(const std::vector<float>& src, int64_t h, int64_t w, int64_t c,
                            int64_t nh, int64_t nw, int64_t top, int64_t left, int64_t oh,
                            int64_t ow) {
  const Taps tx = make_taps(w, nw, left, ow), ty = make_taps(h, nh, top, oh);
  // The input rows the window reads.
  const int64_t r0 = ty.first[0];
  const int64_t r1 = ty.first[oh - 1] + ty.count[oh - 1];
  std::vector<float> mid((r1 - r0) * ow * c, 0.0f);
  for (int64_t y = r0; y < r1; ++y)
    for (int64_t x = 0; x < ow; ++x)
      for (int64_t k = 0; k < tx.count[x]; ++k) {
        const float wk = tx.weights[x * tx.width + k];
        const float* s = &src[(y * w + tx.first[x] + k) * c];
        float* d = &mid[((y - r0) * ow + x) * c];
        for (int64_t ch = 0; ch < c; ++ch) d[ch] += wk * s[ch];
      }
  std::vector<float> out(oh * ow * c, 0.0f);
  for (int64_t y = 0; y < oh; ++y)
    for (int64_t k = 0; k < ty.count[y]; ++k) {
      const float wk = ty.weights[y * ty.width + k];
      const float* s = &mid[(ty.first[y] + k - r0) * ow * c];
      float* d = &out[y * ow * c];
      for (int64_t i = 0; i < ow * c; ++i) d[i] += wk * s[i];
    }
  return out;
}

// Size after resizing the shorter side to `size`; the other side keeps the aspect ratio
// (truncated, as torchvision's Resize(int)).
std::pair<int64_t, int64_t> shorter_side(int64_t h, int64_t w, int64_t size) {
  if (size <= 0 || (h == size && w == size)) return {h, w};
  if (h <= w) return {size, std::max<int64_t>(1, static_cast<int64_t>(double(size) * w / h))};
  return {std::max<int64_t>(1, static_cast<int64_t>(double(size) * h / w)), size};
}

}  // namespace

std::pair<int64_t, int64_t> Preprocess::output_hw(int64_t h, int64_t w) const {
  const auto [nh, nw] = shorter_side(h, w, resize);
  if (crop_h > 0) {
    if (crop_h > nh || crop_w > nw)
      fail_input("center crop ", crop_h, "x", crop_w, " is larger than the image (", nh, "x", nw,
                 (resize > 0 ? " after resize" : ""), ")");
    return {crop_h, crop_w};
  }
  return {nh, nw};
}

void Preprocess::apply(const uint8_t* hwc, int64_t h, int64_t w, int64_t c, double default_scale,
                       float* out) const {
  const auto [oh, ow] = output_hw(h, w);
  if (mean.size() > 1 && static_cast<int64_t>(mean.size()) != c)
    fail_input(mean.size(), " mean/std values for an image with ", c, " channel(s)");
  std::vector<float> img(hwc, hwc + h * w * c);
  const auto [ih, iw] = shorter_side(h, w, resize);
  // Center crop offsets: round((size - crop) / 2) with ties to even, as Python's round().
  int64_t top = static_cast<int64_t>(std::nearbyint((ih - oh) / 2.0));
  int64_t left = static_cast<int64_t>(std::nearbyint((iw - ow) / 2.0));
  int64_t iw_kept = iw;
  if (ih != h || iw != w) {
    img = resample(img, h, w, c, ih, iw, top, left, oh, ow);  // the crop window only
    top = left = 0;
    iw_kept = ow;
  }
  const float sc = static_cast<float>(scale >= 0 ? scale : default_scale);
  for (int64_t ch = 0; ch < c; ++ch) {
    float m = 0, inv_s = 1;
    if (!mean.empty()) {
      m = mean.size() == 1 ? mean[0] : mean[ch];
      inv_s = 1.0f / (std.size() == 1 ? std[0] : std[ch]);
    }
    float* d = out + ch * oh * ow;
    for (int64_t y = 0; y < oh; ++y)
      for (int64_t x = 0; x < ow; ++x) {
        // x' = (x * scale - mean) / std
        const float v = img[((top + y) * iw_kept + left + x) * c + ch] * sc;
        d[y * ow + x] = (v - m) * inv_s;
      }
  }
}

}  // namespace edgeopt
