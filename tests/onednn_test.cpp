// The oneDNN provider against the reference provider (the oracle): every onednn kernel and the
// channels-last rewrite (fusions, layout borders) on awkward shapes — odd widths, channel
// counts that are not a multiple of 8 or 16, groups and depthwise, strides, asymmetric pads,
// dilation, fused post-ops, residual adds, broadcasting — and whole models (the Fashion-MNIST
// model in models/, torchvision fixtures in <build>/fixtures when present).
// Agreement: max |onednn - reference| <= 1e-4 * max |reference| (+1e-6 for all-zero outputs).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "edgeopt/error.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/session.h"
#include "ir/onnx_proto_utils.h"
#include "runtime/onednn/common.h"
#include "testing/model_builder.h"
#include "testing/provider_compare.h"
#include "testing/random.h"
#include "testing/tolerance.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;

using test::random_tensor;
using test::tensors_close;
using GraphBuilder = test::ModelBuilder;

// `model` on onednn (reference behind it) against the reference provider (testing/): every
// output within the f32 tolerance, and at least `min_onednn` nodes run on onednn.
void expect_close(const Model& model, const std::vector<Tensor>& inputs, int min_onednn = 1,
                  int threads = 1) {
  test::CompareOptions options;
  options.threads = threads;
  options.min_provider_nodes = min_onednn;
  EXPECT_TRUE(test::matches_reference(model, inputs, "onednn", options));
}

// The lines of oneDNN's verbose log for the `primitive` kind (",convolution,", ",binary,")
// executed while f() runs: the implementation oneDNN picked is the log's fifth field.
template <class F>
std::vector<std::string> onednn_exec_lines(const std::string& primitive, F&& f) {
  testing::internal::CaptureStdout();
  dnnl::set_verbose(2);
  f();
  dnnl::set_verbose(0);
  const std::string log = testing::internal::GetCapturedStdout();
  std::vector<std::string> lines;
  size_t at = 0;
  for (size_t end; (end = log.find('\n', at)) != std::string::npos; at = end + 1) {
    const std::string line = log.substr(at, end - at);
    if (line.find(",exec,cpu" + primitive) != std::string::npos) lines.push_back(line);
  }
  return lines;
}

// The op types a onednn session runs, layout changes left out: how many of those the rewrite
// adds depends on the host's block width (8 lanes on AVX2, 16 on AVX-512, and a conv with fewer
// input channels than a block reads NCHW), what it fuses does not. Every node must run on onednn.
std::multiset<std::string> compute_ops(const Model& model, const std::vector<Tensor>& inputs,
                                       int threads = 1) {
  Session s(model, SessionOptions{{"onednn", "reference"}, threads, true, false});
  s.run(inputs);
  std::multiset<std::string> ops;
  for (const NodeProfile& p : s.profile()) {
    EXPECT_EQ(p.provider, "onednn") << p.node;
    if (p.op_type != "ToBlocked" && p.op_type != "ToNchw" && p.op_type != "ToNhwc")
      ops.insert(p.op_type);
  }
  return ops;
}

struct ConvCase {
  const char* name;
  Shape x;  // NCHW
  int64_t m, kh, kw, group;
  std::vector<int64_t> strides, pads, dilations;
  std::string auto_pad;
  bool bias;
};

class OnednnConv : public ::testing::TestWithParam<ConvCase> {};

TEST_P(OnednnConv, MatchesReference) {
  const ConvCase& p = GetParam();
  const int64_t c = p.x[1];
  GraphBuilder b;
  b.input("x", p.x).constant("w", random_tensor({p.m, c / p.group, p.kh, p.kw}, 2));
  std::vector<std::string> in = {"x", "w"};
  if (p.bias) {
    b.constant("b", random_tensor({p.m}, 3));
    in.push_back("b");
  }
  Node& n = b.node("Conv", in, {"y"});
  n.set_attr_int("group", p.group);
  if (!p.strides.empty()) n.set_attr_ints("strides", p.strides);
  if (!p.pads.empty()) n.set_attr_ints("pads", p.pads);
  if (!p.dilations.empty()) n.set_attr_ints("dilations", p.dilations);
  if (!p.auto_pad.empty()) n.set_attr_string("auto_pad", p.auto_pad);
  b.output("y");
  expect_close(b.build(), {random_tensor(p.x, 1)});
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, OnednnConv,
    ::testing::Values(
        ConvCase{"odd_3x3", {1, 3, 7, 9}, 5, 3, 3, 1, {}, {1, 1, 1, 1}, {}, "", true},
        ConvCase{"c13_m19_strided_asym",
                 {2, 13, 11, 10},
                 19,
                 3,
                 2,
                 1,
                 {2, 1},
                 {0, 1, 2, 0},
                 {2, 1},
                 "",
                 true},
        ConvCase{"grouped", {1, 12, 9, 7}, 6, 3, 3, 3, {1, 2}, {1, 1, 1, 1}, {}, "", false},
        ConvCase{"depthwise_s2", {1, 17, 15, 13}, 17, 3, 3, 17, {2, 2}, {1, 1, 1, 1}, {}, "", true},
        ConvCase{"depthwise_5x5_dil",
                 {1, 24, 12, 12},
                 24,
                 5,
                 5,
                 24,
                 {1, 1},
                 {4, 4, 4, 4},
                 {2, 2},
                 "",
                 true},
        ConvCase{"pointwise_c35", {1, 35, 6, 5}, 33, 1, 1, 1, {}, {}, {}, "", true},
        ConvCase{"same_upper_s2", {1, 8, 10, 11}, 16, 3, 3, 1, {2, 2}, {}, {}, "SAME_UPPER", true},
        ConvCase{"same_lower", {1, 5, 6, 7}, 7, 4, 2, 1, {1, 1}, {}, {}, "SAME_LOWER", true},
        ConvCase{"stem_7x7_s2", {1, 3, 31, 29}, 16, 7, 7, 1, {2, 2}, {3, 3, 3, 3}, {}, "", true}),
    [](const ::testing::TestParamInfo<ConvCase>& i) { return std::string(i.param.name); });

// Conv → activation (fused as a post-op) for each supported activation.
class OnednnConvAct : public ::testing::TestWithParam<std::string> {};

TEST_P(OnednnConvAct, FusedActivationMatches) {
  const std::string act = GetParam();
  GraphBuilder b(act == "HardSwish" ? 14 : 13);  // HardSwish exists from opset 14
  b.input("x", {1, 10, 9, 11})
      .constant("w", random_tensor({18, 10, 3, 3}, 5))
      .constant("b", random_tensor({18}, 6));
  b.node("Conv", {"x", "w", "b"}, {"y"}).set_attr_ints("pads", {1, 1, 1, 1});
  if (act == "Clip") {
    b.constant("lo", Tensor::scalar<float>(0.f)).constant("hi", Tensor::scalar<float>(0.5f));
    b.node("Clip", {"y", "lo", "hi"}, {"z"});
  } else if (act == "SiLU") {
    b.node("Sigmoid", {"y"}, {"s"});
    b.node("Mul", {"y", "s"}, {"z"});
  } else {
    Node& n = b.node(act, {"y"}, {"z"});
    if (act == "LeakyRelu") n.set_attr_float("alpha", 0.1f);
    if (act == "Elu") n.set_attr_float("alpha", 0.7f);
  }
  b.output("z");
  const Model m = b.build();
  const Tensor x = random_tensor({1, 10, 9, 11}, 4, -2.f, 2.f);
  expect_close(m, {x});
  // Fused: one Conv, no separate activation node.
  EXPECT_EQ(compute_ops(m, {x}), std::multiset<std::string>{"Conv"});
}

// Every SiLU path this CPU has (scalar, AVX2, AVX-512) against x / (1 + e^-x) in double: finite
// values across both tails and zero, lengths with vector tails of every size, and the error
// bounds silu.cpp states (relative 1e-6; absolute 2e-36 below x = -87, where e^-|x| is clamped).
TEST(OnednnSilu, EveryIsaMatchesDouble) {
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> wide(-100.f, 100.f), narrow(-6.f, 6.f);
  for (int isa = 0; isa <= 2; ++isa) {
    for (int64_t n : {1, 7, 15, 16, 17, 31, 100, 1000}) {
      std::vector<float> x(n);
      for (int64_t i = 0; i < n; ++i) x[i] = i % 3 == 0 ? wide(gen) : narrow(gen);
      x[0] = n > 1 ? 0.f : -87.5f;
      std::vector<float> y = x;
      rt::onednn::silu_inplace_isa(y.data(), n, isa);
      for (int64_t i = 0; i < n; ++i) {
        const double want = x[i] / (1.0 + std::exp(-static_cast<double>(x[i])));
        EXPECT_LE(std::fabs(y[i] - want), x[i] < -87.f ? 2e-36 : 1e-6 * std::fabs(want))
            << "isa " << isa << " n " << n << " x " << x[i];
      }
    }
  }
}

