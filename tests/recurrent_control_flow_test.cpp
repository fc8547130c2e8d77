// PyTorch models with recurrent layers (LSTM, GRU) and data-dependent control flow (a
// torch.jit.script'ed `if` and `for`, exported as If and Loop), made by
// scripts/make_recurrent_fixtures.py into <build>/fixtures in the suite's setup: the
// reference provider must reproduce PyTorch's outputs, max |edgeopt - torch| <= 1e-4 *
// max |torch| per output. Also: topological order, the passes and the session see what a
// subgraph reads from the outer scope.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "edgeopt/onnx_io.h"
#include "edgeopt/passes.h"
#include "edgeopt/session.h"
#include "ir/onnx_proto_utils.h"
#include "testing/model_builder.h"
#include "testing/random.h"
#include "testing/tolerance.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;

fs::path fixtures_dir() { return fs::path(EDGEOPT_BINARY_DIR) / "fixtures"; }

class RecurrentControlFlow : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    if (fs::exists(fixtures_dir() / "recurrent_op13.onnx") &&
        fs::exists(fixtures_dir() / "control_flow_op13.onnx"))
      return;
    const std::string cmd = "/usr/bin/python3 " EDGEOPT_SOURCE_DIR
                            "/scripts/make_recurrent_fixtures.py " +
                            fixtures_dir().string() + " 2>/dev/null";
    made_ = std::system(cmd.c_str()) == 0;
  }
  static std::vector<Tensor> load_all(const std::string& name, const std::string& kind) {
    std::vector<Tensor> v;
    for (int i = 0;; ++i) {
      const fs::path p = fixtures_dir() / (name + "_" + kind + "_" + std::to_string(i) + ".pb");
      if (!fs::exists(p)) return v;
      v.push_back(load_tensor_pb(p));
    }
  }
  // Runs `model` on the fixture inputs and compares every output with PyTorch's.
  static void expect_matches_torch(const Model& model, const std::string& name) {
    const std::vector<Tensor> in = load_all(name, "input");
    const std::vector<Tensor> want = load_all(name, "output");
    ASSERT_FALSE(in.empty());
    ASSERT_FALSE(want.empty());
    SessionOptions opts;
    opts.providers = {"reference"};
    Session session(model, opts);
    const std::vector<Tensor> got = session.run(in);
    ASSERT_EQ(got.size(), want.size());
    for (size_t o = 0; o < want.size(); ++o) {
      ASSERT_EQ(got[o].dtype(), DType::kF32);
      ASSERT_EQ(got[o].shape(), want[o].shape()) << name << " output " << o;
      double max_diff = 0, max_ref = 0;
      for (int64_t i = 0; i < want[o].numel(); ++i) {
        const double a = got[o].data<float>()[i], b = want[o].data<float>()[i];
        ASSERT_TRUE(std::isfinite(a));
        max_diff = std::max(max_diff, std::fabs(a - b));
        max_ref = std::max(max_ref, std::fabs(b));
      }
      std::printf("%s output %zu: max |diff| %.3g, max |ref| %.3g\n", name.c_str(), o, max_diff,
                  max_ref);
      EXPECT_GT(max_ref, 0);
      EXPECT_LE(max_diff, 1e-4 * max_ref) << name << " output " << o;
    }
  }
  void SetUp() override {
    ASSERT_TRUE(made_) << "scripts/make_recurrent_fixtures.py failed";
    path_ = fixtures_dir() / (GetParam() + ".onnx");
    ASSERT_TRUE(fs::exists(path_)) << path_;
  }
  static inline bool made_ = true;
  fs::path path_;
};

TEST_P(RecurrentControlFlow, ReferenceMatchesPyTorch) {
  expect_matches_torch(load_model(path_), GetParam());
}

// The optimizer's passes (dead-code elimination, identity and constant folding...) must keep
// every value a subgraph reads from the outer scope, and the result must still match.
TEST_P(RecurrentControlFlow, OptimizedMatchesPyTorch) {
  Model model = load_model(path_);
  const PassReport report = optimize(model);
  // The exports hold Constant nodes that the passes turn into initializers: the passes ran.
  EXPECT_LT(report.nodes_after, report.nodes_before);
  expect_matches_torch(model, GetParam());
}

