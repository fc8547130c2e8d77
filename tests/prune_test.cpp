// Pruning tests. Unstructured: exact zero counts, global vs layer scope, the
// 2:4 pattern, and the deflated file size. Structured: channels that are
// already dead (all-zero filters and bias) are the ones the L1 criterion
// removes, so the physically smaller model must compute exactly what the
// original computes — an independent check of every slice across residual adds,
// depthwise convs, concats, flatten → gemm and grouped convs. MACs are checked
// with inspect_model. The grouped-conv families (RegNet X / Y, ResNeXt) and
// ShuffleNetV2 come from scripts/make_torchvision_fixtures.py --prune-models;
// their pruned models are also run by ONNX Runtime (bench/ort/run_ort.js).
#include "edgeopt/prune.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>

#include "edgeopt/error.h"
#include "edgeopt/inspect.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/session.h"
#include "ir/onnx_proto_utils.h"
#include "testing/model_builder.h"
#include "testing/random.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("edgeopt_prune_test_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

// x[1,8,6,6] → Conv 3x3 (16) → Relu → Conv 3x3 (32, small weights) → GAP →
// Flatten → Gemm (10, transB) → y. Layers have different weight scales so that
// global scope differs from layer scope.
Model small_cnn() {
  std::mt19937 rng(7);
  Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", 13}};
  Graph &g = m.graph;
  g.name = "small_cnn";
  g.inputs = {test::value_info("x", {1, 8, 6, 6})};
  g.outputs = {test::value_info("y", {1, 10})};
  g.add_initializer("w1", test::normal_tensor({16, 8, 3, 3}, 1.0f, rng));
  g.add_initializer("b1", test::normal_tensor({16}, 1.0f, rng));
  g.add_initializer("w2", test::normal_tensor({32, 16, 3, 3}, 0.1f, rng));
  g.add_initializer("b2", test::normal_tensor({32}, 1.0f, rng));
  g.add_initializer("w3", test::normal_tensor({10, 32}, 0.5f, rng));
  g.add_initializer("b3", test::normal_tensor({10}, 1.0f, rng));
  Node c1 = test::make_node("conv1", "Conv", {"x", "w1", "b1"}, {"c1"});
  c1.set_attr_ints("pads", {1, 1, 1, 1});
  Node c2 = test::make_node("conv2", "Conv", {"r1", "w2", "b2"}, {"c2"});
  c2.set_attr_ints("pads", {1, 1, 1, 1});
  Node fc = test::make_node("fc", "Gemm", {"f", "w3", "b3"}, {"y"});
  fc.set_attr_int("transB", 1);
  g.nodes = {c1,
             test::make_node("relu1", "Relu", {"c1"}, {"r1"}),
             c2,
             test::make_node("gap", "GlobalAveragePool", {"c2"}, {"p"}),
             test::make_node("flatten", "Flatten", {"p"}, {"f"}),
             fc};
  return m;
}

Tensor run_model(const Model &m, const Tensor &x) {
  Session s(m);
  return s.run({x})[0];
}

int64_t zeros(const Tensor &t) {
  int64_t z = 0;
  for (int64_t i = 0; i < t.numel(); ++i) z += t.data<float>()[i] == 0.0f;
  return z;
}

const Tensor &init(const Model &m, const std::string &name) {
  return m.graph.find_initializer(name)->tensor;
}

TEST(PruneUnstructured, LayerScopeZeroesTheExactFractionOfEveryWeight) {
  const Model original = small_cnn();
  Model m = original;
  PruneOptions o;
  o.sparsity = 0.6;
  const PruneReport r = prune_unstructured(m, o);
  ASSERT_EQ(r.layers.size(), 3u);
  for (const char *w : {"w1", "w2", "w3"}) {
    const Tensor &t = init(m, w);
    EXPECT_EQ(zeros(t), static_cast<int64_t>(std::floor(0.6 * t.numel()))) << w;
    // The zeroed weights are the smallest: every kept |w| >= every zeroed |w|.
    const Tensor &before = init(original, w);
    float max_zeroed = 0, min_kept = 1e30f;
    for (int64_t i = 0; i < t.numel(); ++i) {
      const float a = std::fabs(before.data<float>()[i]);
      if (t.data<float>()[i] == 0.0f)
        max_zeroed = std::max(max_zeroed, a);
      else
        min_kept = std::min(min_kept, a);
    }
    EXPECT_LE(max_zeroed, min_kept) << w;
  }
  // Biases are untouched, and the original model is not modified through shared
  // storage.
  for (const char *b : {"b1", "b2", "b3"}) EXPECT_EQ(zeros(init(m, b)), 0) << b;
  EXPECT_EQ(zeros(init(original, "w1")), 0);
}

