// Resize of the edgeopt.onednn domain: nearest or bilinear resampling of the two spatial dims of
// a 4-D tensor in any of the provider's layouts, threaded, f32 and u8 / s8. The graph rewrite
// turns ONNX Resize (opset 10-18) and Upsample (7-9) into it when the mode is nearest or linear,
// the coordinate mode is not tf_crop_and_resize and there is no antialias or axes
// (rewrite.cpp), and normalizes the inputs to [X, "", scales, sizes] and the attributes to
// mode, coordinate_transformation_mode and nearest_mode (asymmetric + floor for Upsample,
// asymmetric + "simple" for Resize-10). Scales or sizes are read in infer(): constants at load,
// or values the session computes (torchvision's Concat(Shape(x)[:2], sizes)).
//
// Why not oneDNN's resampling primitive: its nearest rounds x = (o + 0.5) / scale - 0.5 half
// up, ONNX's default round_prefer_floor half down, and floor / ceil / asymmetric /
// align_corners have no oneDNN form; its linear is half_pixel only. One kernel here covers every
// mode with the reference's own coordinate maths (ops::resample_axis), so the two agree
// exactly on the taps:
//   nearest  y[n, c, o_h, o_w] = x[n, c, i_h(o_h), i_w(o_w)]
//   linear   y = (1 - a)(1 - b) x[h0, w0] + (1 - a) b x[h0, w1] + a (1 - b) x[h1, w0]
//                + a b x[h1, w1]      (a, b the fractional positions; 8-bit: rounded half to even)
// Each layout is seen as [outer, H, W, lanes] with the lanes contiguous: blocked [N, C/b, H, W,
// b] (outer N·C/b, lanes b; padded lanes are resampled like the others and stay finite),
// channels-last [N, H, W, C] (attribute channels_last = 1; outer N, lanes C) and plain NCHW
// (outer N·C, lanes 1). Threads take contiguous ranges of output rows; a row whose taps equal
// the previous one's (an integer upscale) is a copy of it. With attribute nchw_channels = C the
// output is plain NCHW from a laid-out input (a segmenter's last up-sampling, written once as
// the graph output instead of blocked and reordered: rows go through a per-thread scratch row).
#include <cmath>
#include <cstring>
#include <memory>

#include "common.h"
#include "runtime/ops/resample_taps.h"

namespace edgeopt::rt::onednn {
namespace {

struct Tap {
  int64_t i0 = 0, i1 = 0;  // input coordinates, already times the row / lane stride
  float w1 = 0;            // weight of i1 (linear); i0 takes 1 - w1
  bool operator==(const Tap& o) const { return i0 == o.i0 && i1 == o.i1 && w1 == o.w1; }
};

class Resize final : public NodeKernel {
 public:
  explicit Resize(const KernelInit& init) : NodeKernel(init), threads_(init.threads) {
    spec_.mode = node_.attr_string("mode", "nearest");
    spec_.coord = node_.attr_string("coordinate_transformation_mode", "half_pixel");
    spec_.nearest = node_.attr_string("nearest_mode", "round_prefer_floor");
    channels_last_ = node_.attr_int("channels_last", 0) != 0;
    out_channels_ = node_.attr_int("nchw_channels", 0);
    if (spec_.mode != "nearest" && spec_.mode != "linear")
      fail_unsupported("node ", node_.describe(), ": onednn Resize mode '", spec_.mode, "'");
    if (spec_.coord == "tf_crop_and_resize")
      fail_unsupported("node ", node_.describe(), ": onednn Resize has no tf_crop_and_resize");
  }

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DType::kF32 && !is_8bit(x.dtype()))
      fail_unsupported("node ", node_.describe(), ": onednn Resize of ", dtype_name(x.dtype()));
    const bool blocked = x.rank() == 5;
    if (x.rank() != 4 && !blocked)
      fail_input("node ", node_.describe(), ": input ", shape_str(x.shape()), " must be 4-D");
    const Shape& s = x.shape();
    // Logical NCHW dims (blocked: C rounded up to whole blocks; the lanes carry the rest).
    Shape nchw = s;
    if (blocked)
      nchw = {s[0], s[1] * s[4], s[2], s[3]};
    else if (channels_last_)
      nchw = {s[0], s[3], s[1], s[2]};
    double scale[2];
    int64_t out[2];
    geometry(ctx, nchw, s, blocked, scale, out);
    in_h_ = nchw[2];
    in_w_ = nchw[3];
    out_h_ = out[0];
    out_w_ = out[1];
    lanes_ = blocked ? s[4] : (channels_last_ ? s[3] : 1);
    outer_ = blocked ? s[0] * s[1] : (channels_last_ ? s[0] : s[0] * s[1]);
    blocks_ = blocked ? s[1] : 1;
    if (out_channels_ > 0 && (!(blocked || channels_last_) || out_channels_ > lanes_ * blocks_ ||
                              out_channels_ <= lanes_ * (blocks_ - 1)))
      fail_input("node ", node_.describe(), ": ", out_channels_, " channels do not fit input ",
                 shape_str(s));
    Shape y = s;
    if (out_channels_ > 0)
      y = {s[0], out_channels_, out_h_, out_w_};
    else if (blocked)
      y = {s[0], s[1], out_h_, out_w_, s[4]};
    else if (channels_last_)
      y = {s[0], out_h_, out_w_, s[3]};
    else
      y = {s[0], s[1], out_h_, out_w_};
    ctx.set_output(0, x.dtype(), y);
    rows_ = taps(in_h_, out_h_, scale[0], in_w_ * lanes_);
    cols_ = taps(in_w_, out_w_, scale[1], lanes_);
    run_threads_ = threads_for_bytes(
        threads_, (x.numel() + shape_numel(y)) * static_cast<int64_t>(dtype_size(x.dtype())));
    if (out_channels_ > 0)
      ctx.request_scratch(run_threads_ * out_w_ * lanes_ * dtype_size(x.dtype()));
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    if (y.numel() == 0) return;
    switch (x.dtype()) {
      case DType::kF32:
        return resample(x.data<float>(), y.data<float>(), ctx.scratch);
      case DType::kU8:
        return resample(x.data<uint8_t>(), y.data<uint8_t>(), ctx.scratch);
      default:
        return resample(x.data<int8_t>(), y.data<int8_t>(), ctx.scratch);
    }
  }

