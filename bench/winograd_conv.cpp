// Times one 3x3 stride-1 Conv (+ bias, Relu) on the oneDNN provider with oneDNN's direct conv
// (SessionOptions::winograd kOff) and with Winograd (kAll: edgeopt's F(4x4, 3x3) kernel on
// AVX2 hosts, oneDNN's own Winograd on AVX-512 ones), the two sessions alternating for several
// rounds; prints the median over rounds of each one's mean conv time (per-node profile) and
// their ratio. The data behind the rules in src/runtime/onednn/conv.cpp.
//
// Usage: winograd_conv [threads] [rounds] [runs]  (default 1 7 20)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "edgeopt/onnx_io.h"
#include "edgeopt/session.h"

namespace {

using edgeopt::DType;
using edgeopt::Model;
using edgeopt::Shape;
using edgeopt::Tensor;

Tensor random_tensor(Shape shape, uint32_t seed) {
  Tensor t(DType::kF32, std::move(shape));
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(gen);
  return t;
}

Model conv_model(int64_t c, int64_t m, int64_t h) {
  Model model;
  model.opset_imports = {{"", 13}};
  model.graph.name = "winograd_conv";
  edgeopt::ValueInfo in;
  in.name = "x";
  in.dtype = DType::kF32;
  in.has_shape = true;
  for (int64_t d : {int64_t{1}, c, h, h}) in.dims.push_back(edgeopt::Dim{d, ""});
  model.graph.inputs.push_back(in);
  model.graph.add_initializer("w", random_tensor({m, c, 3, 3}, 1));
  model.graph.add_initializer("b", random_tensor({m}, 2));
  edgeopt::Node conv;
  conv.op_type = "Conv";
  conv.name = "conv";
  conv.inputs = {"x", "w", "b"};
  conv.outputs = {"c"};
  conv.set_attr_ints("pads", {1, 1, 1, 1});
  model.graph.nodes.push_back(conv);
  edgeopt::Node relu;
  relu.op_type = "Relu";
  relu.name = "relu";
  relu.inputs = {"c"};
  relu.outputs = {"y"};
  model.graph.nodes.push_back(relu);
  edgeopt::ValueInfo out;
  out.name = "y";
  out.dtype = DType::kF32;
  model.graph.outputs.push_back(out);
  return edgeopt::parse_model(edgeopt::serialize_model(model), std::filesystem::current_path(),
                              edgeopt::LoadOptions{false, true});
}

double conv_ms(edgeopt::Session& s) {
  for (const edgeopt::NodeProfile& p : s.profile())
    if (p.op_type == "Conv" && p.calls) return p.total_ms / static_cast<double>(p.calls);
  return 0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 7;
  const int runs = argc > 3 ? std::atoi(argv[3]) : 20;
  struct Case {
    int64_t c, m, h;
  };
  // resnet18 (64@56, 128@28, 256@14, 512@7), squeezenet1_1 expand3x3 (16->64@55,
  // 32->128@27, 48->192@13, 64->256@13) and smaller channel counts / maps.
  const std::vector<Case> cases = {{64, 64, 56},  {128, 128, 28}, {256, 256, 14}, {512, 512, 7},
                                   {16, 64, 55},  {32, 128, 27},  {48, 192, 13},  {64, 256, 13},
                                   {16, 16, 56},  {16, 16, 14},   {32, 32, 28},   {32, 32, 7},
                                   {64, 64, 14},  {64, 64, 7},    {128, 128, 14}, {128, 128, 7},
                                   {256, 256, 7}, {256, 256, 10}, {512, 512, 14}, {8, 8, 56}};
  std::printf("%-16s %10s %10s %7s\n", "C->M @HxW", "direct ms", "wino ms", "ratio");
  for (const Case& k : cases) {
    const Model model = conv_model(k.c, k.m, k.h);
    const Tensor x = random_tensor({1, k.c, k.h, k.h}, 3);
    edgeopt::SessionOptions opt{{"onednn", "reference"}, threads, true};
    opt.winograd = edgeopt::WinogradMode::kOff;
    edgeopt::Session direct(model, opt);
    direct.run({x});
    opt.winograd = edgeopt::WinogradMode::kAll;
    edgeopt::Session wino(model, opt);
    wino.run({x});
    std::vector<double> a, b;
    for (int r = 0; r < rounds; ++r) {
      for (edgeopt::Session* s : {&direct, &wino}) {
        s->run({x});
        s->reset_profile();
        for (int i = 0; i < runs; ++i) s->run({x});
        (s == &direct ? a : b).push_back(conv_ms(*s));
      }
    }
    const double ma = median(a), mb = median(b);
    char name[64];
    std::snprintf(name, sizeof(name), "%ld->%ld @%ld", static_cast<long>(k.c),
                  static_cast<long>(k.m), static_cast<long>(k.h));
    std::printf("%-16s %10.3f %10.3f %7.2f\n", name, ma, mb, mb / ma);
    std::fflush(stdout);
  }
  return 0;
}
