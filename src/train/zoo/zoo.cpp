// Model zoo: classic classification networks built directly in edgeopt's IR (no torch needed),
// freshly initialised, ready for `edgeopt train`.
//
// Initialisation as torchvision does it: convolutions Kaiming-normal in fan-out mode for ReLU,
// w ~ N(0, 2 / (c_out·k_h·k_w)); BatchNormalization γ = 1, β = 0, running mean 0, variance 1;
// linear layers w, b ~ U(−1/√fan_in, 1/√fan_in). Output: ONNX opset 13, input "input"
// [N, C, H, W] with a symbolic batch N, output "logits" [N, classes].
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "edgeopt/error.h"
#include "edgeopt/ir.h"
#include "edgeopt/train.h"

namespace edgeopt::train {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Channel count scaled by the width multiplier, rounded to a multiple of `divisor` (never
// below `divisor`, and never more than 10% below the scaled value, as MobileNet does).
int64_t scaled(int64_t channels, double width, int64_t divisor = 1) {
  const double v = channels * width;
  int64_t r =
      std::max<int64_t>(divisor, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
  if (r < 0.9 * v) r += divisor;
  return r;
}

class Builder {
 public:
  Builder(const ZooOptions& o, const std::string& name) : rng_(o.seed) {
    if (o.input.size() != 4)
      fail_input("zoo: --input must be N x C x H x W (got ", shape_str(o.input), ")");
    if (o.classes < 1) fail_input("zoo: --classes must be at least 1");
    if (o.width <= 0) fail_input("zoo: --width must be positive");
    m_.ir_version = 8;
    m_.opset_imports = {{"", 13}};
    m_.producer_name = "edgeopt";
    m_.producer_version = "0.1.0";
    m_.graph.name = name;
    ValueInfo in;
    in.name = "input";
    in.dtype = DType::kF32;
    in.has_shape = true;
    in.dims = {Dim{-1, "N"}, Dim{o.input[1], ""}, Dim{o.input[2], ""}, Dim{o.input[3], ""}};
    m_.graph.inputs.push_back(in);
    c_ = o.input[1];
    h_ = o.input[2];
    w_ = o.input[3];
  }

  // Current tensor's channels and spatial size (tracked to size the layers).
  int64_t channels() const { return c_; }
  int64_t height() const { return h_; }
  int64_t width() const { return w_; }
  void set_shape(int64_t c, int64_t h, int64_t w) {
    c_ = c;
    h_ = h;
    w_ = w;
  }

  std::string conv(const std::string& x, int64_t cout, int64_t k, int64_t stride, int64_t pad,
                   int64_t group = 1, bool bias = false) {
    const std::string name = next("conv");
    const int64_t cin = c_;
    Tensor w(DType::kF32, {cout, cin / group, k, k});
    const double std = std::sqrt(2.0 / static_cast<double>(cout * k * k));
    for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = static_cast<float>(normal() * std);
    m_.graph.add_initializer(name + ".weight", w);
    Node n = node("Conv", name, {x, name + ".weight"});
    if (bias) {
      m_.graph.add_initializer(name + ".bias", Tensor(DType::kF32, {cout}));
      n.inputs.push_back(name + ".bias");
    }
    n.set_attr_ints("kernel_shape", {k, k});
    n.set_attr_ints("strides", {stride, stride});
    n.set_attr_ints("pads", {pad, pad, pad, pad});
    if (group != 1) n.set_attr_int("group", group);
    c_ = cout;
    h_ = (h_ + 2 * pad - k) / stride + 1;
    w_ = (w_ + 2 * pad - k) / stride + 1;
    return emit(n);
  }

  std::string bn(const std::string& x) {
    const std::string name = next("bn");
    const std::vector<float> ones(c_, 1.0f);
    m_.graph.add_initializer(name + ".weight", Tensor::from_vector(ones, {c_}));
    m_.graph.add_initializer(name + ".bias", Tensor(DType::kF32, {c_}));
    m_.graph.add_initializer(name + ".running_mean", Tensor(DType::kF32, {c_}));
    m_.graph.add_initializer(name + ".running_var", Tensor::from_vector(ones, {c_}));
    Node n =
        node("BatchNormalization", name,
             {x, name + ".weight", name + ".bias", name + ".running_mean", name + ".running_var"});
    n.set_attr_float("epsilon", 1e-5f);
    n.set_attr_float("momentum", 0.9f);
    return emit(n);
  }

  std::string relu(const std::string& x) { return emit(node("Relu", next("relu"), {x})); }

  // ReLU6 as Clip(x, 0, 6) (opset 13: bounds are inputs).
  std::string relu6(const std::string& x) {
    if (!m_.graph.find_initializer("clip_min")) {
      m_.graph.add_initializer("clip_min", Tensor::scalar<float>(0.0f));
      m_.graph.add_initializer("clip_max", Tensor::scalar<float>(6.0f));
    }
    return emit(node("Clip", next("relu6"), {x, "clip_min", "clip_max"}));
  }

  std::string add(const std::string& a, const std::string& b) {
    return emit(node("Add", next("add"), {a, b}));
  }

  std::string max_pool(const std::string& x, int64_t k, int64_t stride, int64_t pad,
                       bool ceil = false) {
    Node n = node("MaxPool", next("maxpool"), {x});
    n.set_attr_ints("kernel_shape", {k, k});
    n.set_attr_ints("strides", {stride, stride});
    n.set_attr_ints("pads", {pad, pad, pad, pad});
    if (ceil) n.set_attr_int("ceil_mode", 1);
    auto out = [&](int64_t s) {
      const int64_t num = s + 2 * pad - k;
      return (ceil ? (num + stride - 1) / stride : num / stride) + 1;
    };
    h_ = out(h_);
    w_ = out(w_);
    return emit(n);
  }

  std::string concat(const std::vector<std::string>& xs, int64_t channels) {
    Node n = node("Concat", next("concat"), xs);
    n.set_attr_int("axis", 1);
    c_ = channels;
    return emit(n);
  }

  std::string global_pool_flatten(const std::string& x) {
    const std::string p = emit(node("GlobalAveragePool", next("gap"), {x}));
    h_ = w_ = 1;
    return flatten(p);
  }

  std::string flatten(const std::string& x) {
    Node n = node("Flatten", next("flatten"), {x});
    n.set_attr_int("axis", 1);
    c_ = c_ * h_ * w_;
    h_ = w_ = 1;
    return emit(n);
  }

  // y = x·Wᵀ + b with W [out, in].
  std::string linear(const std::string& x, int64_t out) {
    const std::string name = next("fc");
    const int64_t in = c_;
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    Tensor w(DType::kF32, {out, in}), b(DType::kF32, {out});
    for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = uniform(bound);
    for (int64_t i = 0; i < out; ++i) b.data<float>()[i] = uniform(bound);
    m_.graph.add_initializer(name + ".weight", w);
    m_.graph.add_initializer(name + ".bias", b);
    Node n = node("Gemm", name, {x, name + ".weight", name + ".bias"});
    n.set_attr_int("transB", 1);
    c_ = out;
    return emit(n);
  }

  Model finish(const std::string& logits) {
    // Rename the last value to "logits".
    for (Node& n : m_.graph.nodes)
      for (std::string& o : n.outputs)
        if (o == logits) o = "logits";
    ValueInfo out;
    out.name = "logits";
    out.dtype = DType::kF32;
    out.has_shape = true;
    out.dims = {Dim{-1, "N"}, Dim{c_, ""}};
    m_.graph.outputs.push_back(out);
    return m_;
  }

 private:
  std::string next(const std::string& kind) { return kind + std::to_string(++count_[kind]); }
  Node node(const std::string& op, const std::string& name, std::vector<std::string> inputs) {
    Node n;
    n.op_type = op;
    n.name = name;
    n.inputs = std::move(inputs);
    n.outputs = {name + ".out"};
    return n;
  }
  std::string emit(Node n) {
    m_.graph.nodes.push_back(std::move(n));
    return m_.graph.nodes.back().outputs[0];
  }
  // Standard normal by Box–Muller from the 64-bit generator (same values on every platform).
  double normal() {
    const double u1 = (static_cast<double>(rng_() >> 11) + 1.0) * 0x1.0p-53;
    const double u2 = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
  }
  float uniform(double bound) {
    const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
    return static_cast<float>((2.0 * u - 1.0) * bound);
  }

  Model m_;
  std::mt19937_64 rng_;
  std::map<std::string, int> count_;
  int64_t c_ = 0, h_ = 0, w_ = 0;
};

Model lenet5(const ZooOptions& o) {
  Builder b(o, "lenet5");
  std::string x = b.conv("input", scaled(6, o.width), 5, 1, 2, 1, true);
  x = b.max_pool(b.relu(x), 2, 2, 0);
  x = b.conv(x, scaled(16, o.width), 5, 1, 0, 1, true);
  x = b.max_pool(b.relu(x), 2, 2, 0);
  if (b.height() < 1 || b.width() < 1) fail_input("zoo: lenet5 needs inputs of at least 12x12");
  x = b.flatten(x);
  x = b.relu(b.linear(x, scaled(120, o.width)));
  x = b.relu(b.linear(x, scaled(84, o.width)));
  return b.finish(b.linear(x, o.classes));
}

Model mlp(const ZooOptions& o) {
  Builder b(o, "mlp");
  std::string x = b.flatten("input");
  x = b.relu(b.linear(x, scaled(256, o.width)));
  x = b.relu(b.linear(x, scaled(128, o.width)));
  return b.finish(b.linear(x, o.classes));
}

// Stem: CIFAR-style conv3x3 for inputs below 64 px, ImageNet-style conv7x7/2 + maxpool3/2
// otherwise.
std::string resnet_stem(Builder& b, const ZooOptions& o, int64_t channels) {
  if (std::min(o.input[2], o.input[3]) < 64)
    return b.relu(b.bn(b.conv("input", channels, 3, 1, 1)));
  std::string x = b.relu(b.bn(b.conv("input", channels, 7, 2, 3)));
  return b.max_pool(x, 3, 2, 1);
}

// Basic block: conv3x3-BN-ReLU-conv3x3-BN + shortcut (1x1 conv + BN when the shape changes),
// then ReLU.
std::string basic_block(Builder& b, const std::string& x, int64_t channels, int64_t stride) {
  const int64_t cin = b.channels(), h = b.height(), w = b.width();
  std::string y = b.relu(b.bn(b.conv(x, channels, 3, stride, 1)));
  y = b.bn(b.conv(y, channels, 3, 1, 1));
  std::string shortcut = x;
  if (stride != 1 || cin != channels) {
    b.set_shape(cin, h, w);  // the shortcut starts from the block input
    shortcut = b.bn(b.conv(x, channels, 1, stride, 0));
  }
  return b.relu(b.add(y, shortcut));
}

Model resnet(const ZooOptions& o, const std::string& name, const std::vector<int64_t>& widths,
             int blocks) {
  Builder b(o, name);
  std::string x = resnet_stem(b, o, scaled(widths[0], o.width));
  for (size_t s = 0; s < widths.size(); ++s)
    for (int i = 0; i < blocks; ++i)
      x = basic_block(b, x, scaled(widths[s], o.width), (s > 0 && i == 0) ? 2 : 1);
  x = b.global_pool_flatten(x);
  return b.finish(b.linear(x, o.classes));
}

Model mobilenet_v2(const ZooOptions& o) {
  Builder b(o, "mobilenet_v2");
  const bool small = std::min(o.input[2], o.input[3]) < 64;
  std::string x = b.relu6(b.bn(b.conv("input", scaled(32, o.width, 8), 3, small ? 1 : 2, 1)));
  struct Stage {
    int64_t t, c, n, s;
  };
  const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                          {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  for (const Stage& st : stages) {
    const int64_t out = scaled(st.c, o.width, 8);
    for (int64_t i = 0; i < st.n; ++i) {
      const int64_t stride = i == 0 ? st.s : 1;
      const int64_t cin = b.channels();
      std::string y = x;
      // Inverted residual: 1x1 expand + BN + ReLU6, depthwise 3x3 + BN + ReLU6, 1x1 project + BN.
      if (st.t != 1) y = b.relu6(b.bn(b.conv(y, cin * st.t, 1, 1, 0)));
      y = b.relu6(b.bn(b.conv(y, b.channels(), 3, stride, 1, b.channels())));
      y = b.bn(b.conv(y, out, 1, 1, 0));
      x = (stride == 1 && cin == out) ? b.add(x, y) : y;
    }
  }
  x = b.relu6(b.bn(b.conv(x, o.width > 1.0 ? scaled(1280, o.width, 8) : 1280, 1, 1, 0)));
  x = b.global_pool_flatten(x);
  return b.finish(b.linear(x, o.classes));
}

// SqueezeNet 1.1 fire module: squeeze 1x1, then expand 1x1 and 3x3 concatenated.
std::string fire(Builder& b, const std::string& x, int64_t squeeze, int64_t expand) {
  const std::string s = b.relu(b.conv(x, squeeze, 1, 1, 0, 1, true));
  const std::string e1 = b.relu(b.conv(s, expand, 1, 1, 0, 1, true));
  b.set_shape(squeeze, b.height(), b.width());  // the 3x3 branch also reads the squeeze output
  const std::string e3 = b.relu(b.conv(s, expand, 3, 1, 1, 1, true));
  return b.concat({e1, e3}, 2 * expand);
}

}  // namespace

std::vector<std::string> zoo_architectures() {
  return {"lenet5", "mlp", "resnet8", "resnet18", "mobilenet_v2", "squeezenet"};
}

Model build_zoo_model(const std::string& arch, const ZooOptions& o) {
  if (arch == "lenet5") return lenet5(o);
  if (arch == "mlp") return mlp(o);
  if (arch == "resnet8") return resnet(o, "resnet8", {16, 32, 64}, 1);
  if (arch == "resnet18") return resnet(o, "resnet18", {64, 128, 256, 512}, 2);
  if (arch == "mobilenet_v2") return mobilenet_v2(o);
  if (arch == "squeezenet") {
    Builder b(o, "squeezenet");
    const bool small = std::min(o.input[2], o.input[3]) < 64;
    std::string x =
        b.relu(b.conv("input", scaled(64, o.width), 3, small ? 1 : 2, small ? 1 : 0, 1, true));
    x = b.max_pool(x, 3, 2, 0, true);
    x = fire(b, x, scaled(16, o.width), scaled(64, o.width));
    x = fire(b, x, scaled(16, o.width), scaled(64, o.width));
    x = b.max_pool(x, 3, 2, 0, true);
    x = fire(b, x, scaled(32, o.width), scaled(128, o.width));
    x = fire(b, x, scaled(32, o.width), scaled(128, o.width));
    x = b.max_pool(x, 3, 2, 0, true);
    for (int64_t s : {48, 48, 64, 64}) x = fire(b, x, scaled(s, o.width), scaled(s * 4, o.width));
    x = b.relu(b.conv(x, o.classes, 1, 1, 0, 1, true));
    return b.finish(b.global_pool_flatten(x));
  }
  std::string names;
  for (const std::string& a : zoo_architectures()) names += (names.empty() ? "" : ", ") + a;
  fail_input("zoo: unknown architecture '", arch, "' (", names, ")");
}

}  // namespace edgeopt::train