 private:
  // Output spatial size and scale per the ONNX rules the reference applies: from scales,
  // out = floor(scale · in) computed in float; from sizes, scale = out / in. N and C must stay.
  void geometry(InferContext& ctx, const Shape& nchw, const Shape& s, bool blocked, double scale[2],
                int64_t out[2]) const {
    auto given = [&](size_t i) -> const Tensor* {
      if (!ctx.has_input(i) || ctx.input(i).numel() == 0) return nullptr;
      return &ctx.value(i);
    };
    const Tensor* scales = given(2);
    const Tensor* sizes = given(3);
    if (!scales == !sizes)
      fail_input("node ", node_.describe(), ": exactly one of scales and sizes must be given");
    const Tensor* t = scales ? scales : sizes;
    if (t->numel() != 4)
      fail_input("node ", node_.describe(), ": ", t->numel(), " scales/sizes for a 4-D input");
    bool keeps_nc = true;
    for (int d = 0; d < 4; ++d) {
      if (scales) {
        const float f = static_cast<float>(scales->get_f64(d));
        if (!(f > 0)) fail_input("node ", node_.describe(), ": scale ", f, " is not positive");
        if (d < 2)
          keeps_nc &= f == 1.f;
        else {
          scale[d - 2] = f;
          out[d - 2] = static_cast<int64_t>(std::floor(f * static_cast<float>(nchw[d])));
        }
      } else {
        const int64_t v = sizes->get_i64(d);
        if (v < 0) fail_input("node ", node_.describe(), ": negative size ", v);
        if (d == 1 && blocked)
          keeps_nc &= v <= nchw[1] && v > nchw[1] - s[4];
        else if (d < 2)
          keeps_nc &= v == nchw[d];
        else {
          out[d - 2] = v;
          scale[d - 2] = nchw[d] ? static_cast<double>(v) / static_cast<double>(nchw[d]) : 1.0;
        }
      }
    }
    if (!keeps_nc)
      fail_unsupported("node ", node_.describe(),
                       ": onednn Resize resamples H and W only, not N or C");
    for (int d = 0; d < 2; ++d)
      if (out[d] > 0 && nchw[2 + d] == 0)
        fail_input("node ", node_.describe(), ": cannot resize an empty axis ", 2 + d);
  }

  // The taps of one axis from the reference's coordinate maths, coordinates times `stride`.
  std::vector<Tap> taps(int64_t in, int64_t out, double scale, int64_t stride) const {
    const ops::AxisTaps a = ops::resample_axis(spec_, in, out, scale, 0, 1);
    std::vector<Tap> t(static_cast<size_t>(out));
    for (int64_t o = 0; o < out; ++o) {
      const int64_t k = a.begin[o];
      t[o].i0 = a.idx[k] * stride;
      t[o].i1 = t[o].i0;
      if (a.begin[o + 1] - k == 2) {
        t[o].i1 = a.idx[k + 1] * stride;
        t[o].w1 = static_cast<float>(a.weight[k + 1]);
      }
    }
    return t;
  }

