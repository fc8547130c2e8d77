// The host calibration: how fast this machine runs two fixed workloads through edgeopt's own
// runtime, so that device speeds derived on one host (a profile's relative_to) apply on another.
//
// Workloads: a 3×3 convolution with 64 input and output channels on 56×56 (ResNet-18's first
// stage, 116 M multiply-adds) followed by a Relu, once in fp32 and once as the QDQ int8 pattern
// `edgeopt quantize` writes (u8 activations, s8 per-channel weights, int32 bias), which the fast
// providers run as an int8 kernel. The time is the fastest of 100 runs at one thread: the fastest
// run is the least disturbed by other processes on a shared machine.
#include <algorithm>
#include <chrono>
#include <random>

#include "edgeopt/bench.h"
#include "edgeopt/device.h"
#include "edgeopt/ir.h"
#include "edgeopt/session.h"

namespace edgeopt {

namespace {

constexpr int64_t kChannels = 64, kSize = 56;

ValueInfo f32_value(const std::string& name, const Shape& shape) {
  ValueInfo v;
  v.name = name;
  v.dtype = DType::kF32;
  v.has_shape = !shape.empty();
  for (int64_t d : shape) v.dims.push_back(Dim{d, ""});
  return v;
}

Node make_node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out) {
  Node n;
  n.op_type = op;
  n.name = op + "_" + out[0];
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

Node conv_node(const std::string& x, const std::string& w, const std::string& b,
               const std::string& y) {
  Node n = make_node("Conv", {x, w, b}, {y});
  n.set_attr_ints("kernel_shape", {3, 3});
  n.set_attr_ints("pads", {1, 1, 1, 1});
  return n;
}

// x (1×64×56×56) -> Conv 3×3 -> Relu -> y, fp32 (int8 = false) or QDQ int8.
Model calibration_model(bool int8) {
  Model m;
  m.opset_imports = {{"", 13}};
  m.graph.name = int8 ? "calibration_conv_int8" : "calibration_conv_f32";
  m.graph.inputs.push_back(f32_value("x", {1, kChannels, kSize, kSize}));
  m.graph.outputs.push_back(f32_value("y", {}));
  Graph& g = m.graph;
  std::mt19937 gen(0);
  const Shape wshape = {kChannels, kChannels, 3, 3};
  if (!int8) {
    std::uniform_real_distribution<float> wd(-0.05f, 0.05f);
    Tensor w(DType::kF32, wshape), b(DType::kF32, {kChannels});
    for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = wd(gen);
    for (int64_t i = 0; i < kChannels; ++i) b.data<float>()[i] = wd(gen);
    g.add_initializer("w", w);
    g.add_initializer("b", b);
    g.nodes.push_back(conv_node("x", "w", "b", "c"));
    g.nodes.push_back(make_node("Relu", {"c"}, {"y"}));
    return m;
  }
  // Activations: u8 with scale 1/255 (inputs are uniform in [0, 1)); weights: s8 per output
  // channel; bias: int32 with scale s_x · s_w.
  const float sx = 1.0f / 255, sw = 0.05f / 127, sy = 0.05f;
  std::uniform_int_distribution<int> wd(-127, 127), bd(-1000, 1000);
  Tensor w(DType::kI8, wshape), ws(DType::kF32, {kChannels}), b(DType::kI32, {kChannels}),
      bs(DType::kF32, {kChannels});
  for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = static_cast<int8_t>(wd(gen));
  for (int64_t i = 0; i < kChannels; ++i) {
    ws.data<float>()[i] = sw;
    bs.data<float>()[i] = sx * sw;
    b.data<int32_t>()[i] = bd(gen);
  }
  g.add_initializer("w", w);
  g.add_initializer("w_s", ws);
  g.add_initializer("b", b);
  g.add_initializer("b_s", bs);
  g.add_initializer("x_s", Tensor::scalar(sx));
  g.add_initializer("y_s", Tensor::scalar(sy));
  g.add_initializer("z", Tensor::scalar(static_cast<uint8_t>(0)));
  g.nodes.push_back(make_node("QuantizeLinear", {"x", "x_s", "z"}, {"xq"}));
  g.nodes.push_back(make_node("DequantizeLinear", {"xq", "x_s", "z"}, {"xd"}));
  Node wdq = make_node("DequantizeLinear", {"w", "w_s"}, {"wd"});
  wdq.set_attr_int("axis", 0);
  g.nodes.push_back(wdq);
  Node bdq = make_node("DequantizeLinear", {"b", "b_s"}, {"bd"});
  bdq.set_attr_int("axis", 0);
  g.nodes.push_back(bdq);
  g.nodes.push_back(conv_node("xd", "wd", "bd", "c"));
  g.nodes.push_back(make_node("Relu", {"c"}, {"r"}));
  g.nodes.push_back(make_node("QuantizeLinear", {"r", "y_s", "z"}, {"yq"}));
  g.nodes.push_back(make_node("DequantizeLinear", {"yq", "y_s", "z"}, {"y"}));
  return m;
}

double fastest_run_ms(bool int8, std::vector<NodeProfile>* profile) {
  SessionOptions so;
  so.threads = 1;
  so.profile = profile != nullptr;
  Session s(calibration_model(int8), so);
  const std::vector<Tensor> inputs = random_inputs(s.inputs(), 1);
  for (int i = 0; i < 3; ++i) s.run(inputs);
  double best = 1e300;
  for (int i = 0; i < 100; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    s.run(inputs);
    const std::chrono::duration<double, std::milli> dt = std::chrono::steady_clock::now() - t0;
    best = std::min(best, dt.count());
  }
  if (profile) *profile = s.profile();
  return best;
}

}  // namespace

HostCalibration measure_host_calibration() {
  HostCalibration c;
  c.conv_f32_ms = fastest_run_ms(false, &c.conv_f32_profile);
  c.conv_int8_ms = fastest_run_ms(true, &c.conv_int8_profile);
  return c;
}

const HostCalibration& host_calibration() {
  static const HostCalibration c = measure_host_calibration();
  return c;
}

}  // namespace edgeopt