// Save and load again: the subgraphs (If branches, Loop body) survive the ONNX round trip.
TEST_P(RecurrentControlFlow, RoundTripMatchesPyTorch) {
  const Model model = load_model(path_);
  const Model again = parse_model(serialize_model(model), fixtures_dir());
  expect_matches_torch(again, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Models, RecurrentControlFlow,
                         ::testing::Values("recurrent_op13", "control_flow_op13"));

// A model of graph inputs x (f32) and c (bool) whose node "if" gives y = If(c) with these
// branches (each a graph of the given nodes and one f32 output), then the nodes `after`.
Model if_model(std::vector<Node> then_nodes, const std::string& then_out,
               std::vector<Node> else_nodes, const std::string& else_out,
               std::vector<Node> after = {}) {
  auto branch = [](std::vector<Node> nodes, const std::string& out) {
    auto g = std::make_shared<Graph>();
    g->nodes = std::move(nodes);
    ValueInfo o;
    o.name = out;
    o.dtype = DType::kF32;
    g->outputs.push_back(o);
    return g;
  };
  Model m;
  m.opset_imports = {{"", 13}};
  ValueInfo x, c, y;
  x.name = "x", x.dtype = DType::kF32;
  c.name = "c", c.dtype = DType::kBool;
  y.name = "y", y.dtype = DType::kF32;
  m.graph.inputs = {x, c};
  m.graph.outputs = {y};
  Node if_node = test::make_node("if", "If", {"c"}, {"y"});
  Attribute then_attr, else_attr;
  then_attr.name = "then_branch", then_attr.type = AttrType::kGraph;
  then_attr.g = branch(std::move(then_nodes), then_out);
  else_attr.name = "else_branch", else_attr.type = AttrType::kGraph;
  else_attr.g = branch(std::move(else_nodes), else_out);
  if_node.attributes = {then_attr, else_attr};
  m.graph.nodes = {if_node};
  for (Node& n : after) m.graph.nodes.push_back(std::move(n));
  return m;
}

// y = If(c) then Identity(v) else Neg(v), with v = Relu(x) listed after the If and read only
// from inside the branches: topological order, dead-code elimination and the session must all
// see the branches' read of v.
Model outer_read_model() {
  return if_model({test::make_node("Identity_in_branch", "Identity", {"v"}, {"t"})}, "t",
                  {test::make_node("Neg_in_branch", "Neg", {"v"}, {"e"})}, "e",
                  {test::make_node("relu", "Relu", {"x"}, {"v"})});
}

TEST(Subgraphs, OuterReadsOrderKeepAndFeedTheBranches) {
  Model m = outer_read_model();
  EXPECT_EQ(m.graph.nodes[0].outer_reads(), std::vector<std::string>{"v"});
  m.graph.topological_sort();
  ASSERT_EQ(m.graph.nodes.size(), 2u);
  EXPECT_EQ(m.graph.nodes[0].op_type, "Relu");  // v's producer now comes first
  PassOptions dce;
  dce.only = {"dead_code_elimination"};
  optimize(m, dce);
  ASSERT_EQ(m.graph.nodes.size(), 2u);  // Relu is live: the branches read v
  SessionOptions opts;
  opts.providers = {"reference"};
  Session session(m, opts);
  const Tensor x = Tensor::from_vector<float>({-2.f, 0.5f, 3.f}, {3});
  for (const bool c : {true, false}) {
    const std::vector<Tensor> y = session.run({x, Tensor::scalar<bool>(c)});
    ASSERT_EQ(y.size(), 1u);
    ASSERT_EQ(y[0].shape(), Shape{3});
    for (int64_t i = 0; i < 3; ++i) {
      const float v = std::max(x.data<float>()[i], 0.f);
      EXPECT_EQ(y[0].data<float>()[i], c ? v : -v) << "cond " << c << " element " << i;
    }
  }
}

// y = If(c) then Add(x, Neg(w)) else Identity(x), w an initializer of the outer graph. The
// branch's session takes w as a constant of its own, so Neg(w) is folded while planning, not
// run on every call; a profiling session lists the branches' nodes under the If, each run
// counted once.
TEST(Subgraphs, OuterConstantsFoldAndProfilesNest) {
  using test::make_node;
  Model m = if_model(
      {make_node("neg_w", "Neg", {"w"}, {"wn"}), make_node("add", "Add", {"x", "wn"}, {"t"})}, "t",
      {make_node("copy", "Identity", {"x"}, {"e"})}, "e");
  m.graph.add_initializer("w", Tensor::from_vector<float>({1.f, 2.f, 4.f}, {3}));
  SessionOptions opts;
  opts.providers = {"reference"};
  opts.profile = true;
  Session session(m, opts);
  const Tensor xv = Tensor::from_vector<float>({10.f, 20.f, 30.f}, {3});
  for (int run = 0; run < 3; ++run) {
    const std::vector<Tensor> out = session.run({xv, Tensor::scalar<bool>(true)});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(test::tensors_close(out[0], Tensor::from_vector<float>({9.f, 18.f, 26.f}, {3})));
  }
  std::map<std::string, NodeProfile> prof;
  for (const NodeProfile& p : session.profile()) prof[p.node] = p;
  ASSERT_EQ(prof.count("if/then_branch/add"), 1u);
  ASSERT_EQ(prof.count("if/then_branch/neg_w"), 1u);
  ASSERT_EQ(prof.count("if/else_branch/copy"), 1u);
  EXPECT_EQ(prof["if"].calls, 3);
  EXPECT_EQ(prof["if/then_branch/add"].calls, 3);
  EXPECT_LE(prof["if/then_branch/neg_w"].calls, 1);  // folded once, while planning
  EXPECT_EQ(prof["if/else_branch/copy"].calls, 0);
  EXPECT_EQ(prof["if/then_branch/add"].provider, "reference");
  session.reset_profile();
  for (const NodeProfile& p : session.profile()) EXPECT_EQ(p.calls, 0) << p.node;
}

// z = If(Shape(x)[0] == 2) then Relu(x) else Neg(x), plus x: a cond that planning folds from a
// shape (as exporters' rank and dim checks are). The If plans the branch by shapes, so the
// session's plan stays static (y gets arena memory; a dynamic plan reports 0 bytes) and each
// shape of x takes its branch.
TEST(Subgraphs, ShapeFoldedCondPlansStatically) {
  using test::make_node;
  Model m = if_model({make_node("relu", "Relu", {"x"}, {"t"})}, "t",
                     {make_node("neg", "Neg", {"x"}, {"e"})}, "e",
                     {make_node("add", "Add", {"y", "x"}, {"z"})});
  m.graph.inputs.pop_back();  // c is computed from x's shape
  m.graph.add_initializer("zero", Tensor::scalar<int64_t>(0));
  m.graph.add_initializer("two", Tensor::scalar<int64_t>(2));
  m.graph.nodes.push_back(make_node("shape", "Shape", {"x"}, {"s"}));
  m.graph.nodes.push_back(make_node("first", "Gather", {"s", "zero"}, {"g"}));
  m.graph.nodes.push_back(make_node("is_two", "Equal", {"g", "two"}, {"c"}));
  m.graph.outputs[0].name = "z";
  m.graph.topological_sort();
  SessionOptions opts;
  opts.providers = {"reference"};
  Session session(m, opts);
  EXPECT_GT(session.plan({Tensor::meta(DType::kF32, {2, 3})}), 0u);
  for (const int64_t rows : {2, 3, 2}) {
    const Tensor x = test::random_tensor({rows, 3}, static_cast<uint32_t>(rows), -2.f, 2.f);
    const std::vector<Tensor> z = session.run({x});
    ASSERT_EQ(z.size(), 1u);
    ASSERT_EQ(z[0].shape(), (Shape{rows, 3}));
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float v = x.data<float>()[i];
      EXPECT_EQ(z[0].data<float>()[i], (rows == 2 ? std::max(v, 0.f) : -v) + v)
          << rows << " rows, element " << i;
    }
  }
}

}  // namespace
}  // namespace edgeopt