TEST(PruneUnstructured, GlobalScopeRanksAllWeightsTogether) {
  Model m = small_cnn();
  PruneOptions o;
  o.sparsity = 0.5;
  o.scope = PruneScope::kGlobal;
  const PruneReport r = prune_unstructured(m, o);
  const int64_t n = 16 * 8 * 9 + 32 * 16 * 9 + 10 * 32;
  EXPECT_EQ(r.numel, n);
  EXPECT_EQ(r.zeros, n / 2);
  // conv2's weights are 10x smaller than conv1's: a global threshold takes far
  // more of them.
  const double s1 = static_cast<double>(zeros(init(m, "w1"))) / init(m, "w1").numel();
  const double s2 = static_cast<double>(zeros(init(m, "w2"))) / init(m, "w2").numel();
  EXPECT_GT(s2, 0.6);
  EXPECT_LT(s1, 0.2);
}

TEST(PruneUnstructured, TwoOfFourKeepsTheTwoLargestOfEveryFourInputChannels) {
  const Model original = small_cnn();
  Model m = original;
  PruneOptions o;
  o.pattern = PrunePattern::k2of4;
  prune_unstructured(m, o);
  // conv weights [Cout, Cin, 3, 3]: groups of 4 along Cin at each (cout, kh,
  // kw).
  for (const char *w : {"w1", "w2", "w3"}) {
    const Tensor &t = init(m, w);
    const Tensor &before = init(original, w);
    const int64_t cout = t.dim(0), cin = t.dim(1), k = t.numel() / (cout * cin);
    for (int64_t o2 = 0; o2 < cout; ++o2)
      for (int64_t b = 0; b < cin; b += 4)
        for (int64_t s = 0; s < k; ++s) {
          std::vector<std::pair<float, bool>> group;  // (|w| before, zeroed)
          for (int64_t j = 0; j < 4; ++j) {
            const int64_t idx = (o2 * cin + b + j) * k + s;
            group.push_back({std::fabs(before.data<float>()[idx]), t.data<float>()[idx] == 0});
          }
          int nz = 0;
          float max_zeroed = 0, min_kept = 1e30f;
          for (auto [a, z] : group) {
            nz += z;
            if (z)
              max_zeroed = std::max(max_zeroed, a);
            else
              min_kept = std::min(min_kept, a);
          }
          ASSERT_EQ(nz, 2) << w;
          ASSERT_LE(max_zeroed, min_kept) << w;
        }
  }
}

TEST(PruneUnstructured, DeflatedFileShrinksWithSparsity) {
  const fs::path dir = temp_dir();
  int64_t previous = 0;
  for (double s : {0.0, 0.5, 0.8}) {
    Model m = small_cnn();
    PruneOptions o;
    o.sparsity = s;
    prune_unstructured(m, o);
    const fs::path p = dir / ("cnn_" + std::to_string(static_cast<int>(s * 10)) + ".onnx");
    save_model(m, p);
    const int64_t bytes = inspect_model(load_model(p), 1, p).compressed_bytes;
    if (previous) {
      EXPECT_LT(bytes, previous * (1.0 - 0.6 * (s - 0.3))) << "sparsity " << s;
    }
    previous = bytes;
  }
  fs::remove_all(dir);
}

