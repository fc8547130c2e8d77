// Resize (opset 10, 11, 13, 18): resamples X to sizes (input 3) or floor(in * scales) (input 2,
// input 1 in opset 10) with nearest, (n-)linear or cubic interpolation; see shape_resample.h for
// the coordinate maths. Opset 10 behaves like Upsample: asymmetric coordinates and "simple"
// nearest rounding. Opset 18 antialiasing and keep_aspect_ratio_policy are not supported.
#include "shape_resample.h"

namespace edgeopt::rt::ref {
namespace {

class Resize final : public NodeKernel {
 public:
  explicit Resize(const KernelInit& init)
      : NodeKernel(init),
        opset_(init.opset),
        extrapolation_(init.node.attr_float("extrapolation_value", 0.0f)),
        axes_(init.node.attr_ints("axes")) {
    const Node& n = init.node;
    spec_.mode = n.attr_string("mode", "nearest");
    if (opset_ < 11) {
      spec_.coord = "asymmetric";
      spec_.nearest = "simple";
    } else {
      spec_.coord = n.attr_string("coordinate_transformation_mode", "half_pixel");
      spec_.nearest = n.attr_string("nearest_mode", "round_prefer_floor");
    }
    spec_.cubic_a = n.attr_float("cubic_coeff_a", -0.75f);
    spec_.exclude_outside = n.attr_int("exclude_outside", 0) != 0;
    if (spec_.mode != "nearest" && spec_.mode != "linear" && spec_.mode != "cubic")
      fail_input("node ", n.describe(), ": unknown mode '", spec_.mode, "'");
    const std::string c = spec_.coord;
    if (c != "half_pixel" && c != "pytorch_half_pixel" && c != "align_corners" &&
        c != "asymmetric" && c != "tf_half_pixel_for_nn" && c != "tf_crop_and_resize")
      fail_input("node ", n.describe(), ": unknown coordinate_transformation_mode '", c, "'");
    const std::string m = spec_.nearest;
    if (m != "simple" && m != "round_prefer_floor" && m != "round_prefer_ceil" && m != "floor" &&
        m != "ceil")
      fail_input("node ", n.describe(), ": unknown nearest_mode '", m, "'");
    if (n.attr_int("antialias", 0) != 0 ||
        n.attr_string("keep_aspect_ratio_policy", "stretch") != "stretch")
      fail_unsupported("node ", n.describe(), ": antialias / keep_aspect_ratio_policy");
  }
  void infer(InferContext& ctx) override {
    const Geometry g = geometry(ctx.shape(0), [&](size_t i) -> const Tensor* {
      if (!ctx.has_input(i) || ctx.input(i).numel() == 0) return nullptr;
      return &ctx.value(i);
    });
    ctx.set_output(0, ctx.dtype(0), g.out);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Geometry g = geometry(x.shape(), [&](size_t i) -> const Tensor* {
      if (!ctx.has_input(i) || ctx.input(i).numel() == 0) return nullptr;
      return &ctx.input(i);
    });
    const size_t r = x.shape().size();
    std::vector<AxisTaps> taps;
    for (size_t d = 0; d < r; ++d)
      taps.push_back(
          resample_axis(spec_, x.shape()[d], g.out[d], g.scale[d], g.roi[d], g.roi[d + r]));
    resample(x, ctx.output(0), taps, spec_.mode == "nearest" && spec_.coord != "tf_crop_and_resize",
             extrapolation_, node_);
  }

 private:
  struct Geometry {
    Shape out;
    std::vector<double> scale;
    std::vector<double> roi;  // starts then ends, per axis
  };

  template <class Get>
  Geometry geometry(const Shape& in, Get&& get) const {
    const size_t r = in.size();
    const Tensor* roi = opset_ >= 11 ? get(1) : nullptr;
    const Tensor* scales = get(opset_ >= 11 ? 2 : 1);
    const Tensor* sizes = opset_ >= 11 ? get(3) : nullptr;
    if (!scales == !sizes)
      fail_input("node ", node_.describe(), ": exactly one of scales and sizes must be given");
    // Axes (opset 18) name the dims that scales/sizes/roi cover; the others keep scale 1.
    std::vector<int64_t> axes;
    for (int64_t a : axes_) axes.push_back(normalize_axis(a, static_cast<int64_t>(r), node_));
    if (axes.empty())
      for (size_t d = 0; d < r; ++d) axes.push_back(static_cast<int64_t>(d));
    const size_t n = axes.size();
    Geometry g{in, std::vector<double>(r, 1.0), std::vector<double>(2 * r, 0.0)};
    for (size_t d = 0; d < r; ++d) g.roi[d + r] = 1.0;
    const Tensor* given = scales ? scales : sizes;
    if (given->numel() != static_cast<int64_t>(n))
      fail_input("node ", node_.describe(), ": ", given->numel(), " scales/sizes for ", n, " axes");
    for (size_t k = 0; k < n; ++k) {
      const int64_t d = axes[k];
      if (scales) {
        const float s = static_cast<float>(scales->get_f64(k));
        if (!(s > 0)) fail_input("node ", node_.describe(), ": scale ", s, " is not positive");
        g.scale[d] = s;
        // floor(in * scale), computed in float as the ONNX reference does.
        g.out[d] = static_cast<int64_t>(std::floor(s * static_cast<float>(in[d])));
      } else {
        g.out[d] = sizes->get_i64(k);
        if (g.out[d] < 0) fail_input("node ", node_.describe(), ": negative size");
        g.scale[d] = in[d] ? static_cast<double>(g.out[d]) / static_cast<double>(in[d]) : 1.0;
      }
    }
    if (roi && spec_.coord == "tf_crop_and_resize") {
      if (roi->numel() != static_cast<int64_t>(2 * n))
        fail_input("node ", node_.describe(), ": roi needs ", 2 * n, " values");
      for (size_t k = 0; k < n; ++k) {
        g.roi[axes[k]] = roi->get_f64(k);
        g.roi[axes[k] + r] = roi->get_f64(k + n);
      }
    }
    for (size_t d = 0; d < r; ++d)
      if (g.out[d] > 0 && in[d] == 0)
        fail_input("node ", node_.describe(), ": cannot resize an empty axis ", d);
    return g;
  }

  int64_t opset_;
  float extrapolation_;
  std::vector<int64_t> axes_;
  ResampleSpec spec_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Resize", 10, INT_MAX, Resize);

}  // namespace
}  // namespace edgeopt::rt::ref