// The Lut kernel's byte lookup on every instruction set the CPU has, against the table itself:
// lengths around the 32- and 64-byte vectors, every byte value.
TEST(OnednnLut, EveryIsaMatchesTable) {
  std::mt19937 gen(11);
  uint8_t table[256];
  for (int b = 0; b < 256; ++b) table[b] = static_cast<uint8_t>(gen());
  for (int isa = 0; isa <= 2; ++isa)
    for (int64_t n : {1, 31, 32, 33, 63, 64, 65, 127, 256, 1000, 4099}) {
      std::vector<uint8_t> x(n), y(n, 0);
      for (int64_t i = 0; i < n; ++i) x[i] = static_cast<uint8_t>(n >= 256 ? i : gen());
      rt::onednn::lut_lookup_isa(x.data(), y.data(), n, table, isa);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(y[i], table[x[i]]) << "isa " << isa << " n " << n << " i " << i;
    }
}

// The per-channel int8 loops (qchannel.cpp) on every instruction set the CPU has, against the
// formulas in 64-bit integers / double: channel counts around the 16-lane vectors and the
// 64-channel register blocks, u8 and s8 on both sides, multipliers that saturate both ways.
TEST(OnednnQChannel, EveryIsaMatchesFormula) {
  std::mt19937 gen(13);
  std::uniform_real_distribution<float> md(-3.f, 3.f);
  for (int isa = 0; isa <= 2; isa += 2)
    for (int64_t c : {1, 15, 16, 17, 63, 64, 65, 130})
      for (int signs = 0; signs < 4; ++signs) {
        const bool xs = signs & 1, ys = signs & 2;
        const int64_t rows = 5;
        std::vector<uint8_t> x(rows * c), y(c);
        for (uint8_t& b : x) b = static_cast<uint8_t>(gen());
        std::vector<float> m(c);
        for (float& v : m) v = md(gen);
        const int32_t zx = xs ? -7 : 131, zy = ys ? 3 : 120;
        const auto xval = [&](int64_t i) {
          return xs ? int32_t(static_cast<int8_t>(x[i])) : int32_t(x[i]);
        };
        rt::onednn::channel_scale_isa(x.data(), xs, y.data(), ys, m.data(), c, zx, zy, isa);
        for (int64_t k = 0; k < c; ++k) {
          const double v = std::nearbyint(double(float(xval(k) - zx) * m[k])) + zy;
          const int32_t want =
              static_cast<int32_t>(std::clamp(v, ys ? -128.0 : 0.0, ys ? 127.0 : 255.0));
          const int32_t got = ys ? int32_t(static_cast<int8_t>(y[k])) : int32_t(y[k]);
          ASSERT_EQ(got, want) << "isa " << isa << " c " << c << " k " << k;
        }
        std::vector<int32_t> acc(c, 1000);
        rt::onednn::channel_sum_isa(x.data(), xs, rows, acc.data(), c, isa);
        for (int64_t k = 0; k < c; ++k) {
          int64_t want = 1000;
          for (int64_t r = 0; r < rows; ++r) want += xval(r * c + k);
          ASSERT_EQ(acc[k], want) << "isa " << isa << " c " << c << " k " << k;
        }
      }
}

// A SiLU ending a conv's post-ops runs as edgeopt's own pass over the output (silu.cpp), split
// across threads: an output of several chunks, values far into both tails (e^-|x| clamped,
// sigmoid of large negatives), after a residual Add, at 1 and 2 threads.
TEST(OnednnConvAct, SiluTailOnLargeOutputs) {
  GraphBuilder b(13);
  b.input("x", {1, 13, 37, 41}).input("r", {1, 21, 37, 41});
  b.constant("w", random_tensor({21, 13, 3, 3}, 91, -3.f, 3.f))
      .constant("b", random_tensor({21}, 92));
  b.node("Conv", {"x", "w", "b"}, {"y"}).set_attr_ints("pads", {1, 1, 1, 1});
  b.node("Add", {"y", "r"}, {"a"});
  b.node("Sigmoid", {"a"}, {"s"});
  b.node("Mul", {"a", "s"}, {"z"});
  b.output("z");
  const Model m = b.build();
  const std::vector<Tensor> in{random_tensor({1, 13, 37, 41}, 93, -4.f, 4.f),
                               random_tensor({1, 21, 37, 41}, 94, -50.f, 50.f)};
  for (int threads : {1, 2}) expect_close(m, in, 1, threads);
  EXPECT_EQ(compute_ops(m, in, 2), std::multiset<std::string>{"Conv"}) << "Conv + Add + SiLU fused";
}

INSTANTIATE_TEST_SUITE_P(Acts, OnednnConvAct,
                         ::testing::Values("Relu", "Clip", "Sigmoid", "SiLU", "HardSwish",
                                           "LeakyRelu", "Tanh", "Elu"));

// Residual block: conv1 → relu → conv2; Add(conv2, x) → Relu, and a strided shortcut conv
// that is produced after conv2 (the Add is fused into whichever conv is its sole reader).
TEST(Onednn, ResidualAddFusedAsPostOp) {
  GraphBuilder b;
  b.input("x", {1, 12, 9, 9})
      .constant("w1", random_tensor({12, 12, 3, 3}, 11))
      .constant("w2", random_tensor({12, 12, 3, 3}, 12))
      .constant("w3", random_tensor({20, 12, 3, 3}, 13))
      .constant("w4", random_tensor({20, 12, 1, 1}, 14));
  b.node("Conv", {"x", "w1"}, {"c1"}).set_attr_ints("pads", {1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"r1"});
  b.node("Conv", {"r1", "w2"}, {"c2"}).set_attr_ints("pads", {1, 1, 1, 1});
  b.node("Add", {"c2", "x"}, {"a1"});
  b.node("Relu", {"a1"}, {"r2"});
  Node& c3 = b.node("Conv", {"r2", "w3"}, {"c3"});
  c3.set_attr_ints("pads", {1, 1, 1, 1});
  c3.set_attr_ints("strides", {2, 2});
  b.node("Conv", {"r2", "w4"}, {"c4"}).set_attr_ints("strides", {2, 2});
  b.node("Add", {"c3", "c4"}, {"a2"});
  b.node("Relu", {"a2"}, {"y"});
  b.output("y");
  const Model m = b.build();
  const Tensor x = random_tensor({1, 12, 9, 9}, 10);
  expect_close(m, {x}, 4);
  // 4 convs: the Adds and Relus are all fused.
  EXPECT_EQ(compute_ops(m, {x}), (std::multiset<std::string>{"Conv", "Conv", "Conv", "Conv"}));
}

TEST(Onednn, PoolsChannelsLastAndPlain) {
  for (bool after_conv : {false, true}) {
    for (const char* op :
         {"MaxPool", "AveragePool", "AveragePoolInclude", "GlobalAveragePool", "GlobalMaxPool"}) {
      SCOPED_TRACE(std::string(op) + (after_conv ? " after conv" : " alone"));
      GraphBuilder b;
      b.input("x", {2, 11, 13, 10}).constant("w", random_tensor({13, 11, 1, 1}, 21));
      std::string in = "x";
      if (after_conv) {
        b.node("Conv", {"x", "w"}, {"c"});
        in = "c";
      }
      const std::string o = op;
      Node& n = b.node(o == "AveragePoolInclude" ? "AveragePool" : o, {in}, {"y"});
      if (o == "MaxPool") {
        n.set_attr_ints("kernel_shape", {3, 3});
        n.set_attr_ints("strides", {2, 2});
        n.set_attr_ints("pads", {1, 0, 1, 1});
        n.set_attr_int("ceil_mode", 1);
      } else if (o == "AveragePool") {
        n.set_attr_ints("kernel_shape", {3, 2});
        n.set_attr_ints("strides", {2, 3});
        n.set_attr_ints("pads", {1, 1, 0, 1});
        n.set_attr_int("ceil_mode", 1);
      } else if (o == "AveragePoolInclude") {
        n.set_attr_ints("kernel_shape", {2, 3});
        n.set_attr_ints("pads", {1, 1, 1, 1});
        n.set_attr_int("count_include_pad", 1);
      }
      b.output("y");
      expect_close(b.build(), {random_tensor({2, 11, 13, 10}, 20)});
    }
  }
}