TEST(PruneUnstructured, UnknownExcludedNodeIsAnError) {
  Model m = small_cnn();
  PruneOptions o;
  o.exclude = {"no_such_node"};
  EXPECT_THROW(prune_unstructured(m, o), Error);
}

// Zeroes the filters and bias of output channels c with c % 8 < 3 in every Conv
// except those with `skip_cout` outputs: those channels are dead, and removing
// them changes nothing. Returns the Convs left alive (their width is not a
// multiple of 8, or `skip_cout`): pruning must leave their channels alone.
std::vector<std::string> kill_channels(Model &m, int64_t skip_cout) {
  Graph &g = m.graph;
  std::vector<std::string> alive;
  for (const Node &n : g.nodes) {
    if (n.op_type != "Conv") continue;
    NamedTensor *w = g.find_initializer(n.input(1));
    if (!w || w->tensor.dim(0) == skip_cout || w->tensor.dim(0) % 8) {
      alive.push_back(n.name);
      continue;
    }
    w->tensor = w->tensor.clone();
    const int64_t per = w->tensor.numel() / w->tensor.dim(0);
    NamedTensor *b = n.input(2).empty() ? nullptr : g.find_initializer(n.input(2));
    if (b) b->tensor = b->tensor.clone();
    for (int64_t c = 0; c < w->tensor.dim(0); ++c) {
      if (c % 8 >= 3) continue;
      std::fill_n(w->tensor.data<float>() + c * per, per, 0.0f);
      if (b) b->tensor.data<float>()[c] = 0;
    }
  }
  return alive;
}

Tensor fixed_input(Shape shape) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> d(0.0f, 1.0f);
  Tensor t(DType::kF32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

double max_abs_diff(const Tensor &a, const Tensor &b) {
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    m = std::max(m, std::fabs(double(a.data<float>()[i]) - b.data<float>()[i]));
  return m;
}

double max_abs(const Tensor &a) {
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(double(a.data<float>()[i])));
  return m;
}

// Prunes `ratio` of the channels of a model whose dead channels are exactly
// that fraction (3 in every 8 channels, so also 3 in every group of a grouped
// conv whose groups are 8 or 16 wide); checks the saved file passes the
// checker, runs with the same output, and has fewer MACs. The pruned model is
// left in `pruned_model` when given.
void check_dead_channel_pruning(const fs::path &path, Shape input, int64_t skip_cout,
                                double min_mac_drop, Model *pruned_model = nullptr) {
  Model m = load_model(path);
  StructuredPruneOptions o;
  o.ratio = 3.0 / 8.0;
  o.round_to = 1;  // exactly 5/8 kept (rounding 400 to 248 would cut 2 live channels)
  o.exclude = kill_channels(m, skip_cout);
  const Tensor x = fixed_input(input);
  const Tensor expected = run_model(m, x);
  const int64_t macs_before = inspect_model(m, 1).macs;

  const StructuredPruneReport r = prune_structured(m, o);
  int pruned = 0;
  for (const ChannelGroup &gr : r.groups) pruned += gr.kept < gr.channels;
  EXPECT_GT(pruned, 0);
  const fs::path dir = temp_dir();
  const fs::path out = dir / "pruned.onnx";
  save_model(m, out);  // runs the ONNX checker
  const Model reloaded = load_model(out);
  const Tensor got = run_model(reloaded, x);
  ASSERT_EQ(got.shape(), expected.shape());
  EXPECT_LE(max_abs_diff(got, expected), 1e-4 * std::max(1.0, max_abs(expected)));
  const int64_t macs_after = inspect_model(reloaded, 1).macs;
  EXPECT_LT(static_cast<double>(macs_after), (1.0 - min_mac_drop) * macs_before);
  fs::remove_all(dir);
  if (pruned_model) *pruned_model = reloaded;
}

fs::path model_path(const std::string &name) {
  return fs::path(EDGEOPT_SOURCE_DIR) / "models" / name;
}

TEST(PruneStructured, FashionResnetDeadChannelsGoWithoutChangingTheOutput) {
  // Residual adds: the stem, block-1 convs and each stage's shortcut share
  // channel sets.
  check_dead_channel_pruning(model_path("fashion_resnet.onnx"), {1, 1, 28, 28}, -1, 0.4);
}

