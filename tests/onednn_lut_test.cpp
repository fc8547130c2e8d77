// Lut on the oneDNN provider: float islands DQ → element-wise ops → Q (SiLU, Sigmoid, Tanh)
// become one 256-entry table whose values the reference provider computes, so the outputs must
// be identical to the reference provider's, in plain and channels-last runs, u8 and s8.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "edgeopt/session.h"
#include "testing/model_builder.h"

namespace edgeopt {
namespace {

int onednn_count(Session& s, const std::string& op) {
  int k = 0;
  for (const NodeProfile& p : s.profile()) k += p.provider == "onednn" && p.op_type == op;
  return k;
}

SessionOptions fast_options() {
  SessionOptions o{{"onednn", "reference"}, 1, false};
  o.profile = true;
  return o;
}

SessionOptions reference_options() { return SessionOptions{{"reference"}, 1, false}; }

void expect_identical(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  int64_t differ = 0;
  const size_t es = got.numel() ? got.nbytes() / got.numel() : 1;
  for (int64_t i = 0; i < got.numel(); ++i)
    differ += std::memcmp(static_cast<const char*>(got.raw()) + i * es,
                          static_cast<const char*>(want.raw()) + i * es, es) != 0;
  EXPECT_EQ(differ, 0) << what << ": " << differ << " of " << got.numel() << " elements differ";
}

class Builder : public test::ModelBuilder {
 public:
  Builder() : ModelBuilder(14, "onednn_lut_test") {}  // 14: HardSwish
  // Q(x) with scale s and zero point z (u8, or s8 when `s8`); returns the quantized value.
  std::string q(const std::string& x, float s, int z, bool s8) {
    const std::string p = x + "_q";
    constant(p + "_s", Tensor::scalar(s));
    constant(p + "_z",
             s8 ? Tensor::scalar(static_cast<int8_t>(z)) : Tensor::scalar(static_cast<uint8_t>(z)));
    node("QuantizeLinear", {x, p + "_s", p + "_z"}, {p});
    return p;
  }
  // DQ of the output of q(x, ...).
  std::string dq(const std::string& x) {
    const std::string p = x + "_q";
    node("DequantizeLinear", {p, p + "_s", p + "_z"}, {x + "_dq"});
    return x + "_dq";
  }
  std::string qdq(const std::string& x, float s, int z, bool s8) {
    q(x, s, z, s8);
    return dq(x);
  }
  // DQ of s8 conv weights [m, c, 3, 3] per output channel and an int32 bias of scale sx·sw.
  std::pair<std::string, std::string> weights(const std::string& name, int64_t m, int64_t c,
                                              float sx, uint32_t seed) {
    return test::add_int8_weights(*this, name, {m, c, 3, 3}, sx, seed, 0, 500);
  }
  // y = SiLU(v) = Mul(v, Sigmoid(v)); returns y.
  std::string silu(const std::string& v, const std::string& y) {
    node("Sigmoid", {v}, {y + "_sig"});
    node("Mul", {v, y + "_sig"}, {y});
    return y;
  }
  // The model as written (no serializer round trip).
  Model build() const { return model(); }
};

Tensor random_input(const Shape& shape, uint32_t seed, float lo = -6.f, float hi = 6.f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor x(DType::kF32, shape);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = dist(gen);
  return x;
}

// Runs the model on both providers; every output must be identical. The onednn session's Lut
// count.
int compare(const Model& m, const Tensor& x) {
  Session fast(m, fast_options()), ref(m, reference_options());
  const std::vector<Tensor> got = fast.run({x}), want = ref.run({x});
  EXPECT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size() && i < want.size(); ++i)
    expect_identical(got[i], want[i], "output " + m.graph.outputs[i].name);
  return onednn_count(fast, "Lut");
}

// Checks `out`, the onednn session's output of the island from b.q(x)'s value to b.q(y)'s
// (DQ, SiLU, Q), against the reference provider running that island on `in`.
void expect_island(const Model& m, const std::string& x, const std::string& y, const Tensor& in,
                   const Tensor& out) {
  Model im;
  im.opset_imports = m.opset_imports;
  ValueInfo vi;
  vi.name = x + "_q";
  vi.dtype = in.dtype();
  vi.has_shape = true;
  for (int64_t d : in.shape()) vi.dims.push_back(Dim{d, ""});
  im.graph.inputs.push_back(vi);
  for (const std::string& c : {x + "_q_s", x + "_q_z", y + "_q_s", y + "_q_z"})
    im.graph.add_initializer(c, m.graph.find_initializer(c)->tensor);
  for (const Node& n : m.graph.nodes)
    if (n.outputs[0] == x + "_dq" || n.outputs[0] == y + "_sig" || n.outputs[0] == y ||
        n.outputs[0] == y + "_q")
      im.graph.nodes.push_back(n);
  ValueInfo vo;
  vo.name = y + "_q";
  vo.dtype = out.dtype();
  im.graph.outputs.push_back(vo);
  Session ref(im, reference_options());
  expect_identical(out, ref.run({in})[0], "island output");
}

struct IslandCase {
  std::string name;
  bool s8;
  Shape shape;
};

class OnednnLutIsland : public ::testing::TestWithParam<IslandCase> {};

// x → Q → DQ → SiLU → Q → DQ (f32 out); DQ → Sigmoid → Q (8-bit out);
// DQ → Tanh → Mul 0.5 → Add 0.25 → Q → DQ; DQ → HardSwish → Clip → Q.
TEST_P(OnednnLutIsland, MatchesReference) {
  const IslandCase& p = GetParam();
  const DType t = p.s8 ? DType::kI8 : DType::kU8;
  const int z = p.s8 ? 3 : 131;
  Builder b;
  b.input("x", p.shape);
  const std::string v = b.qdq("x", 0.05f, z, p.s8);
  b.silu(v, "s");
  b.output(b.qdq("s", 0.025f, p.s8 ? -100 : 20, p.s8));
  b.node("Sigmoid", {v}, {"g"});
  b.output(b.q("g", 1.f / 256, p.s8 ? -128 : 0, p.s8), t);
  b.constant("half", Tensor::scalar(0.5f));
  b.constant("quarter", Tensor::from_vector(std::vector<float>{0.25f}, {1}));
  b.node("Tanh", {v}, {"th"});
  b.node("Mul", {"th", "half"}, {"th2"});
  b.node("Add", {"quarter", "th2"}, {"th3"});
  b.output(b.qdq("th3", 0.004f, z, p.s8));
  b.constant("lo", Tensor::scalar(-0.1f));
  b.constant("hi", Tensor::scalar(2.5f));
  b.node("HardSwish", {v}, {"hs"});
  b.node("Clip", {"hs", "lo", "hi"}, {"hc"});
  b.output(b.q("hc", 0.01f, z, p.s8), t);
  EXPECT_EQ(compare(b.build(), random_input(p.shape, 11)), 4);
}

INSTANTIATE_TEST_SUITE_P(Cases, OnednnLutIsland,
                         ::testing::Values(IslandCase{"u8_rank4", false, {2, 3, 5, 7}},
                                           IslandCase{"s8_rank4", true, {2, 3, 5, 7}},
                                           IslandCase{"u8_rank2", false, {9, 31}},
                                           IslandCase{"s8_rank2", true, {9, 31}}),
                         [](const ::testing::TestParamInfo<IslandCase>& i) {
                           return i.param.name;
                         });

// The DQ output has readers outside the island (a graph output and a Relu): the DQ stays for
// them. An island value that is a graph output or read outside keeps the island as it is.
TEST(OnednnLut, OutsideReaders) {
  Builder b;
  b.input("x", {4, 33});
  const std::string v = b.qdq("x", 0.04f, 128, false);
  b.output(v);
  b.node("Relu", {v}, {"r"});
  b.output("r");
  b.silu(v, "s");
  b.output(b.qdq("s", 0.03f, 10, false));
  // Not islands (exact ops, so the float nodes left on onednn match the reference): a Relu
  // whose value is also a graph output; a Clip whose value an Add outside reads.
  b.node("Relu", {v}, {"g"});
  b.output("g");
  b.node("Mul", {v, "g"}, {"m"});
  b.output(b.qdq("m", 0.03f, 10, false));
  b.constant("lo", Tensor::scalar(-1.f));
  b.constant("hi", Tensor::scalar(2.f));
  b.node("Clip", {v, "lo", "hi"}, {"c"});
  b.output(b.qdq("c", 0.01f, 128, false));
  b.node("Add", {"c", "c"}, {"cc"});
  b.output("cc");
  EXPECT_EQ(compare(b.build(), random_input({4, 33}, 5)), 1);
}

// An island between two QConvs (x → Q → DQ → Conv → Q → DQ → SiLU → Q → DQ → Conv → Q →
// DQ): the Lut runs inside the channels-last run. QConv may round one step apart from the
// reference's float conv, so the island's output is compared with the reference island run on
// the onednn session's own QConv output, and the Lut ran in channels-last layout.
TEST(OnednnLut, BetweenQConvsChannelsLast) {
  Builder b;
  b.input("x", {2, 5, 9, 7});
  const float sx = 0.03f;
  const std::string v = b.qdq("x", sx, 120, false);
  auto [w1, b1] = b.weights("c1", 12, 5, sx, 1);
  b.node("Conv", {v, w1, b1}, {"c1y"}).set_attr_ints("pads", {1, 1, 1, 1});
  const std::string c1q = b.q("c1y", 0.05f, 128, false);
  b.output(c1q, DType::kU8);
  b.silu(b.dq("c1y"), "s");
  const std::string sq = b.q("s", 0.02f, 14, false);
  b.output(sq, DType::kU8);
  const std::string sdq = b.dq("s");
  auto [w2, b2] = b.weights("c2", 6, 12, 0.02f, 2);
  b.node("Conv", {sdq, w2, b2}, {"c2y"}).set_attr_ints("pads", {1, 1, 1, 1});
  b.output(b.qdq("c2y", 0.05f, 128, false));
  const Model m = b.build();

  Session fast(m, fast_options());
  const std::vector<Tensor> got = fast.run({random_input({2, 5, 9, 7}, 3, -3.5f, 4.f)});
  EXPECT_EQ(onednn_count(fast, "Lut"), 1);
  EXPECT_EQ(onednn_count(fast, "QConv"), 2);
  EXPECT_EQ(onednn_count(fast, "Sigmoid"), 0);
  EXPECT_EQ(onednn_count(fast, "Mul"), 0);
  EXPECT_EQ(onednn_count(fast, "ToNhwc"), 1) << "only x's; the Lut reads and writes nhwc";

  expect_island(m, "c1y", "s", got[0], got[1]);
}

// The same in a blocked f32 run: f32 Conv (5 channels: a padded block) → Q → DQ → SiLU → Q
// → DQ → Conv; the Lut follows the rank-5 blocked layout.
TEST(OnednnLut, BlockedRun) {
  Builder b;
  b.input("x", {1, 3, 8, 6});
  std::mt19937 gen(4);
  std::uniform_real_distribution<float> dist(-0.5f, 0.5f);
  Tensor w1(DType::kF32, {5, 3, 3, 3}), w2(DType::kF32, {4, 5, 3, 3});
  for (Tensor* w : {&w1, &w2})
    for (int64_t i = 0; i < w->numel(); ++i) w->data<float>()[i] = dist(gen);
  b.constant("w1", w1);
  b.constant("w2", w2);
  b.node("Conv", {"x", "w1"}, {"c1y"}).set_attr_ints("pads", {1, 1, 1, 1});
  const std::string c1q = b.q("c1y", 0.05f, 128, false);
  b.output(c1q, DType::kU8);
  b.silu(b.dq("c1y"), "s");
  const std::string sq = b.q("s", 0.02f, 14, false);
  b.output(sq, DType::kU8);
  b.node("Conv", {b.dq("s"), "w2"}, {"c2y"}).set_attr_ints("pads", {1, 1, 1, 1});
  b.output("c2y");
  const Model m = b.build();
  Session fast(m, fast_options());
  const std::vector<Tensor> got = fast.run({random_input({1, 3, 8, 6}, 9)});
  EXPECT_EQ(onednn_count(fast, "Lut"), 1);
  EXPECT_EQ(onednn_count(fast, "Conv"), 2);
  EXPECT_EQ(onednn_count(fast, "ToBlocked"), 0) << "the Lut and the DQ stay blocked";
  expect_island(m, "c1y", "s", got[0], got[1]);
}

}  // namespace
}  // namespace edgeopt