// Squeeze-and-excitation: Mul of a [N,H,W,C] map by a [N,1,1,C] gate, channels-last.
TEST(Onednn, SqueezeExciteBroadcastMul) {
  GraphBuilder b;
  b.input("x", {1, 20, 7, 9})
      .constant("w", random_tensor({20, 20, 3, 3}, 31))
      .constant("w1", random_tensor({5, 20, 1, 1}, 32))
      .constant("b1", random_tensor({5}, 33))
      .constant("w2", random_tensor({20, 5, 1, 1}, 34))
      .constant("b2", random_tensor({20}, 35))
      .constant("bias_c", random_tensor({20, 1, 1}, 36));
  b.node("Conv", {"x", "w"}, {"c"}).set_attr_ints("pads", {1, 1, 1, 1});
  b.node("Sigmoid", {"c"}, {"cs"});
  b.node("Mul", {"c", "cs"}, {"f"});
  b.node("GlobalAveragePool", {"f"}, {"g"});
  b.node("Conv", {"g", "w1", "b1"}, {"g1"});
  b.node("Sigmoid", {"g1"}, {"g1s"});
  b.node("Mul", {"g1", "g1s"}, {"g1a"});
  b.node("Conv", {"g1a", "w2", "b2"}, {"g2"});
  b.node("Sigmoid", {"g2"}, {"gate"});
  b.node("Mul", {"f", "gate"}, {"se"});
  b.node("Add", {"se", "bias_c"}, {"y"});  // constant [C,1,1] permuted to channels-last
  b.output("y");
  expect_close(b.build(), {random_tensor({1, 20, 7, 9}, 30)}, 6);
}

TEST(Onednn, ConcatChannelsAndGraphOutputInsideRun) {
  GraphBuilder b;
  b.input("x", {1, 6, 5, 7})
      .constant("w1", random_tensor({3, 6, 1, 1}, 41))
      .constant("w2", random_tensor({5, 6, 3, 3}, 42));
  b.node("Conv", {"x", "w1"}, {"a"});
  b.node("Relu", {"a"}, {"ar"});
  Node& n = b.node("Conv", {"x", "w2"}, {"c"});
  n.set_attr_ints("pads", {1, 1, 1, 1});
  b.node("Concat", {"ar", "c"}, {"y"}).set_attr_int("axis", 1);
  b.node("Relu", {"y"}, {"z"});
  b.output("y").output("z").output("ar");  // outputs that are also read inside the run
  expect_close(b.build(), {random_tensor({1, 6, 5, 7}, 40)}, 4);
}

// Concat (rows of memcpy) with an empty input, on inner and outer axes, batch > 1.
TEST(Onednn, ConcatEmptyInputAndAxes) {
  GraphBuilder b;
  b.input("a", {2, 3, 4}).input("e", {2, 0, 4}).input("c", {2, 5, 4});
  b.node("Concat", {"a", "e", "c"}, {"y"}).set_attr_int("axis", 1);
  b.node("Concat", {"y", "y"}, {"z"}).set_attr_int("axis", -1);
  b.node("Concat", {"a", "a"}, {"w"}).set_attr_int("axis", 0);
  b.output("z").output("w");
  expect_close(
      b.build(),
      {random_tensor({2, 3, 4}, 55), Tensor(DType::kF32, {2, 0, 4}), random_tensor({2, 5, 4}, 56)},
      3);
}

TEST(Onednn, PlainBinaryBroadcastAndUnary) {
  // No conv: default-domain kernels on NCHW, including a broadcast first operand of Sub.
  GraphBuilder b;
  b.input("a", {3, 1, 5}).input("b", {2, 1, 4, 5});
  b.node("Sub", {"a", "b"}, {"s"});
  b.node("Div", {"s", "b"}, {"d"});
  b.node("Mul", {"a", "d"}, {"m"});
  b.node("Tanh", {"m"}, {"y"});
  b.output("y");
  expect_close(b.build(),
               {random_tensor({3, 1, 5}, 50), random_tensor({2, 1, 4, 5}, 51, 0.5f, 2.f)}, 4);
}

// A per-"channel" constant over a CHW image without batch ([3, H, W] - [3, 1, 1], the
// normalization torchvision detectors begin with) and a middle-axis broadcast of rank 4: oneDNN
// has no jit kernel for them as given; the kernel merges axes until it does.
TEST(Onednn, BroadcastsMergedForJitKernels) {
  GraphBuilder b;
  b.input("x", {3, 20, 24})
      .input("z", {2, 5, 7, 6})
      .constant("mean", random_tensor({3, 1, 1}, 61))
      .constant("std", random_tensor({3, 1, 1}, 62, 0.5f, 2.f))
      .constant("g", random_tensor({1, 5, 7, 1}, 63));
  b.node("Sub", {"x", "mean"}, {"s"});
  b.node("Div", {"s", "std"}, {"y"});
  b.node("Mul", {"z", "g"}, {"w"});
  b.output("y").output("w");
  const Model m = b.build();
  const std::vector<std::string> lines = onednn_exec_lines(",binary,", [&] {
    expect_close(m, {random_tensor({3, 20, 24}, 60), random_tensor({2, 5, 7, 6}, 64)}, 3);
  });
  EXPECT_GE(lines.size(), 3u);
  for (const std::string& line : lines) EXPECT_EQ(line.find(",ref"), std::string::npos) << line;
}

// Softmax on oneDNN's last-axis kernel: opset 11's 2-D coercion at axis 1 of a rank-4 input
// (rows of C*H*W), opset 13's default last axis with large logits (the max subtraction), and
// opset 13 along axis 1, which oneDNN has only a reference kernel for and which therefore stays
// on the reference provider, as LogSoftmax does.
TEST(Onednn, SoftmaxRowsAndAxes) {
  for (const int64_t opset : {11, 13}) {
    GraphBuilder b(opset);
    b.input("x", {2, 3, 4, 5});
    b.node("Softmax", {"x"}, {"y"});
    b.node("Softmax", {"x"}, {"z"}).set_attr_int("axis", 1);
    b.node("LogSoftmax", {"x"}, {"w"});
    b.output("y").output("z").output("w");
    const Model m = b.build();
    const Tensor x = random_tensor({2, 3, 4, 5}, 70, -30.f, 30.f);
    expect_close(m, {x}, opset < 13 ? 2 : 1);
    Session s(m, SessionOptions{{"onednn", "reference"}, 1, false});
    const auto assigned = s.assignment();
    std::map<std::string, std::string> provider(assigned.begin(), assigned.end());
    EXPECT_EQ(provider[m.graph.nodes[0].name], "onednn") << "opset " << opset;
    EXPECT_EQ(provider[m.graph.nodes[1].name], opset < 13 ? "onednn" : "reference")
        << "opset " << opset;
    EXPECT_EQ(provider[m.graph.nodes[2].name], "reference") << "opset " << opset;
  }
}

TEST(Onednn, GemmAndMatMul) {
  GraphBuilder b;
  b.input("x", {3, 37})
      .input("z", {2, 3, 37})
      .constant("wt", random_tensor({29, 37}, 61))
      .constant("c", random_tensor({29}, 62))
      .constant("w", random_tensor({37, 11}, 63));
  Node& g = b.node("Gemm", {"x", "wt", "c"}, {"y"});
  g.set_attr_int("transB", 1);
  g.set_attr_float("alpha", 0.5f);
  g.set_attr_float("beta", 2.f);
  b.node("MatMul", {"z", "w"}, {"m"});
  b.output("y").output("m");
  expect_close(b.build(), {random_tensor({3, 37}, 60), random_tensor({2, 3, 37}, 64)}, 2);
}

TEST(Onednn, TwoThreadsAndNewBatchSize) {
  GraphBuilder b;
  b.input("x", {1, 16, 14, 14}).constant("w", random_tensor({32, 16, 3, 3}, 71));
  b.node("Conv", {"x", "w"}, {"y"}).set_attr_ints("pads", {1, 1, 1, 1});
  b.output("y");
  const Model m = b.build();
  expect_close(m, {random_tensor({1, 16, 14, 14}, 70)}, 1, 2);
}