TEST(PruneStructured, FashionMobilenetDeadChannelsGoWithoutChangingTheOutput) {
  const fs::path p = model_path("fashion_mobilenet.onnx");
  if (!fs::exists(p)) GTEST_SKIP() << p << " not trained yet";
  // Depthwise convs pass their producer's channels through; Clip (ReLU6) passes
  // them on.
  check_dead_channel_pruning(p, {1, 1, 28, 28}, -1, 0.3);
}

TEST(PruneStructured, RatioSetsTheMacReductionOnFashionResnet) {
  const Model original = load_model(model_path("fashion_resnet.onnx"));
  Model m = original;
  StructuredPruneOptions o;
  o.ratio = 0.3;
  prune_structured(m, o);
  const fs::path dir = temp_dir();
  save_model(m, dir / "r.onnx");
  const Model reloaded = load_model(dir / "r.onnx");
  const double ratio = static_cast<double>(inspect_model(reloaded, 1).macs) /
                       static_cast<double>(inspect_model(original, 1).macs);
  // Inner convs lose channels on both sides: about (1 - 0.3)^2 = 0.49 of the
  // MACs stay.
  EXPECT_GT(ratio, 0.40);
  EXPECT_LT(ratio, 0.60);
  const Tensor y = run_model(reloaded, fixed_input({2, 1, 28, 28}));
  EXPECT_EQ(y.shape(), (Shape{2, 10}));
  fs::remove_all(dir);
}

// squeezenet1_1 (Concat of expand1x1/expand3x3 in every fire module) from the
// torchvision fixtures, or exported here with /usr/bin/python3 when there are
// none.
TEST(PruneStructured, SqueezenetConcatDeadChannelsGoWithoutChangingTheOutput) {
  fs::path p = fs::path(EDGEOPT_BINARY_DIR) / "fixtures" / "squeezenet1_1_op13.onnx";
  const fs::path dir = temp_dir() / "squeezenet";
  if (!fs::exists(p)) {
    fs::create_directories(dir);
    p = dir / "squeezenet1_1.onnx";
    const std::string cmd =
        "/usr/bin/python3 -c \"import torch, torchvision; "
        "torch.manual_seed(0); "
        "m = torchvision.models.squeezenet1_1(weights=None).eval(); "
        "torch.onnx.export(m, torch.randn(1, 3, 224, 224), '" +
        p.string() +
        "', opset_version=13, input_names=['input'], "
        "output_names=['logits'])\" >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0 || !fs::exists(p))
      GTEST_SKIP() << "could not export squeezenet1_1 with /usr/bin/python3 torchvision";
  }
  // The classifier conv (1000 outputs) feeds the logits: its channels are never
  // pruned.
  check_dead_channel_pruning(p, {1, 3, 224, 224}, 1000, 0.2);
  fs::remove_all(dir);
}

