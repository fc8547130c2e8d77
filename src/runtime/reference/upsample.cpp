// Upsample (opset 7-9; deprecated at 10): out dim = floor(in * scale) with scales >= 1 from the
// `scales` attribute (opset 7-8) or input 1 (opset 9). nearest: out[o] = in[floor(o / s)];
// linear: interpolation between in[floor(o / s)] and the next element (edge-clamped).
#include "shape_resample.h"

namespace edgeopt::rt::ref {
namespace {

class Upsample final : public NodeKernel {
 public:
  explicit Upsample(const KernelInit& init)
      : NodeKernel(init), opset_(init.opset), scales_attr_(init.node.attr_floats("scales")) {
    spec_.mode = init.node.attr_string("mode", "nearest");
    if (spec_.mode == "bilinear") spec_.mode = "linear";  // opset 1 spelling
    if (spec_.mode != "nearest" && spec_.mode != "linear")
      fail_input("node ", node_.describe(), ": unknown mode '", spec_.mode, "'");
    spec_.coord = "asymmetric";
    spec_.nearest = "floor";
  }
  void infer(InferContext& ctx) override {
    const std::vector<float> scales = opset_ >= 9 ? ctx.value(1).to_f32_vector() : scales_attr_;
    ctx.set_output(0, ctx.dtype(0), out_shape(ctx.shape(0), scales));
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const std::vector<float> scales = opset_ >= 9 ? ctx.input(1).to_f32_vector() : scales_attr_;
    const Shape out = out_shape(x.shape(), scales);
    std::vector<AxisTaps> taps;
    for (size_t d = 0; d < out.size(); ++d)
      taps.push_back(resample_axis(spec_, x.shape()[d], out[d], scales[d], 0, 1));
    resample(x, ctx.output(0), taps, spec_.mode == "nearest", 0, node_);
  }

 private:
  Shape out_shape(const Shape& in, const std::vector<float>& scales) const {
    if (scales.size() != in.size())
      fail_input("node ", node_.describe(), ": ", scales.size(), " scales for rank ", in.size());
    Shape out(in.size());
    for (size_t d = 0; d < in.size(); ++d) {
      if (!(scales[d] >= 1))
        fail_input("node ", node_.describe(), ": scale ", scales[d], " is below 1");
      out[d] = static_cast<int64_t>(std::floor(scales[d] * static_cast<float>(in[d])));
    }
    return out;
  }

  int64_t opset_;
  std::vector<float> scales_attr_;
  ResampleSpec spec_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Upsample", 1, 9, Upsample);

}  // namespace
}  // namespace edgeopt::rt::ref