// Weights held once: after the first run the session keeps no plain copy of the weights its
// conv and matmul kernels prepacked (they count no more in tensor_bytes_in_use), and a new
// batch size, whose primitives want the weights again, still matches the reference: a plain
// and a grouped conv, a strided 1x1 one, a Gemm; batch 1, 3, then 1 again.
TEST(Onednn, WeightsHeldOnceAndNewBatchSizes) {
  GraphBuilder b;
  b.input("x", {-1, 256, 9, 7})
      .constant("w1", random_tensor({256, 256, 3, 3}, 171))
      .constant("b1", random_tensor({256}, 172))
      .constant("w2", random_tensor({256, 32, 3, 3}, 173))
      .constant("w3", random_tensor({64, 256, 1, 1}, 174))
      .constant("wg", random_tensor({64, 512}, 175))
      .constant("shape", Tensor::from_vector<int64_t>({-1, 64}, {2}));
  Node& c1 = b.node("Conv", {"x", "w1", "b1"}, {"c1"});
  c1.set_attr_ints("pads", {1, 1, 1, 1});
  c1.set_attr_ints("strides", {2, 2});  // not a Winograd one (its scratch would be large)
  b.node("Relu", {"c1"}, {"r1"});
  Node& c2 = b.node("Conv", {"r1", "w2"}, {"c2"});
  c2.set_attr_int("group", 8);
  c2.set_attr_ints("pads", {1, 1, 1, 1});
  b.node("Conv", {"c2", "w3"}, {"c3"}).set_attr_ints("strides", {2, 2});
  b.node("GlobalAveragePool", {"c3"}, {"p"});
  b.node("Reshape", {"p", "shape"}, {"f"});
  b.node("Gemm", {"f", "wg"}, {"y"});
  b.output("y").output("c2");
  const int64_t weights = (256 * 256 * 9 + 256 * 32 * 9 + 64 * 256 + 64 * 512) * 4;
  // Two loads: the sessions must not share the weights' storage.
  Session ref(b.build(), SessionOptions{{"reference"}, 1, false});
  Model m = b.build();
  const int64_t before = tensor_bytes_in_use();  // counts m's weights
  Session fast(std::move(m), SessionOptions{{"onednn", "reference"}, 1, false});
  int onednn = 0;
  for (const auto& [node, provider] : fast.assignment()) onednn += provider == "onednn";
  EXPECT_GE(onednn, 4);
  for (int64_t n : {1, 3, 1}) {
    const Tensor x = random_tensor({n, 256, 9, 7}, 170 + static_cast<uint32_t>(n));
    const std::vector<Tensor> got = fast.run({x}), want = ref.run({x});
    ASSERT_EQ(got.size(), 2u);
    for (size_t o = 0; o < got.size(); ++o)
      EXPECT_TRUE(tensors_close(got[o], want[o],
                                "batch " + std::to_string(n) + " output " + std::to_string(o)));
    // Prepacked weights live in oneDNN's memory, not in tensors: the plain ones were given
    // back (the arenas of the small activations and the biases held since are far smaller).
    EXPECT_LT(tensor_bytes_in_use() - before, -weights / 2) << "batch " << n;
  }
}

// f32 graphs run in oneDNN's blocked layout ([N, C/8, H, W, 8] on AVX2): channel counts that
// leave padded lanes (5, 17, 6, 3), a depthwise and a grouped dilated conv, strides, asymmetric
// pads, a fused residual add, activations that map the zero padding to non-zero values
// (Sigmoid), Div by a per-channel constant, an NCHW graph input joining the run (ToBlocked),
// outputs in the middle of the run.
TEST(OnednnBlocked, OddChannelsGroupsResidual) {
  GraphBuilder b;
  b.input("x", {1, 5, 11, 9})
      .input("z", {1, 6, 6, 5})
      .constant("w1", random_tensor({17, 5, 3, 3}, 101))
      .constant("w2", random_tensor({17, 1, 3, 3}, 102))
      .constant("w3", random_tensor({6, 17, 1, 1}, 103))
      .constant("w4", random_tensor({6, 2, 3, 3}, 104))
      .constant("b4", random_tensor({6}, 105))
      .constant("dv", random_tensor({6, 1, 1}, 106, 0.5f, 2.f))
      .constant("k", random_tensor({1}, 107));
  Node& c1 = b.node("Conv", {"x", "w1"}, {"c1"});
  c1.set_attr_ints("pads", {1, 1, 1, 1});
  c1.set_attr_ints("strides", {2, 2});
  b.node("Relu", {"c1"}, {"r1"});
  Node& c2 = b.node("Conv", {"r1", "w2"}, {"c2"});
  c2.set_attr_int("group", 17);
  c2.set_attr_ints("pads", {0, 1, 2, 1});
  b.node("Add", {"c2", "r1"}, {"a"});
  b.node("Relu", {"a"}, {"ra"});
  b.node("Conv", {"ra", "w3"}, {"c3"});
  Node& c4 = b.node("Conv", {"c3", "w4", "b4"}, {"c4"});
  c4.set_attr_int("group", 3);
  c4.set_attr_ints("dilations", {2, 2});
  c4.set_attr_ints("pads", {2, 2, 2, 2});
  b.node("Sigmoid", {"c4"}, {"s"});
  b.node("Div", {"s", "dv"}, {"d"});
  b.node("Mul", {"d", "k"}, {"mk"});
  b.node("Add", {"mk", "z"}, {"az"});
  Node& mp = b.node("MaxPool", {"az"}, {"p"});
  mp.set_attr_ints("kernel_shape", {3, 2});
  mp.set_attr_ints("pads", {1, 0, 1, 1});
  b.node("GlobalAveragePool", {"p"}, {"y"});
  b.output("y").output("c3").output("s");
  const Model m = b.build();
  expect_close(m, {random_tensor({1, 5, 11, 9}, 100), random_tensor({1, 6, 6, 5}, 108)}, 10);
  Session s(m, SessionOptions{{"onednn", "reference"}, 1, false});
  int to_blocked = 0;
  for (const auto& [node, provider] : s.assignment()) {
    EXPECT_EQ(provider, "onednn") << node;
    to_blocked += node.rfind("to_blocked_", 0) == 0;
  }
  EXPECT_EQ(to_blocked, 1);  // z; x has fewer channels than a block: read as NCHW
}

// Grouped convs whose channels per group do not fill a block (8, 4 and 12 per group; RegNetY,
// ResNeXt) get only oneDNN's `ref:any` in the blocked layout: the kernel runs them channels-last
// between two reorders instead, also with a fused residual Add (reordered too), batch 2, two
// threads. oneDNN's verbose log shows which implementation ran: none may be `ref`.
TEST(OnednnBlocked, NarrowGroupsRunChannelsLast) {
  GraphBuilder b;
  b.input("x", {2, 48, 9, 9})
      .constant("w1", random_tensor({48, 8, 3, 3}, 131))
      .constant("w2", random_tensor({48, 4, 3, 3}, 132))
      .constant("w3", random_tensor({48, 12, 3, 3}, 133))
      .constant("b3", random_tensor({48}, 134));
  Node& c1 = b.node("Conv", {"x", "w1"}, {"c1"});
  c1.set_attr_int("group", 6);
  c1.set_attr_ints("pads", {1, 1, 1, 1});
  b.node("Add", {"c1", "x"}, {"a1"});
  b.node("Relu", {"a1"}, {"r1"});
  Node& c2 = b.node("Conv", {"r1", "w2"}, {"c2"});
  c2.set_attr_int("group", 12);
  c2.set_attr_ints("pads", {1, 1, 1, 1});
  c2.set_attr_ints("strides", {2, 2});
  Node& c3 = b.node("Conv", {"c2", "w3", "b3"}, {"c3"});
  c3.set_attr_int("group", 4);
  c3.set_attr_ints("pads", {0, 1, 2, 1});
  b.node("Sigmoid", {"c3"}, {"y"});
  b.output("y");
  const Model m = b.build();
  const std::vector<Tensor> inputs{random_tensor({2, 48, 9, 9}, 130)};
  const std::vector<std::string> convs =
      onednn_exec_lines(",convolution,", [&] { expect_close(m, inputs, 3, 2); });
  EXPECT_GE(convs.size(), 3u);
  for (const std::string& line : convs) EXPECT_EQ(line.find(",ref"), std::string::npos) << line;
}