// The grouped-conv and channel-shuffle families, exported (batch 1, opset 13)
// into the build's fixture cache by the fixture script when missing.
fs::path prune_fixture(const std::string &name) {
  const fs::path dir = fs::path(EDGEOPT_BINARY_DIR) / "fixtures";
  const fs::path p = dir / (name + "_op13.onnx");
  if (!fs::exists(p) || !fs::exists(dir / (name + "_input.pb"))) {
    const std::string cmd = "/usr/bin/python3 " EDGEOPT_SOURCE_DIR
                            "/scripts/make_torchvision_fixtures.py '" +
                            dir.string() + "' --models --prune-models >/dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  return p;
}

// Grouped (not depthwise) convs: name → [group, Cin/G, Cout].
std::map<std::string, std::vector<int64_t>> grouped_convs(const Model &m) {
  std::map<std::string, std::vector<int64_t>> convs;
  for (const Node &node : m.graph.nodes) {
    const int64_t group = node.attr_int("group", 1);
    if (node.op_type != "Conv" || group == 1) continue;
    const Tensor &w = m.graph.find_initializer(node.input(1))->tensor;
    if (w.dim(1) > 1) convs[node.name] = {group, w.dim(1), w.dim(0)};
  }
  return convs;
}

class PruneGrouped : public ::testing::TestWithParam<std::string> {};

// Dead channels (zeroed beforehand, 3 in 8) are exactly the ones removed:
// grouped convs must keep their group count with every kept channel where it
// was, 5/8 as wide on both sides.
TEST_P(PruneGrouped, DeadChannelsGoWithoutChangingTheOutput) {
  const fs::path p = prune_fixture(GetParam());
  ASSERT_TRUE(fs::exists(p));
  const auto before = grouped_convs(load_model(p));
  ASSERT_GT(before.size(), 0u);
  Model pruned;
  check_dead_channel_pruning(p, {1, 3, 224, 224}, -1, 0.3, &pruned);
  const auto after = grouped_convs(pruned);
  ASSERT_EQ(after.size(), before.size());
  for (const auto &[name, b] : before) {
    const std::vector<int64_t> &a = after.at(name);
    EXPECT_EQ(a[0], b[0]) << name;
    EXPECT_EQ(a[1] * 8, b[1] * 5) << name;
    EXPECT_EQ(a[2] * 8, b[2] * 5) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Grouped, PruneGrouped,
                         ::testing::Values("regnet_x_400mf", "regnet_y_400mf", "resnext26_32x8d"));

class PruneFamily : public ::testing::TestWithParam<std::string> {};

// The model as the pruner sees it (shapes folded: inspect counts the MACs of
// ShuffleNetV2's blocks only once its chunk Slices have constant bounds).
Model folded(const Model &original) {
  Model m = original;
  StructuredPruneOptions o;
  o.ratio = 0;
  prune_structured(m, o);
  return m;
}

// Zeroes, in `m`, the output channels (filters and bias) of every Conv that
// `pruned` (the same model pruned) no longer has, found by their bias values.
// Depthwise convs lose the channels of their producer, so theirs are zeroed
// too and nothing of a removed channel reaches a consumer.
void zero_removed_channels(Model &m, const Model &pruned) {
  std::map<std::string, const Node *> by_name;
  for (const Node &n : pruned.graph.nodes) by_name[n.name] = &n;
  int64_t zeroed = 0;
  for (const Node &n : m.graph.nodes) {
    if (n.op_type != "Conv" || n.input(2).empty() || !by_name.count(n.name)) continue;
    NamedTensor *w = m.graph.find_initializer(n.input(1));
    NamedTensor *b = m.graph.find_initializer(n.input(2));
    const Tensor &kept = pruned.graph.find_initializer(by_name[n.name]->input(2))->tensor;
    ASSERT_TRUE(w && b);
    if (kept.numel() == b->tensor.numel()) continue;
    std::vector<bool> keep(b->tensor.numel(), false);
    for (int64_t k = 0; k < kept.numel(); ++k) {
      const float *first = b->tensor.data<float>(), *last = first + b->tensor.numel();
      const float *at = std::find(first, last, kept.data<float>()[k]);
      ASSERT_NE(at, last) << n.name;
      ASSERT_EQ(std::find(at + 1, last, *at), last) << n.name << ": bias values repeat";
      keep[at - first] = true;
    }
    w->tensor = w->tensor.clone();
    b->tensor = b->tensor.clone();
    const int64_t per = w->tensor.numel() / w->tensor.dim(0);
    for (int64_t c = 0; c < b->tensor.numel(); ++c) {
      if (keep[c]) continue;
      std::fill_n(w->tensor.data<float>() + c * per, per, 0.0f);
      b->tensor.data<float>()[c] = 0;
      ++zeroed;
    }
  }
  ASSERT_GT(zeroed, 0);
}

// Zero-out → prune → same output: the channels --ratio 0.4 removes are zeroed
// in the unpruned model first; pruning that model removes the same (now dead)
// channels, and must compute what it computes, within 1e-4 relative. In
// ShuffleNetV2 this checks the channels followed through every channel shuffle
// and the rewritten Reshape / Slice constants.
TEST_P(PruneFamily, ZeroedChannelsGoWithoutChangingTheOutput) {
  const fs::path p = prune_fixture(GetParam());
  ASSERT_TRUE(fs::exists(p));
  const Model base = folded(load_model(p));
  StructuredPruneOptions o;
  o.ratio = 0.4;
  Model first = base;
  prune_structured(first, o);
  Model zeroed = base;
  zero_removed_channels(zeroed, first);
  const Tensor x = load_tensor_pb(p.parent_path() / (GetParam() + "_input.pb"));
  const Tensor expected = run_model(zeroed, x);
  Model m = zeroed;
  prune_structured(m, o);
  const fs::path dir = temp_dir() / (GetParam() + "_zeroed");
  fs::create_directories(dir);
  save_model(m, dir / "pruned.onnx");  // runs the ONNX checker
  const Tensor got = run_model(load_model(dir / "pruned.onnx"), x);
  ASSERT_EQ(got.shape(), expected.shape());
  EXPECT_LE(max_abs_diff(got, expected), 1e-4 * std::max(1.0, max_abs(expected)));
  EXPECT_EQ(inspect_model(m, 1).macs, inspect_model(first, 1).macs);
  fs::remove_all(dir);
}

// --ratio 0.4 on the untouched model: at most 0.55x the MACs (inspect figures),
// edgeopt's output equals ONNX Runtime's on the same pruned file, and the
// shapes are the unpruned model's.
TEST_P(PruneFamily, RatioPointFourHalvesTheMacsAndOnnxRuntimeAgrees) {
  const fs::path p = prune_fixture(GetParam());
  ASSERT_TRUE(fs::exists(p));
  const Model original = load_model(p);
  Model m = original;
  StructuredPruneOptions o;
  o.ratio = 0.4;
  prune_structured(m, o);
  const fs::path dir = temp_dir() / GetParam();
  fs::create_directories(dir);
  const fs::path out = dir / "pruned.onnx";
  save_model(m, out);
  const Model reloaded = load_model(out);
  // Grouped convs stay grouped convs with the same group count.
  const auto before = grouped_convs(original), after = grouped_convs(reloaded);
  ASSERT_EQ(after.size(), before.size());
  for (const auto &[name, b] : before) EXPECT_EQ(after.at(name)[0], b[0]) << name;
  const double ratio = static_cast<double>(inspect_model(reloaded, 1).macs) /
                       static_cast<double>(inspect_model(folded(original), 1).macs);
  std::printf("%s: MACs ratio %.3f at --ratio 0.4\n", GetParam().c_str(), ratio);
  EXPECT_LE(ratio, 0.55);
  EXPECT_GE(ratio, 0.25);

  const fs::path input = p.parent_path() / (GetParam() + "_input.pb");
  const Tensor x = load_tensor_pb(input);
  const Tensor got = run_model(reloaded, x);
  ASSERT_EQ(got.shape(), (Shape{1, 1000}));
  const std::string ort = std::string(EDGEOPT_SOURCE_DIR) + "/bench/ort";
  if (std::system(("node -e \"require('" + ort + "/node_modules/onnxruntime-node')\" 2>/dev/null")
                      .c_str()) != 0)
    GTEST_SKIP() << "onnxruntime-node is not installed (scripts/setup.sh installs it)";
  const std::string cmd = "node " + ort + "/run_ort.js '" + out.string() + "' --input '" +
                          input.string() + "' --warmup 0 --runs 1 --save-outputs '" + dir.string() +
                          "' >/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const Tensor want = load_tensor_pb(dir / "output_0.pb");
  ASSERT_EQ(want.shape(), got.shape());
  EXPECT_LE(max_abs_diff(got, want), 1e-4 * std::max(1.0, max_abs(want)));
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(GroupedAndShuffle, PruneFamily,
                         ::testing::Values("regnet_x_400mf", "regnet_y_400mf", "resnext26_32x8d",
                                           "shufflenet_v2_x1_0"));

}  // namespace
}  // namespace edgeopt
