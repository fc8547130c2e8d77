// RoiAlign: for each region [x1, y1, x2, y2] (in input pixels times spatial_scale) of image
// batch_indices[r], an output_height x output_width grid of bins; each bin averages (mode
// avg) or takes the largest of (mode max) bilinear samples on a grid of sampling_ratio^2
// points (0: ceil(bin size) per axis). coordinate_transformation_mode half_pixel (default
// from opset 16) shifts the region by -0.5 pixel; output_half_pixel (opset 10's behaviour)
// does not and makes the region at least 1x1. Samples more than one pixel outside the image
// count as 0. As in ONNX Runtime, max mode takes the largest of the four weighted corner
// values of each sample.
#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"

namespace edgeopt::rt::ref {
namespace {

class RoiAlign final : public NodeKernel {
 public:
  explicit RoiAlign(const KernelInit& init)
      : NodeKernel(init),
        max_mode_(init.node.attr_string("mode", "avg") == "max"),
        out_h_(init.node.attr_int("output_height", 1)),
        out_w_(init.node.attr_int("output_width", 1)),
        sampling_(init.node.attr_int("sampling_ratio", 0)),
        scale_(init.node.attr_float("spatial_scale", 1.f)) {
    const std::string mode = init.node.attr_string("mode", "avg");
    if (mode != "avg" && mode != "max")
      fail_input("node ", node_.describe(), ": unknown mode '", mode, "'");
    const std::string ctm = init.node.attr_string(
        "coordinate_transformation_mode", init.opset >= 16 ? "half_pixel" : "output_half_pixel");
    if (ctm != "half_pixel" && ctm != "output_half_pixel")
      fail_input("node ", node_.describe(), ": unknown coordinate_transformation_mode '", ctm, "'");
    half_pixel_ = ctm == "half_pixel";
    if (out_h_ < 1 || out_w_ < 1 || sampling_ < 0)
      fail_input("node ", node_.describe(),
                 ": output_height/width must be >= 1 and sampling_ratio >= 0");
  }
  void infer(InferContext& ctx) override {
    const Shape& x = ctx.shape(0);
    const Shape& rois = ctx.shape(1);
    const Shape& idx = ctx.shape(2);
    if (x.size() != 4 || rois.size() != 2 || rois[1] != 4 || idx != Shape{rois[0]})
      fail_input("node ", node_.describe(), ": X ", shape_str(x), ", rois ", shape_str(rois),
                 ", batch_indices ", shape_str(idx), " must be NCHW, [R, 4], [R]");
    if (ctx.dtype(0) != DType::kF32 || ctx.dtype(1) != DType::kF32)
      fail_unsupported("node ", node_.describe(), ": only float32 X and rois");
    ctx.set_output(0, DType::kF32, {rois[0], x[1], out_h_, out_w_});
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const int64_t C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
    const int64_t R = ctx.input(1).shape()[0];
    const float* rois = ctx.input(1).data<float>();
    float* y = ctx.output(0).data<float>();
    const float offset = half_pixel_ ? 0.5f : 0.f;
    for (int64_t r = 0; r < R; ++r) {
      const int64_t n = ctx.input(2).get_i64(r);
      if (n < 0 || n >= x.shape()[0])
        fail_input("node ", node_.describe(), ": batch_indices[", r, "] = ", n, " is outside [0, ",
                   x.shape()[0], ")");
      const float* roi = rois + r * 4;
      const float x0 = roi[0] * scale_ - offset, y0 = roi[1] * scale_ - offset;
      float rw = roi[2] * scale_ - offset - x0, rh = roi[3] * scale_ - offset - y0;
      if (!half_pixel_) rw = std::max(rw, 1.f), rh = std::max(rh, 1.f);
      const float bin_h = rh / out_h_, bin_w = rw / out_w_;
      const int64_t gh = sampling_ > 0 ? sampling_ : static_cast<int64_t>(std::ceil(rh / out_h_));
      const int64_t gw = sampling_ > 0 ? sampling_ : static_cast<int64_t>(std::ceil(rw / out_w_));
      const float count = static_cast<float>(std::max<int64_t>(gh * gw, 1));
      // Where each bin's samples fall does not depend on the channel: their corners and
      // weights once per region, then every channel reads through them.
      taps_.clear();
      for (int64_t ph = 0; ph < out_h_; ++ph)
        for (int64_t pw = 0; pw < out_w_; ++pw)
          for (int64_t iy = 0; iy < gh; ++iy)
            for (int64_t ix = 0; ix < gw; ++ix) {
              const float sy = y0 + ph * bin_h + (iy + 0.5f) * bin_h / gh;
              const float sx = x0 + pw * bin_w + (ix + 0.5f) * bin_w / gw;
              taps_.push_back(tap(H, W, sy, sx));
            }
      const int64_t per_bin = gh * gw;
      for (int64_t c = 0; c < C; ++c) {
        const float* img = x.data<float>() + (n * C + c) * H * W;
        float* out = y + (r * C + c) * out_h_ * out_w_;
        const Tap* t = taps_.data();
        for (int64_t bin = 0; bin < out_h_ * out_w_; ++bin) {
          float acc = 0;
          for (int64_t k = 0; k < per_bin; ++k, ++t) {
            const float v = value(*t, img);
            if (max_mode_)
              acc = k == 0 ? v : std::max(acc, v);
            else
              acc += v;
          }
          out[bin] = max_mode_ ? acc : acc / count;
        }
      }
    }
  }

 private:
  // A bilinear sample at (y, x): its four corners (offsets in the image) and their weights;
  // `inside` false more than one pixel outside the image, where the sample is 0.
  struct Tap {
    int64_t i1, i2, i3, i4;
    float w1, w2, w3, w4;
    bool inside;
  };
  static Tap tap(int64_t H, int64_t W, float y, float x) {
    if (y < -1.f || y > H || x < -1.f || x > W) return Tap{0, 0, 0, 0, 0, 0, 0, 0, false};
    y = std::max(y, 0.f);
    x = std::max(x, 0.f);
    int64_t y_lo = static_cast<int64_t>(y), x_lo = static_cast<int64_t>(x);
    int64_t y_hi = y_lo + 1, x_hi = x_lo + 1;
    if (y_lo >= H - 1) y_hi = y_lo = H - 1, y = static_cast<float>(y_lo);
    if (x_lo >= W - 1) x_hi = x_lo = W - 1, x = static_cast<float>(x_lo);
    const float ly = y - y_lo, lx = x - x_lo, hy = 1.f - ly, hx = 1.f - lx;
    return Tap{y_lo * W + x_lo, y_lo * W + x_hi, y_hi * W + x_lo,
               y_hi * W + x_hi, hy * hx,         hy * lx,
               ly * hx,         ly * lx,         true};
  }
  // The sample's value: the sum of the four weighted corners (avg mode) or their largest
  // weighted value (max mode).
  float value(const Tap& t, const float* img) const {
    if (!t.inside) return 0.f;
    const float v1 = t.w1 * img[t.i1], v2 = t.w2 * img[t.i2];
    const float v3 = t.w3 * img[t.i3], v4 = t.w4 * img[t.i4];
    return max_mode_ ? std::max(std::max(v1, v2), std::max(v3, v4)) : v1 + v2 + v3 + v4;
  }

  bool max_mode_;
  int64_t out_h_, out_w_, sampling_;
  float scale_;
  bool half_pixel_ = true;
  std::vector<Tap> taps_;  // run(): the current region's samples, bin by bin
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "RoiAlign", 10, INT_MAX, RoiAlign);

}  // namespace
}  // namespace edgeopt::rt::ref