// Grouped 1-D convs and 3-D convs stay in the plain layout (the layout rewrite is 2-D only),
// where oneDNN runs them through GEMMs (`gemm:jit`: one small GEMM per group, 10x slower for
// Silero VAD's depthwise convs; im2col for 3-D, 2-3.5x slower on r3d_18): the kernel runs
// them channels-last between reorders (a depthwise conv, 4 channels per group with a residual
// Add, a 3-D conv with bias and Relu, batch 2).
TEST(Onednn, GroupedAnd3dPlainConvsRunChannelsLast) {
  GraphBuilder b;
  b.input("x", {1, 40, 9})
      .input("v", {2, 8, 4, 6, 5})
      .constant("w1", random_tensor({40, 1, 5}, 141))
      .constant("b1", random_tensor({40}, 142))
      .constant("w2", random_tensor({40, 4, 3}, 143))
      .constant("w3", random_tensor({16, 8, 3, 3, 3}, 144))
      .constant("b3", random_tensor({16}, 145));
  Node& c1 = b.node("Conv", {"x", "w1", "b1"}, {"c1"});
  c1.set_attr_int("group", 40);
  c1.set_attr_ints("pads", {2, 2});
  b.node("Relu", {"c1"}, {"r1"});
  Node& c2 = b.node("Conv", {"r1", "w2"}, {"c2"});
  c2.set_attr_int("group", 10);
  c2.set_attr_ints("pads", {1, 1});
  b.node("Add", {"c2", "x"}, {"y"});
  Node& c3 = b.node("Conv", {"v", "w3", "b3"}, {"c3"});
  c3.set_attr_ints("pads", {1, 1, 1, 1, 1, 1});
  b.node("Relu", {"c3"}, {"z"});
  b.output("y").output("z");
  const Model m = b.build();
  const std::vector<std::string> convs = onednn_exec_lines(",convolution,", [&] {
    expect_close(m, {random_tensor({1, 40, 9}, 140), random_tensor({2, 8, 4, 6, 5}, 146)}, 3);
  });
  EXPECT_GE(convs.size(), 3u);
  // oneDNN 2.6 has channels-last jit kernels for 1-D grouped convs from AVX-512 on only.
  const bool avx512 = dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core;
  for (const std::string& line : convs) {
    EXPECT_EQ(line.find(",ref"), std::string::npos) << line;
    if (avx512 || line.find("_id") != std::string::npos) {
      EXPECT_EQ(line.find("gemm"), std::string::npos) << line;
    }
  }
}

// An RGB stem reads its NCHW input directly; a 3-channel value inside the run is blocked. A
// channel Concat of whole blocks stays in the run, batch 2 and two threads.
// LeNet's conv2 reads 6 channels from a blocked run: it gets them back as NCHW (oneDNN 2.6 has
// only its slow reference conv for a padded blocked input of fewer channels than a block).
TEST(OnednnBlocked, FewChannelsFromTheRunAreReadAsNchw) {
  GraphBuilder b;
  b.input("x", {1, 1, 28, 28})
      .constant("w1", random_tensor({6, 1, 5, 5}, 121))
      .constant("w2", random_tensor({16, 6, 5, 5}, 122));
  b.node("Conv", {"x", "w1"}, {"c1"}).set_attr_ints("pads", {2, 2, 2, 2});
  b.node("Relu", {"c1"}, {"r1"});
  Node& p = b.node("MaxPool", {"r1"}, {"p1"});
  p.set_attr_ints("kernel_shape", {2, 2});
  p.set_attr_ints("strides", {2, 2});
  b.node("Conv", {"p1", "w2"}, {"c2"});
  b.node("Relu", {"c2"}, {"y"});
  b.output("y");
  const Model m = b.build();
  expect_close(m, {random_tensor({1, 1, 28, 28}, 120)}, 1, 1);
  Session s(m, SessionOptions{{"onednn", "reference"}, 1, false});
  int to_nchw = 0;
  for (const auto& [node, provider] : s.assignment()) to_nchw += node.rfind("to_nchw_", 0) == 0;
  EXPECT_EQ(to_nchw, 2);  // p1 for conv2, y for the graph output
}

TEST(OnednnBlocked, StemConcatAndBatch) {
  GraphBuilder b;
  b.input("x", {2, 3, 12, 10})
      .constant("w1", random_tensor({8, 3, 3, 3}, 111))
      .constant("w2", random_tensor({3, 8, 1, 1}, 112))
      .constant("w3", random_tensor({16, 3, 3, 3}, 113))
      .constant("w4", random_tensor({8, 8, 1, 1}, 114));
  Node& c1 = b.node("Conv", {"x", "w1"}, {"c1"});
  c1.set_attr_ints("strides", {2, 2});
  c1.set_attr_ints("pads", {1, 1, 1, 1});
  b.node("Conv", {"c1", "w2"}, {"c2"});
  b.node("Conv", {"c2", "w3"}, {"c3"}).set_attr_ints("pads", {1, 1, 1, 1});
  b.node("Conv", {"c1", "w4"}, {"c4"});
  b.node("Concat", {"c3", "c4"}, {"cat"}).set_attr_int("axis", -3);
  b.node("Relu", {"cat"}, {"y"});
  b.node("Concat", {"c2", "c2"}, {"y2"}).set_attr_int("axis", 1);  // 3 + 3: NCHW
  b.output("y").output("y2");
  const Model m = b.build();
  expect_close(m, {random_tensor({2, 3, 12, 10}, 110)}, 6, 2);
  Session s(m, SessionOptions{{"onednn", "reference"}, 1, false});
  for (const auto& [node, provider] : s.assignment())
    EXPECT_NE(node.rfind("to_blocked_", 0), 0u) << node;
}

// ---------------------------------------------------------------- Resize / ConvTranspose

// Nodes of a onednn session by op type (layout changes included), every one on onednn.
std::multiset<std::string> all_ops(const Model& model, const std::vector<Tensor>& inputs,
                                   int threads) {
  Session s(model, SessionOptions{{"onednn", "reference"}, threads, true, false});
  s.run(inputs);
  std::multiset<std::string> ops;
  for (const NodeProfile& p : s.profile()) {
    EXPECT_EQ(p.provider, "onednn") << p.node;
    ops.insert(p.op_type);
  }
  return ops;
}

struct ResizeCase {
  const char* name;
  int64_t opset;
  const char* op;                      // Resize or Upsample
  const char *mode, *coord, *nearest;  // coord / nearest "" = the op's default
  int64_t c, h, w;                     // the resized tensor [1, c, h, w]
  std::vector<float> scales;           // or
  std::vector<int64_t> sizes;
};

class OnednnResize : public ::testing::TestWithParam<std::tuple<ResizeCase, int>> {};

// stem Conv (3 -> c, 1x1) -> Resize -> Conv (c -> 7, 3x3): the Resize runs inside the blocked
// run, no layout change around it (the stem reads NCHW, one ToNchw for the output). c > 16 and
// not a multiple of 8 (a conv reading fewer channels than a block would read NCHW).
TEST_P(OnednnResize, MatchesReferenceInsideBlockedRun) {
  const ResizeCase& rc = std::get<0>(GetParam());
  const int threads = std::get<1>(GetParam());
  GraphBuilder b(rc.opset);
  b.input("x", {1, 3, rc.h, rc.w})
      .constant("w1", random_tensor({rc.c, 3, 1, 1}, 201))
      .constant("w2", random_tensor({7, rc.c, 3, 3}, 202));
  b.node("Conv", {"x", "w1"}, {"c1"});
  std::vector<std::string> in = {"c1"};
  if (std::string(rc.op) == "Upsample" && rc.opset < 9) {
  } else if (!rc.sizes.empty()) {
    b.constant("sizes", Tensor::from_vector(rc.sizes, {4}));
    in = {"c1", "", "", "sizes"};
  } else {
    b.constant("scales", Tensor::from_vector(rc.scales, {4}));
    if (rc.opset >= 11 && std::string(rc.op) == "Resize")
      in = {"c1", "", "scales"};
    else
      in.push_back("scales");
  }
  Node& r = b.node(rc.op, in, {"r"});
  if (std::string(rc.op) == "Upsample" && rc.opset < 9) r.set_attr_floats("scales", rc.scales);
  r.set_attr_string("mode", rc.mode);
  if (*rc.coord) r.set_attr_string("coordinate_transformation_mode", rc.coord);
  if (*rc.nearest) r.set_attr_string("nearest_mode", rc.nearest);
  b.node("Conv", {"r", "w2"}, {"y"}).set_attr_ints("pads", {1, 1, 1, 1});
  b.output("y");
  const Model m = b.build();
  const std::vector<Tensor> x = {random_tensor({1, 3, rc.h, rc.w}, 200)};
  expect_close(m, x, 3, threads);
  const std::multiset<std::string> ops = all_ops(m, x, threads);
  EXPECT_EQ(ops.count("Resize"), 1u);
  EXPECT_EQ(ops.count("ToBlocked"), 0u);
  EXPECT_EQ(ops.count("ToNchw"), 1u);
}