  // Output rows (o, h) split in one contiguous range per thread. Laid-out output: each row is
  // computed in place, or copied from the row above when their taps agree. NCHW output: the
  // row is computed into the thread's scratch row and its real channels scattered to their
  // planes.
  template <class T>
  void resample(const T* x, T* y, void* scratch) const {
    const int64_t oh = out_h_, rows = outer_ * oh, out_row = out_w_ * lanes_;
    const int threads = run_threads_;
    parallel_for(threads, threads, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t lo = rows * t / threads, hi = rows * (t + 1) / threads;
        T* buf = static_cast<T*>(scratch) + t * out_row;
        for (int64_t r = lo; r < hi; ++r) {
          const int64_t o = r / oh, h = r % oh;
          const bool same = r > lo && h > 0 && rows_[h] == rows_[h - 1];
          if (out_channels_ == 0) {
            T* dst = y + r * out_row;
            if (same)
              std::memcpy(dst, dst - out_row, out_row * sizeof(T));
            else
              compute_row(x, o, h, dst);
            continue;
          }
          if (!same) compute_row(x, o, h, buf);
          // o = n * blocks + cb; lane l is channel cb * lanes + l of image n.
          const int64_t n = o / blocks_, c0 = (o % blocks_) * lanes_;
          const int64_t nl = std::min(lanes_, out_channels_ - c0);
          for (int64_t l = 0; l < nl; ++l) {
            T* __restrict dst = y + ((n * out_channels_ + c0 + l) * oh + h) * out_w_;
            const T* __restrict src = buf + l;
            for (int64_t w = 0; w < out_w_; ++w) dst[w] = src[w * lanes_];
          }
        }
      }
    });
  }

  // One output row of `lanes`-wide pixels: row h of outer index o.
  template <class T>
  void compute_row(const T* x, int64_t o, int64_t h, T* dst) const {
    const int64_t lanes = lanes_;
    const T* r0 = x + o * in_h_ * in_w_ * lanes + rows_[h].i0;
    const T* r1 = x + o * in_h_ * in_w_ * lanes + rows_[h].i1;
    if (spec_.mode != "linear") {
      for (int64_t w = 0; w < out_w_; ++w) nearest_lanes(r0 + cols_[w].i0, dst + w * lanes);
      return;
    }
    const float a = rows_[h].w1;
    for (int64_t w = 0; w < out_w_; ++w) {
      const Tap& c = cols_[w];
      const float b = c.w1;
      linear_lanes(r0 + c.i0, r0 + c.i1, r1 + c.i0, r1 + c.i1, (1 - a) * (1 - b), (1 - a) * b,
                   a * (1 - b), a * b, dst + w * lanes);
    }
  }

  template <class T>
  void nearest_lanes(const T* __restrict src, T* __restrict dst) const {
    for (int64_t l = 0; l < lanes_; ++l) dst[l] = src[l];
  }

  template <class T>
  void linear_lanes(const T* __restrict p00, const T* __restrict p01, const T* __restrict p10,
                    const T* __restrict p11, float w00, float w01, float w10, float w11,
                    T* __restrict dst) const {
    for (int64_t l = 0; l < lanes_; ++l) {
      const float v = w00 * static_cast<float>(p00[l]) + w01 * static_cast<float>(p01[l]) +
                      w10 * static_cast<float>(p10[l]) + w11 * static_cast<float>(p11[l]);
      if constexpr (std::is_same_v<T, float>) {
        dst[l] = v;
      } else {
        const float lo = std::is_same_v<T, uint8_t> ? 0.f : -128.f;
        const float hi = std::is_same_v<T, uint8_t> ? 255.f : 127.f;
        dst[l] = static_cast<T>(std::min(std::max(std::nearbyint(v), lo), hi));
      }
    }
  }

  int threads_ = 1, run_threads_ = 1;
  bool channels_last_ = false;
  ops::ResampleSpec spec_;
  int64_t out_channels_ = 0;  // > 0: NCHW output of that many channels from a laid-out input
  int64_t in_h_ = 0, in_w_ = 0, out_h_ = 0, out_w_ = 0, lanes_ = 1, outer_ = 0, blocks_ = 1;
  std::vector<Tap> rows_, cols_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, kDomain, "Resize", 1, INT_MAX, Resize);

}  // namespace

bool resize_supported(const Node& n, int64_t opset) {
  const bool upsample = n.op_type == "Upsample";
  if ((n.op_type != "Resize" && !upsample) || n.outputs.size() != 1 || n.inputs.empty())
    return false;
  if ((upsample && (opset < 7 || opset > 9)) || (!upsample && opset < 10)) return false;
  const std::string mode = n.attr_string("mode", "nearest");
  if (mode != "nearest" && mode != "linear" && mode != "bilinear") return false;
  return (upsample || opset < 11 ||
          n.attr_string("coordinate_transformation_mode", "half_pixel") != "tf_crop_and_resize") &&
         n.attr_int("antialias", 0) == 0 && !n.has_attr("axes") &&
         n.attr_string("keep_aspect_ratio_policy", "stretch") == "stretch";
}
}  // namespace edgeopt::rt::onednn