const ResizeCase kResizeCases[] = {
    {"nearest_default_x2", 13, "Resize", "nearest", "", "", 21, 7, 9, {1, 1, 2, 2}, {}},
    {"nearest_asym_floor_x2",
     13,
     "Resize",
     "nearest",
     "asymmetric",
     "floor",
     19,
     7,
     9,
     {1, 1, 2, 2},
     {}},
    {"nearest_half_pixel_ceil_sizes",
     13,
     "Resize",
     "nearest",
     "half_pixel",
     "ceil",
     35,
     7,
     9,
     {},
     {1, 35, 12, 20}},
    {"nearest_align_corners_prefer_ceil",
     13,
     "Resize",
     "nearest",
     "align_corners",
     "round_prefer_ceil",
     17,
     5,
     11,
     {1, 1, 3.f, 1.5f},
     {}},
    {"nearest_pytorch_half_pixel_down",
     13,
     "Resize",
     "nearest",
     "pytorch_half_pixel",
     "round_prefer_floor",
     21,
     13,
     11,
     {1, 1, 0.5f, 0.6f},
     {}},
    {"nearest_tf_half_pixel_for_nn",
     13,
     "Resize",
     "nearest",
     "tf_half_pixel_for_nn",
     "",
     25,
     6,
     7,
     {1, 1, 1.7f, 2.5f},
     {}},
    {"linear_half_pixel_x2", 13, "Resize", "linear", "half_pixel", "", 19, 7, 9, {1, 1, 2, 2}, {}},
    {"linear_pytorch_half_pixel_sizes",
     13,
     "Resize",
     "linear",
     "pytorch_half_pixel",
     "",
     21,
     7,
     9,
     {},
     {1, 21, 1, 33}},
    {"linear_align_corners_x8",
     11,
     "Resize",
     "linear",
     "align_corners",
     "",
     21,
     5,
     6,
     {1, 1, 8, 8},
     {}},
    {"linear_asymmetric_down",
     13,
     "Resize",
     "linear",
     "asymmetric",
     "",
     33,
     15,
     13,
     {1, 1, 0.4f, 0.75f},
     {}},
    {"resize10_nearest", 10, "Resize", "nearest", "", "", 17, 7, 9, {1, 1, 2, 3}, {}},
    {"resize10_linear_down", 10, "Resize", "linear", "", "", 19, 9, 9, {1, 1, 0.6f, 0.5f}, {}},
    {"upsample9_nearest", 9, "Upsample", "nearest", "", "", 21, 7, 9, {1, 1, 2, 2}, {}},
    {"upsample9_linear", 9, "Upsample", "linear", "", "", 19, 7, 9, {1, 1, 2, 3}, {}},
    {"upsample7_nearest_attr", 7, "Upsample", "nearest", "", "", 17, 7, 9, {1, 1, 3, 2}, {}},
};

INSTANTIATE_TEST_SUITE_P(Modes, OnednnResize,
                         ::testing::Combine(::testing::ValuesIn(kResizeCases),
                                            ::testing::Values(1, 2)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).name) + "_t" +
                                  std::to_string(std::get<1>(info.param));
                         });

// Sizes only known when the graph runs (a graph input here; torchvision computes them from
// Shape(x)), a Resize reading a graph input and writing a graph output (NCHW borders), and a
// second input shape.
TEST(OnednnResizeRuntime, SizesFromAGraphInput) {
  GraphBuilder b(13);
  b.input("x", {1, 5, 7, 9}).input("sizes", {4}, DType::kI64);
  b.node("Resize", {"x", "", "", "sizes"}, {"y"}).set_attr_string("mode", "linear");
  b.output("y");
  const Model m = b.build();
  for (const auto& s : {std::vector<int64_t>{1, 5, 16, 21}, std::vector<int64_t>{1, 5, 3, 4}}) {
    const std::vector<Tensor> in = {random_tensor({1, 5, 7, 9}, 210), Tensor::from_vector(s, {4})};
    for (int threads : {1, 2}) {
      Session fast(m, SessionOptions{{"onednn", "reference"}, threads, false});
      const Tensor got = fast.run(in).at(0);
      const Tensor want = Session(m, SessionOptions{{"reference"}}).run(in).at(0);
      EXPECT_TRUE(tensors_close(got, want, "Resize", test::Tolerance{0, 1e-5}));
      int resize_on_onednn = 0;
      for (const auto& [node, provider] : fast.assignment())
        resize_on_onednn += node == "Resize_0" && provider == "onednn";
      EXPECT_EQ(resize_on_onednn, 1);
    }
  }
}

// A segmenter's head: the last Resize writes the NCHW graph output itself (no ToNchw), for 21
// channels (two 16-lane blocks, the last padded) and 5 (one block) at 1 and 2 threads.
TEST(OnednnResize, LastResizeWritesNchwOutput) {
  for (int64_t c : {21, 5}) {
    GraphBuilder b(13);
    b.input("x", {1, 3, 10, 9})
        .constant("w1", random_tensor({c, 3, 3, 3}, 231))
        .constant("scales", Tensor::from_vector(std::vector<float>{1, 1, 8, 8}, {4}));
    b.node("Conv", {"x", "w1"}, {"c1"}).set_attr_ints("pads", {1, 1, 1, 1});
    Node& r = b.node("Resize", {"c1", "", "scales"}, {"y"});
    r.set_attr_string("mode", "linear");
    r.set_attr_string("coordinate_transformation_mode", "pytorch_half_pixel");
    b.output("y");
    const Model m = b.build();
    const std::vector<Tensor> x = {random_tensor({1, 3, 10, 9}, 230)};
    for (int threads : {1, 2}) {
      expect_close(m, x, 2, threads);
      const std::multiset<std::string> ops = all_ops(m, x, threads);
      EXPECT_EQ(ops.count("Resize"), 1u);
      EXPECT_EQ(ops.count("ToNchw"), 0u);
    }
  }
}

// MobileNetV3 as PyTorch exports it before opset 14: hardswish is Mul(y, HardSigmoid(y)) with
// alpha 1/6, and the squeeze-excitation gate a HardSigmoid after a conv; both become post-ops
// of the convs (HardSwish; Linear + Clip), nothing left on reference.
TEST(OnednnConvAct, HardSigmoidAndHardSwishFused) {
  GraphBuilder b(13);
  b.input("x", {1, 3, 11, 9})
      .constant("w1", random_tensor({20, 3, 3, 3}, 241, -2.f, 2.f))
      .constant("w2", random_tensor({20, 20, 1, 1}, 242, -2.f, 2.f));
  b.node("Conv", {"x", "w1"}, {"c1"});
  b.node("HardSigmoid", {"c1"}, {"h1"}).set_attr_float("alpha", 1.f / 6);
  b.node("Mul", {"c1", "h1"}, {"hs"});
  b.node("Conv", {"hs", "w2"}, {"c2"});
  Node& g = b.node("HardSigmoid", {"c2"}, {"gate"});
  g.set_attr_float("alpha", 0.25f);
  g.set_attr_float("beta", 0.4f);
  b.node("Mul", {"hs", "gate"}, {"y"});
  b.output("y");
  const Model m = b.build();
  const std::vector<Tensor> x = {random_tensor({1, 3, 11, 9}, 240, -2.f, 2.f)};
  expect_close(m, x, 3);
  const std::multiset<std::string> ops = compute_ops(m, x);
  EXPECT_EQ(ops, (std::multiset<std::string>{"Conv", "Conv", "Mul"}));
}

struct ConvTCase {
  const char* name;
  int64_t c, m, h, w, kh, kw, group;
  std::vector<int64_t> strides, pads, dilations, output_padding, output_shape;
  std::string auto_pad;
  bool bias, relu;
};

class OnednnConvTranspose : public ::testing::TestWithParam<std::tuple<ConvTCase, int>> {};

// stem Conv (3 -> c) -> ConvTranspose [+ bias + Relu fused] -> Conv (m -> 5): blocked
// throughout, the Relu gone into the deconvolution.
TEST_P(OnednnConvTranspose, MatchesReferenceInsideBlockedRun) {
  const ConvTCase& k = std::get<0>(GetParam());
  const int threads = std::get<1>(GetParam());
  GraphBuilder b;
  b.input("x", {1, 3, k.h, k.w})
      .constant("w1", random_tensor({k.c, 3, 1, 1}, 221))
      .constant("wt", random_tensor({k.c, k.m / k.group, k.kh, k.kw}, 222))
      .constant("bt", random_tensor({k.m}, 223))
      .constant("w2", random_tensor({5, k.m, 1, 1}, 224));
  b.node("Conv", {"x", "w1"}, {"c1"});
  std::vector<std::string> in = {"c1", "wt"};
  if (k.bias) in.push_back("bt");
  Node& t = b.node("ConvTranspose", in, {k.relu ? "t" : "a"});
  if (k.group > 1) t.set_attr_int("group", k.group);
  if (!k.strides.empty()) t.set_attr_ints("strides", k.strides);
  if (!k.pads.empty()) t.set_attr_ints("pads", k.pads);
  if (!k.dilations.empty()) t.set_attr_ints("dilations", k.dilations);
  if (!k.output_padding.empty()) t.set_attr_ints("output_padding", k.output_padding);
  if (!k.output_shape.empty()) t.set_attr_ints("output_shape", k.output_shape);
  if (!k.auto_pad.empty()) t.set_attr_string("auto_pad", k.auto_pad);
  if (k.relu) b.node("Relu", {"t"}, {"a"});
  b.node("Conv", {"a", "w2"}, {"y"});
  b.output("y");
  const Model m = b.build();
  const std::vector<Tensor> x = {random_tensor({1, 3, k.h, k.w}, 220)};
  expect_close(m, x, 3, threads);
  const std::multiset<std::string> ops = all_ops(m, x, threads);
  EXPECT_EQ(ops.count("ConvTranspose"), 1u);
  EXPECT_EQ(ops.count("Relu"), 0u);
  EXPECT_EQ(ops.count("ToBlocked"), 0u);
  EXPECT_EQ(ops.count("ToNchw"), 1u);
}

const ConvTCase kConvTCases[] = {
    {"k2s2_unet", 19, 17, 7, 9, 2, 2, 1, {2, 2}, {}, {}, {}, {}, "", true, true},
    {"k3s2_pads_outpad",
     5,
     17,
     7,
     6,
     3,
     3,
     1,
     {2, 2},
     {1, 1, 1, 1},
     {},
     {1, 1},
     {},
     "",
     true,
     false},
    {"k4s2p1_fcn", 21, 21, 5, 7, 4, 4, 1, {2, 2}, {1, 1, 1, 1}, {}, {}, {}, "", false, true},
    {"groups_dilation_asym",
     12,
     20,
     6,
     5,
     3,
     2,
     4,
     {1, 2},
     {0, 1, 2, 0},
     {2, 1},
     {},
     {},
     "",
     true,
     true},
    {"depthwise_s3", 16, 16, 5, 5, 3, 3, 16, {3, 3}, {}, {}, {2, 0}, {}, "", true, false},
    {"output_shape", 7, 19, 6, 7, 3, 3, 1, {2, 2}, {}, {}, {}, {12, 14}, "", true, true},
    {"same_upper", 9, 18, 5, 8, 3, 3, 1, {2, 2}, {}, {}, {}, {}, "SAME_UPPER", false, true},
    {"same_lower", 9, 22, 5, 8, 4, 3, 1, {2, 3}, {}, {}, {}, {}, "SAME_LOWER", true, false},
};

INSTANTIATE_TEST_SUITE_P(Shapes, OnednnConvTranspose,
                         ::testing::Combine(::testing::ValuesIn(kConvTCases),
                                            ::testing::Values(1, 2)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).name) + "_t" +
                                  std::to_string(std::get<1>(info.param));
                         });

// ---------------------------------------------------------------- Winograd

// SessionOptions::winograd kAll makes every eligible conv (3x3, stride 1, dilation 1, group 1,
// blocked input) take a Winograd kernel whatever its size, kOff none (src/runtime/onednn/
// conv.cpp).
SessionOptions onednn_options(int threads, WinogradMode winograd) {
  SessionOptions o{{"onednn", "reference"}, threads, false};
  o.winograd = winograd;
  return o;
}

struct WinogradCase {
  const char* name;
  int64_t n, c, m, h, w;
  int threads;
};

class OnednnWinograd : public ::testing::TestWithParam<WinogradCase> {};

// conv1 (bias, Relu) -> conv2 (no bias, + x, Relu) -> conv3 (bias, asymmetric pads, Clip) ->
// conv4 (no bias, LeakyRelu): all four are Winograd convs; edge tiles, padded channel lanes,
// batches and two threads. The oneDNN direct run of the same graph must differ in rounding
// (evidence that the Winograd path ran) while both match the reference.
TEST_P(OnednnWinograd, MatchesReference) {
  const WinogradCase& p = GetParam();
  GraphBuilder b;
  b.input("x", {p.n, p.c, p.h, p.w})
      .constant("w1", random_tensor({p.m, p.c, 3, 3}, 201))
      .constant("b1", random_tensor({p.m}, 202))
      .constant("w2", random_tensor({p.c, p.m, 3, 3}, 203))
      .constant("w3", random_tensor({p.m, p.c, 3, 3}, 204))
      .constant("b3", random_tensor({p.m}, 205))
      .constant("w4", random_tensor({p.c, p.m, 3, 3}, 206))
      .constant("lo", Tensor::scalar<float>(-0.5f))
      .constant("hi", Tensor::scalar<float>(2.f));
  b.node("Conv", {"x", "w1", "b1"}, {"c1"}).set_attr_ints("pads", {1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"r1"});
  b.node("Conv", {"r1", "w2"}, {"c2"}).set_attr_ints("pads", {1, 1, 1, 1});
  b.node("Add", {"c2", "x"}, {"a2"});
  b.node("Relu", {"a2"}, {"r2"});
  b.node("Conv", {"r2", "w3", "b3"}, {"c3"}).set_attr_ints("pads", {2, 1, 1, 2});
  b.node("Clip", {"c3", "lo", "hi"}, {"r3"});
  b.node("Conv", {"r3", "w4"}, {"c4"}).set_attr_ints("pads", {1, 1, 1, 1});
  b.node("LeakyRelu", {"c4"}, {"y"}).set_attr_float("alpha", 0.1f);
  b.output("y").output("r2");
  const Model m = b.build();
  const Tensor x = random_tensor({p.n, p.c, p.h, p.w}, 200);
  const std::vector<Tensor> direct =
      Session(m, onednn_options(p.threads, WinogradMode::kOff)).run({x});
  test::CompareOptions options;
  options.threads = p.threads;
  options.min_provider_nodes = 4;
  options.winograd = WinogradMode::kAll;
  EXPECT_TRUE(test::matches_reference(m, {x}, "onednn", options));
  Session s(m, onednn_options(p.threads, WinogradMode::kAll));
  const std::vector<Tensor> wino = s.run({x});
  for (const auto& [node, provider] : s.assignment()) EXPECT_EQ(provider, "onednn") << node;
  ASSERT_EQ(wino.size(), direct.size());
  double d = 0;
  for (int64_t i = 0; i < wino[0].numel(); ++i)
    d = std::max(d, std::fabs(wino[0].get_f64(i) - direct[0].get_f64(i)));
  EXPECT_GT(d, 0.0) << "the Winograd kernel did not run";
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, OnednnWinograd,
    ::testing::Values(WinogradCase{"c12_m20_1x1", 1, 12, 20, 1, 1, 1},
                      WinogradCase{"c20_m12_2x5", 1, 20, 12, 2, 5, 1},
                      WinogradCase{"c16_m24_7x13", 1, 16, 24, 7, 13, 1},
                      WinogradCase{"c12_m16_14x14_batch2", 2, 12, 16, 14, 14, 1},
                      WinogradCase{"c8_m40_13x7_2threads", 1, 8, 40, 13, 7, 2},
                      WinogradCase{"c20_m32_14x13_batch2_2threads", 2, 20, 32, 14, 13, 2},
                      WinogradCase{"c64_m64_5x14_2threads", 1, 64, 64, 5, 14, 2},
                      WinogradCase{"c64_m72_27x28_batch2_2threads", 2, 64, 72, 27, 28, 2}),
    [](const ::testing::TestParamInfo<WinogradCase>& i) { return std::string(i.param.name); });

// Static input shapes: the plain weights go as soon as they are prepacked, also those of a
// Winograd conv (its layout cannot be read back, so with a symbolic dim they would stay).
TEST(OnednnWinogradRule, WeightsHeldOnceWithStaticShapes) {
  auto build = [](int64_t n) {
    GraphBuilder b;
    b.input("x", {n, 256, 6, 5})
        .constant("w1", random_tensor({512, 256, 3, 3}, 211))
        .constant("w2", random_tensor({256, 512, 3, 3}, 212));
    b.node("Conv", {"x", "w1"}, {"c1"}).set_attr_ints("pads", {1, 1, 1, 1});
    b.node("Relu", {"c1"}, {"r1"});
    b.node("Conv", {"r1", "w2"}, {"y"}).set_attr_ints("pads", {1, 1, 1, 1});
    b.output("y");
    return b.build();
  };
  const int64_t weights = 2 * 512 * 256 * 9 * 4;  // 9.4 MB; activations 61 KB
  for (int64_t n : {int64_t{1}, int64_t{-1}}) {
    Session ref(build(n), SessionOptions{{"reference"}, 1, false});
    Model m = build(n);
    const int64_t before = tensor_bytes_in_use();  // counts m's weights
    Session fast(std::move(m), onednn_options(1, WinogradMode::kAll));
    const Tensor x = random_tensor({1, 256, 6, 5}, 210);
    for (int run = 0; run < 2; ++run) {
      const Tensor got = fast.run({x})[0], want = ref.run({x})[0];
      EXPECT_TRUE(
          tensors_close(got, want, "batch " + std::to_string(n) + " run " + std::to_string(run)));
    }
    const int64_t held = tensor_bytes_in_use() - before;  // arena - given-back weights
    if (n == 1)
      EXPECT_LT(held, -weights / 2) << "static shapes: plain weights kept";
    else
      EXPECT_GT(held, -weights / 2) << "symbolic batch: the Winograd convs' plain weights stay";
  }
}

// The size rule (WinogradMode::kAuto) must agree with the reference too, on a map it takes.
TEST(OnednnWinogradRule, ResidualBlock) {
  GraphBuilder b;
  b.input("x", {1, 32, 28, 28})
      .constant("w1", random_tensor({32, 32, 3, 3}, 211))
      .constant("b1", random_tensor({32}, 212))
      .constant("w2", random_tensor({32, 32, 3, 3}, 213));
  b.node("Conv", {"x", "w1", "b1"}, {"c1"}).set_attr_ints("pads", {1, 1, 1, 1});
  b.node("Relu", {"c1"}, {"r1"});
  b.node("Conv", {"r1", "w2"}, {"c2"}).set_attr_ints("pads", {1, 1, 1, 1});
  b.node("Add", {"c2", "x"}, {"a"});
  b.node("Relu", {"a"}, {"y"});
  b.output("y");
  expect_close(b.build(), {random_tensor({1, 32, 28, 28}, 210)}, 2);
}

// The size rule is memory-aware: a 512->512 conv on a 7x7 map (resnet18's layer4) stays direct,
// its Winograd weights would cost more bytes than the time they save (conv.cpp), while a 64->64
// one on 56x56 takes Winograd. Bitwise equality with the direct run (WinogradMode::kOff) says
// which kernel ran; kAll first shows that both convs can run Winograd on this host.
TEST(OnednnWinogradRule, DeepMapsStayDirect) {
  struct Case {
    int64_t c, h;
    bool winograd;
  };
  for (const Case k : {Case{512, 7, false}, Case{64, 56, true}}) {
    GraphBuilder b;
    b.input("x", {1, k.c, k.h, k.h})
        .constant("w", random_tensor({k.c, k.c, 3, 3}, 221))
        .constant("b", random_tensor({k.c}, 222));
    b.node("Conv", {"x", "w", "b"}, {"c"}).set_attr_ints("pads", {1, 1, 1, 1});
    b.node("Relu", {"c"}, {"y"});
    b.output("y");
    const Model m = b.build();
    const Tensor x = random_tensor({1, k.c, k.h, k.h}, 220);
    auto run = [&](WinogradMode mode) { return Session(m, onednn_options(1, mode)).run({x})[0]; };
    const Tensor direct = run(WinogradMode::kOff), all = run(WinogradMode::kAll);
    auto same = [](const Tensor& a, const Tensor& b) {
      return std::memcmp(a.raw(), b.raw(), a.numel() * sizeof(float)) == 0;
    };
    if (same(all, direct)) GTEST_SKIP() << "no Winograd conv on this host";
    const Tensor chosen = run(WinogradMode::kAuto);
    EXPECT_TRUE(tensors_close(chosen, direct, "rule vs direct"));
    EXPECT_EQ(!same(chosen, direct), k.winograd) << k.c << "->" << k.c << " @" << k.h;
  }
}

// ---------------------------------------------------------------- whole models

void expect_model_close(const fs::path& model_path, const Tensor& input) {
  EXPECT_TRUE(test::matches_reference(load_model(model_path), {input}, "onednn")) << model_path;
}

TEST(OnednnModels, FashionResnet) {
  const fs::path p = fs::path(EDGEOPT_SOURCE_DIR) / "models" / "fashion_resnet.onnx";
  if (!fs::exists(p)) GTEST_SKIP() << p << " is missing";
  expect_model_close(p, random_tensor({1, 1, 28, 28}, 80, 0.f, 1.f));
  expect_model_close(p, random_tensor({3, 1, 28, 28}, 81, 0.f, 1.f));
}

TEST(OnednnModels, FashionMobilenet) {
  const fs::path p = fs::path(EDGEOPT_SOURCE_DIR) / "models" / "fashion_mobilenet.onnx";
  if (!fs::exists(p)) GTEST_SKIP() << p << " is missing";
  expect_model_close(p, random_tensor({1, 1, 28, 28}, 82, 0.f, 1.f));
  expect_model_close(p, random_tensor({2, 1, 28, 28}, 83, 0.f, 1.f));
}

// A provider list without reference still runs ops the fast provider lacks (Flatten here) on
// reference, unless the fallback is turned off; the default list is onednn then reference.
TEST(OnednnModels, ReferenceFallbackAndDefault) {
  const fs::path p = fs::path(EDGEOPT_SOURCE_DIR) / "models" / "fashion_resnet.onnx";
  if (!fs::exists(p)) GTEST_SKIP() << p << " is missing";
  const Model m = load_model(p);
  Session fast(m, SessionOptions{{"onednn"}, 1, false});
  const Tensor x = random_tensor({1, 1, 28, 28}, 84, 0.f, 1.f);
  const Tensor got = fast.run({x}).at(0);
  const Tensor want = Session(m, SessionOptions{{"reference"}}).run({x}).at(0);
  EXPECT_TRUE(tensors_close(got, want));
  std::set<std::string> used;
  for (const auto& [node, provider] : fast.assignment()) used.insert(provider);
  EXPECT_EQ(used, (std::set<std::string>{"onednn", "reference"}));
  SessionOptions strict{{"onednn"}, 1, false};
  strict.reference_fallback = false;
  EXPECT_THROW(Session(m, strict), Error);
#if defined(__x86_64__)
  EXPECT_EQ(default_providers(), (std::vector<std::string>{"onednn", "reference"}));
  std::set<std::string> by_default;
  for (const auto& [node, provider] : Session(m).assignment()) by_default.insert(provider);
  EXPECT_TRUE(by_default.count("onednn"));
#endif
}

class OnednnTorchvision : public ::testing::TestWithParam<std::string> {};

TEST_P(OnednnTorchvision, MatchesReference) {
  const fs::path dir = fs::path(EDGEOPT_BINARY_DIR) / "fixtures";
  const fs::path model = dir / (GetParam() + "_op13.onnx");
  const fs::path input = dir / (GetParam() + "_input.pb");
  if (!fs::exists(model) || !fs::exists(input)) GTEST_SKIP() << model << " is missing";
  expect_model_close(model, load_tensor_pb(input));
}

INSTANTIATE_TEST_SUITE_P(Models, OnednnTorchvision,
                         ::testing::Values("resnet18", "mobilenet_v2", "squeezenet1_1",
                                           "efficientnet_b0"));

}  // namespace
}  // namespace edgeopt
