// Graph pass tests: each pass rewrites a small model; the model is checked before and after
// (ONNX checker, op counts) and both versions are run on the reference provider, whose outputs
// must agree within 1e-5 (max-norm relative error). PyTorch exports (resnet18, a small
// conv/linear net) are made by /usr/bin/python3 in a temp folder when torch is available.
#include "edgeopt/passes.h"

#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>

#include "edgeopt/error.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/session.h"
#include "ir/onnx_proto_utils.h"
#include "testing/random.h"
#include "testing/tolerance.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;

// ---- building models ---------------------------------------------------------------------

ValueInfo vinfo(const std::string& name, DType dt, const Shape& shape) {
  ValueInfo v;
  v.name = name;
  v.dtype = dt;
  v.has_shape = true;
  for (int64_t d : shape) v.dims.push_back({d, ""});
  return v;
}

Model new_model(int64_t opset = 13) {
  Model m;
  m.ir_version = 8;
  m.opset_imports = {{"", opset}};
  m.producer_name = "passes_test";
  m.graph.name = "g";
  return m;
}

Node& add_node(Model& m, const std::string& op, std::vector<std::string> in,
               std::vector<std::string> out) {
  Node n;
  n.op_type = op;
  n.name = op + "_" + std::to_string(m.graph.nodes.size());
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return m.graph.nodes[m.graph.add_node(std::move(n))];
}

using test::random_tensor;

Tensor i64s(const std::vector<int64_t>& v) {
  return Tensor::from_vector<int64_t>(v, {static_cast<int64_t>(v.size())});
}

// ---- checking ------------------------------------------------------------------------------

void expect_valid(const Model& m) {
  onnx::ModelProto mp = model_to_proto(m);
  try {
    onnx::checker::check_model(mp);
    // Also what the checker's full mode does: strict type and shape inference.
    onnx::ShapeInferenceOptions opts(/*check_type=*/true, /*error_mode=*/1, false);
    onnx::shape_inference::InferShapes(mp, onnx::OpSchemaRegistry::Instance(), opts);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "ONNX checker: " << e.what();
  }
}

int count(const Model& m, const std::string& op) {
  return static_cast<int>(std::count_if(m.graph.nodes.begin(), m.graph.nodes.end(),
                                        [&](const Node& n) { return n.op_type == op; }));
}

std::vector<Tensor> run_ref(const Model& m, const std::vector<Tensor>& in) {
  Session s(m, SessionOptions{{"reference"}});
  return s.run(in);
}

// Every output within rtol `tol` of max |b| (atol tol * 1e-6 for all-zero outputs).
void expect_close(const std::vector<Tensor>& a, const std::vector<Tensor>& b, double tol = 1e-5) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k)
    EXPECT_TRUE(test::tensors_close(a[k], b[k], "output " + std::to_string(k),
                                    test::Tolerance{tol * 1e-6, tol}));
}

// Runs the named passes (plus dead_code_elimination) to a fixed point and checks that the
// model stays valid, keeps its interface and computes the same outputs.
PassReport optimize_and_compare(Model& m, const std::vector<Tensor>& in,
                                std::vector<std::string> only, double tol = 1e-5) {
  expect_valid(m);
  const std::vector<Tensor> before = run_ref(m, in);
  std::vector<std::string> outputs;
  for (const ValueInfo& v : m.graph.outputs) outputs.push_back(v.name);
  if (!only.empty()) only.push_back("dead_code_elimination");
  PassOptions opt;
  opt.only = only;
  const PassReport r = optimize(m, opt);
  EXPECT_TRUE(r.converged);
  expect_valid(m);
  std::vector<std::string> outputs_after;
  for (const ValueInfo& v : m.graph.outputs) outputs_after.push_back(v.name);
  EXPECT_EQ(outputs, outputs_after);
  expect_close(run_ref(m, in), before, tol);
  return r;
}

// ---- manager -------------------------------------------------------------------------------

TEST(PassManager, RegistryHasEveryPassInOrder) {
  const std::vector<std::string> names = PassRegistry::global().names();
  for (const char* n : {"dead_code_elimination", "identity_elimination", "constant_folding",
                        "shape_folding", "conv_bn_fold", "gemm_bn_fold", "matmul_add_fusion",
                        "transpose_reshape_cancellation", "pytorch_quant_cleanup"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  EXPECT_EQ(names.back(), "dead_code_elimination");
}

TEST(PassManager, LevelsAndDisable) {
  PassOptions basic;
  basic.level = 1;
  const auto b = PassManager(basic).pass_names();
  EXPECT_EQ(std::find(b.begin(), b.end(), "conv_bn_fold"), b.end());
  EXPECT_NE(std::find(b.begin(), b.end(), "constant_folding"), b.end());
  PassOptions off;
  off.disabled = {"conv_bn_fold"};
  const auto o = PassManager(off).pass_names();
  EXPECT_EQ(std::find(o.begin(), o.end(), "conv_bn_fold"), o.end());
  EXPECT_NE(std::find(o.begin(), o.end(), "gemm_bn_fold"), o.end());
  PassOptions bad;
  bad.disabled = {"no_such_pass"};
  EXPECT_THROW(PassManager{bad}, Error);
  PassOptions none;
  none.level = 0;
  EXPECT_TRUE(PassManager(none).pass_names().empty());
}

// Identity chain of length 3: each round of identity_elimination removes all of them at
// once, the round cap still stops a pass manager that never converges.
TEST(PassManager, ReportsChangesAndStopsAtFixedPoint) {
  Model m = new_model();
  m.graph.inputs.push_back(vinfo("x", DType::kF32, {2, 3}));
  m.graph.outputs.push_back(vinfo("y", DType::kF32, {2, 3}));
  add_node(m, "Identity", {"x"}, {"a"});
  add_node(m, "Identity", {"a"}, {"b"});
  add_node(m, "Relu", {"b"}, {"y"});
  const PassReport r =
      optimize_and_compare(m, {random_tensor({2, 3}, 1)}, {"identity_elimination"});
  EXPECT_EQ(r.nodes_before, 3);
  EXPECT_EQ(r.nodes_after, 1);
  EXPECT_EQ(r.rounds, 2);  // one round changes, the next confirms
  ASSERT_EQ(r.passes.size(), 2u);
  EXPECT_EQ(r.passes[0].name, "identity_elimination");
  EXPECT_EQ(r.passes[0].nodes_removed, 2);
  EXPECT_EQ(r.passes[0].changed_rounds, 1);
}

// ---- dead_code_elimination -----------------------------------------------------------------

TEST(DeadCodeElimination, RemovesUnreachableNodesInitializersAndValueInfo) {
  Model m = new_model();
  Graph& g = m.graph;
  g.inputs.push_back(vinfo("x", DType::kF32, {2, 3}));
  g.outputs.push_back(vinfo("y", DType::kF32, {2, 3}));
  g.add_initializer("w", random_tensor({2, 3}, 2));
  g.add_initializer("unused", random_tensor({4}, 3));
  add_node(m, "Add", {"x", "w"}, {"y"});
  add_node(m, "Mul", {"x", "w"}, {"dead1"});
  add_node(m, "Relu", {"dead1"}, {"dead2"});
  g.value_info.push_back(vinfo("dead1", DType::kF32, {2, 3}));
  optimize_and_compare(m, {random_tensor({2, 3}, 4)}, {"dead_code_elimination"});
  EXPECT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(count(m, "Add"), 1);
  EXPECT_EQ(g.initializers.size(), 1u);
  EXPECT_TRUE(g.value_info.empty());
}

// Values read only from inside an If branch are live, and renames reach into the branches.
TEST(DeadCodeElimination, KeepsValuesReadBySubgraphs) {
  Model m = new_model();
  Graph& g = m.graph;
  g.inputs.push_back(vinfo("cond", DType::kBool, {}));
  g.inputs.push_back(vinfo("x", DType::kF32, {3}));
  g.outputs.push_back(vinfo("y", DType::kF32, {3}));
  add_node(m, "Identity", {"x"}, {"a"});
  add_node(m, "Neg", {"x"}, {"b"});
  auto branch = [](const std::string& outer, const std::string& out) {
    auto sub = std::make_shared<Graph>();
    sub->name = out;
    Node n;
    n.op_type = "Relu";
    n.inputs = {outer};
    n.outputs = {out};
    sub->nodes.push_back(n);
    sub->outputs.push_back(vinfo(out, DType::kF32, {3}));
    return sub;
  };
  Node& node = add_node(m, "If", {"cond"}, {"y"});
  for (auto [name, sub] :
       {std::pair{"then_branch", branch("a", "t")}, std::pair{"else_branch", branch("b", "e")}}) {
    Attribute at;
    at.name = name;
    at.type = AttrType::kGraph;
    at.g = sub;
    node.attributes.push_back(at);
  }
  expect_valid(m);
  PassOptions opt;
  opt.only = {"identity_elimination", "dead_code_elimination"};
  optimize(m, opt);
  expect_valid(m);
  ASSERT_EQ(g.nodes.size(), 2u);  // Neg and If; the Identity is gone
  EXPECT_EQ(count(m, "Neg"), 1);
  EXPECT_EQ(g.nodes.back().attr("then_branch")->g->nodes[0].inputs[0], "x");
}

// ---- identity_elimination ------------------------------------------------------------------

TEST(IdentityElimination, RemovesIdentityDropoutCastReshapeKeepingOutputName) {
  Model m = new_model();
  Graph& g = m.graph;
  g.inputs.push_back(vinfo("x", DType::kF32, {2, 3, 4}));
  g.outputs.push_back(vinfo("y", DType::kF32, {2, 3, 4}));
  g.add_initializer("same_shape", i64s({2, 3, -1}));
  add_node(m, "Identity", {"x"}, {"a"});
  add_node(m, "Relu", {"a"}, {"b"});
  add_node(m, "Dropout", {"b"}, {"c"});
  Node& cast = add_node(m, "Cast", {"c"}, {"d"});
  cast.set_attr_int("to", static_cast<int64_t>(DType::kF32));
  add_node(m, "Reshape", {"d", "same_shape"}, {"e"});
  add_node(m, "Identity", {"e"}, {"y"});  // a graph output: Relu must end up writing "y"
  g.value_info.push_back(vinfo("b", DType::kF32, {2, 3, 4}));
  g.value_info.push_back(vinfo("c", DType::kF32, {2, 3, 4}));
  g.value_info.push_back(vinfo("d", DType::kF32, {2, 3, 4}));
  optimize_and_compare(m, {random_tensor({2, 3, 4}, 5)}, {"identity_elimination"});
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op_type, "Relu");
  EXPECT_EQ(g.nodes[0].inputs[0], "x");
  EXPECT_EQ(g.nodes[0].outputs[0], "y");
}

TEST(IdentityElimination, KeepsIdentityBetweenInputAndOutputAndRealCasts) {
  Model m = new_model();
  Graph& g = m.graph;
  g.inputs.push_back(vinfo("x", DType::kF32, {3}));
  g.outputs.push_back(vinfo("y", DType::kF32, {3}));
  g.outputs.push_back(vinfo("z", DType::kF64, {3}));
  add_node(m, "Identity", {"x"}, {"y"});
  add_node(m, "Cast", {"x"}, {"z"}).set_attr_int("to", static_cast<int64_t>(DType::kF64));
  optimize_and_compare(m, {random_tensor({3}, 6)}, {"identity_elimination"});
  EXPECT_EQ(g.nodes.size(), 2u);
}

// ---- constant_folding ----------------------------------------------------------------------

TEST(ConstantFolding, FoldsConstantsAndConstantSubgraphs) {
  Model m = new_model();
  Graph& g = m.graph;
  g.inputs.push_back(vinfo("x", DType::kF32, {2, 3}));
  g.outputs.push_back(vinfo("y", DType::kF32, {2, 3}));
  g.add_initializer("w", random_tensor({2, 3}, 7));
  add_node(m, "Constant", {}, {"c"}).set_attr_tensor("value", random_tensor({2, 3}, 8));
  add_node(m, "Add", {"c", "w"}, {"s"});
  add_node(m, "Abs", {"s"}, {"t"});
  add_node(m, "Mul", {"x", "t"}, {"y"});
  optimize_and_compare(m, {random_tensor({2, 3}, 9)}, {"constant_folding"});
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op_type, "Mul");
  EXPECT_EQ(count(m, "Constant"), 0);
  ASSERT_EQ(g.initializers.size(), 1u);  // only "t"; c, w, s and r went with their readers
  EXPECT_EQ(g.initializers[0].name, "t");
}

TEST(ConstantFolding, DoesNotGrowTheModel) {
  Model m = new_model();
  Graph& g = m.graph;
  g.inputs.push_back(vinfo("x", DType::kF32, {100, 100}));
  g.outputs.push_back(vinfo("y", DType::kF32, {100, 100}));
  g.add_initializer("shape", i64s({100, 100}));
  // 2 elements in, 10000 out: folding would store 10000 floats in the model.
  add_node(m, "ConstantOfShape", {"shape"}, {"big"})
      .set_attr_tensor("value", Tensor::from_vector<float>({1.5f}, {1}));
  add_node(m, "Add", {"x", "big"}, {"y"});
  optimize_and_compare(m, {random_tensor({100, 100}, 10)}, {"constant_folding"});
  EXPECT_EQ(count(m, "ConstantOfShape"), 1);
}

// ---- shape_folding -------------------------------------------------------------------------

// x.view(x.size(0), -1) as exported: Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
TEST(ShapeFolding, FoldsShapeGatherConcatChain) {
  Model m = new_model();
  Graph& g = m.graph;
  g.inputs.push_back(vinfo("x", DType::kF32, {2, 3, 4}));
  g.outputs.push_back(vinfo("y", DType::kF32, {2, 12}));
  g.add_initializer("zero", Tensor::scalar<int64_t>(0));
  g.add_initializer("axes", i64s({0}));
  g.add_initializer("minus_one", i64s({-1}));
  add_node(m, "Shape", {"x"}, {"shape"});
  add_node(m, "Gather", {"shape", "zero"}, {"batch"}).set_attr_int("axis", 0);
  add_node(m, "Unsqueeze", {"batch", "axes"}, {"batch1"});
  add_node(m, "Concat", {"batch1", "minus_one"}, {"target"}).set_attr_int("axis", 0);
  add_node(m, "Reshape", {"x", "target"}, {"y"});
  // Through a save/load round trip so that ONNX shape inference fills Graph::inferred.
  m = parse_model(serialize_model(m), ".");
  optimize_and_compare(m, {random_tensor({2, 3, 4}, 11)},
                       {"shape_folding", "constant_folding", "identity_elimination"});
  ASSERT_EQ(m.graph.nodes.size(), 1u);
  EXPECT_EQ(m.graph.nodes[0].op_type, "Reshape");
  const NamedTensor* t = m.graph.find_initializer(m.graph.nodes[0].inputs[1]);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->tensor.to_i64_vector(), (std::vector<int64_t>{2, -1}));
}

TEST(ShapeFolding, FoldsOnlyStaticDimsOfSymbolicShapes) {
  Model m = new_model();
  Graph& g = m.graph;
  ValueInfo x = vinfo("x", DType::kF32, {0, 3, 4});
  x.dims[0] = {-1, "batch"};
  g.inputs.push_back(x);
  g.outputs.push_back(vinfo("y", DType::kI64, {}));
  g.outputs.push_back(vinfo("z", DType::kI64, {}));
  g.add_initializer("zero", Tensor::scalar<int64_t>(0));
  g.add_initializer("two", Tensor::scalar<int64_t>(2));
  add_node(m, "Shape", {"x"}, {"s"});
  add_node(m, "Gather", {"s", "zero"}, {"batch"});  // symbolic: stays
  add_node(m, "Gather", {"s", "two"}, {"four"});    // static: becomes 4
  add_node(m, "Abs", {"batch"}, {"y"});
  add_node(m, "Abs", {"four"}, {"z"});
  optimize_and_compare(m, {random_tensor({5, 3, 4}, 12)}, {"shape_folding"});
  EXPECT_EQ(count(m, "Shape"), 1);
  EXPECT_EQ(count(m, "Gather"), 1);
  const NamedTensor* four = m.graph.find_initializer("four");
  ASSERT_NE(four, nullptr);
  EXPECT_EQ(four->tensor.get_i64(0), 4);
}

// ---- conv_bn_fold --------------------------------------------------------------------------

void add_bn(Model& m, const std::string& in, const std::string& out, int64_t c, uint32_t seed) {
  Graph& g = m.graph;
  const std::string p = out + "_";
  g.add_initializer(p + "gamma", random_tensor({c}, seed, 0.5f, 1.5f));
  g.add_initializer(p + "beta", random_tensor({c}, seed + 1));
  g.add_initializer(p + "mean", random_tensor({c}, seed + 2));
  g.add_initializer(p + "var", random_tensor({c}, seed + 3, 0.2f, 2.0f));
  add_node(m, "BatchNormalization", {in, p + "gamma", p + "beta", p + "mean", p + "var"}, {out})
      .set_attr_float("epsilon", 1e-3f);
}

TEST(ConvBnFold, FoldsConvWithAndWithoutBias) {
  Model m = new_model();
  Graph& g = m.graph;
  g.inputs.push_back(vinfo("x", DType::kF32, {2, 3, 7, 7}));
  g.outputs.push_back(vinfo("y", DType::kF32, {2, 4, 7, 7}));
  g.outputs.push_back(vinfo("z", DType::kF32, {2, 4, 7, 7}));
  g.add_initializer("w1", random_tensor({4, 3, 3, 3}, 20));
  g.add_initializer("b1", random_tensor({4}, 21));
  g.add_initializer("w2", random_tensor({4, 1, 3, 3}, 22));  // depthwise, no bias
  add_node(m, "Conv", {"x", "w1", "b1"}, {"c1"}).set_attr_ints("pads", {1, 1, 1, 1});
  add_bn(m, "c1", "y", 4, 30);
  Node& dw = add_node(m, "Conv", {"y", "w2"}, {"c2"});
  dw.set_attr_ints("pads", {1, 1, 1, 1});
  dw.set_attr_int("group", 4);
  add_bn(m, "c2", "bn2", 4, 40);
  add_node(m, "Relu", {"bn2"}, {"z"});
  optimize_and_compare(m, {random_tensor({2, 3, 7, 7}, 23)}, {"conv_bn_fold"});
  EXPECT_EQ(count(m, "BatchNormalization"), 0);
  EXPECT_EQ(count(m, "Conv"), 2);
  EXPECT_EQ(g.nodes.size(), 3u);
  EXPECT_EQ(g.initializers.size(), 4u);  // w1, b1, w2 and the new bias of the second conv
}

TEST(ConvBnFold, FoldsGroupedConvTranspose) {
  Model m = new_model();
  Graph& g = m.graph;
  g.inputs.push_back(vinfo("x", DType::kF32, {1, 4, 5, 5}));
  g.outputs.push_back(vinfo("y", DType::kF32, {1, 6, 11, 11}));
  g.add_initializer("w", random_tensor({4, 3, 3, 3}, 50));  // C=4, group 2 -> M = 3 * 2
  g.add_initializer("b", random_tensor({6}, 51));
  Node& ct = add_node(m, "ConvTranspose", {"x", "w", "b"}, {"c"});
  ct.set_attr_int("group", 2);
  ct.set_attr_ints("strides", {2, 2});
  add_bn(m, "c", "y", 6, 60);
  optimize_and_compare(m, {random_tensor({1, 4, 5, 5}, 52)}, {"conv_bn_fold"});
  EXPECT_EQ(count(m, "BatchNormalization"), 0);
  EXPECT_EQ(count(m, "ConvTranspose"), 1);
}

TEST(ConvBnFold, SkipsConvWithOtherReaders) {
  Model m = new_model();
  Graph& g = m.graph;
  g.inputs.push_back(vinfo("x", DType::kF32, {1, 2, 4, 4}));
  g.outputs.push_back(vinfo("y", DType::kF32, {1, 2, 2, 2}));
  g.outputs.push_back(vinfo("c", DType::kF32, {1, 2, 2, 2}));
  g.add_initializer("w", random_tensor({2, 2, 3, 3}, 70));
  add_node(m, "Conv", {"x", "w"}, {"c"});  // also a graph output: must stay unscaled
  add_bn(m, "c", "y0", 2, 71);
  add_node(m, "Relu", {"y0"}, {"y"});
  optimize_and_compare(m, {random_tensor({1, 2, 4, 4}, 72)}, {"conv_bn_fold"});
  EXPECT_EQ(count(m, "BatchNormalization"), 1);
}

// ---- gemm_bn_fold --------------------------------------------------------------------------

TEST(GemmBnFold, FoldsGemmAndMatMul) {
  Model m = new_model();
  Graph& g = m.graph;
  g.inputs.push_back(vinfo("x", DType::kF32, {5, 6}));
  g.outputs.push_back(vinfo("y", DType::kF32, {5, 4}));
  g.outputs.push_back(vinfo("z", DType::kF32, {5, 3}));
  g.add_initializer("w", random_tensor({4, 6}, 80));
  g.add_initializer("c", random_tensor({4}, 81));
  Node& gm = add_node(m, "Gemm", {"x", "w", "c"}, {"g"});
  gm.set_attr_int("transB", 1);
  gm.set_attr_float("alpha", 0.5f);
  gm.set_attr_float("beta", 2.0f);
  add_bn(m, "g", "y", 4, 82);
  g.add_initializer("w2", random_tensor({4, 3}, 90));
  add_node(m, "MatMul", {"y", "w2"}, {"mm"});
  add_bn(m, "mm", "z", 3, 91);
  g.value_info.push_back(vinfo("g", DType::kF32, {5, 4}));
  g.value_info.push_back(vinfo("mm", DType::kF32, {5, 3}));
  optimize_and_compare(m, {random_tensor({5, 6}, 83)}, {"gemm_bn_fold"});
  EXPECT_EQ(count(m, "BatchNormalization"), 0);
  EXPECT_EQ(count(m, "MatMul"), 0);
  EXPECT_EQ(count(m, "Gemm"), 2);
}

// ---- matmul_add_fusion ---------------------------------------------------------------------

TEST(MatMulAddFusion, FusesTwoDimensionalMatMulWithBias) {
  Model m = new_model();
  Graph& g = m.graph;
  g.inputs.push_back(vinfo("x", DType::kF32, {3, 5}));
  g.inputs.push_back(vinfo("x3", DType::kF32, {2, 3, 5}));
  g.outputs.push_back(vinfo("y", DType::kF32, {3, 4}));
  g.outputs.push_back(vinfo("y3", DType::kF32, {2, 3, 4}));
  g.add_initializer("w", random_tensor({5, 4}, 100));
  g.add_initializer("b", random_tensor({4}, 101));
  add_node(m, "MatMul", {"x", "w"}, {"xw"});
  add_node(m, "Add", {"b", "xw"}, {"y"});       // bias first: Add is commutative
  add_node(m, "MatMul", {"x3", "w"}, {"x3w"});  // 3-D A: Gemm cannot take it
  add_node(m, "Add", {"x3w", "b"}, {"y3"});
  optimize_and_compare(m, {random_tensor({3, 5}, 102), random_tensor({2, 3, 5}, 103)},
                       {"matmul_add_fusion"});
  EXPECT_EQ(count(m, "Gemm"), 1);
  EXPECT_EQ(count(m, "MatMul"), 1);
  EXPECT_EQ(count(m, "Add"), 1);
}

// ---- transpose_reshape_cancellation --------------------------------------------------------

TEST(TransposeReshapeCancellation, ComposesTransposesAndCollapsesReshapes) {
  Model m = new_model();
  Graph& g = m.graph;
  g.inputs.push_back(vinfo("x", DType::kF32, {2, 3, 4}));
  g.outputs.push_back(vinfo("y", DType::kF32, {3, 4, 2}));
  g.outputs.push_back(vinfo("z", DType::kF32, {2, 3, 4}));
  add_node(m, "Transpose", {"x"}, {"t1"}).set_attr_ints("perm", {1, 0, 2});
  add_node(m, "Transpose", {"t1"}, {"t2"}).set_attr_ints("perm", {2, 1, 0});  // = (2, 0, 1)
  add_node(m, "Transpose", {"t2"}, {"t3"}).set_attr_ints("perm", {1, 2, 0});  // = identity
  g.add_initializer("s1", i64s({6, 4}));
  g.add_initializer("s2", i64s({3, 0, -1}));  // 0 copies dim 1 of [6, 4]
  add_node(m, "Reshape", {"t3", "s1"}, {"r1"});
  add_node(m, "Reshape", {"r1", "s2"}, {"y"});
  add_node(m, "Transpose", {"x"}, {"u1"}).set_attr_ints("perm", {2, 0, 1});
  add_node(m, "Transpose", {"u1"}, {"z"}).set_attr_ints("perm", {1, 2, 0});
  g.value_info.push_back(vinfo("r1", DType::kF32, {6, 4}));
  optimize_and_compare(m, {random_tensor({2, 3, 4}, 110)}, {"transpose_reshape_cancellation"});
  // y = Reshape(x, [3, 4, -1]); z = Identity would need x to be renamed: one Transpose with
  // the identity permutation remains between input x and output z.
  EXPECT_EQ(count(m, "Reshape"), 1);
  EXPECT_EQ(count(m, "Transpose"), 1);
  EXPECT_EQ(g.nodes.size(), 2u);
}

// ---- pytorch_quant_cleanup -----------------------------------------------------------------

TEST(PytorchQuantCleanup, MovesConstantWeightsAndDropsLosslessCastRoundTrips) {
  Model m = new_model();
  Graph& g = m.graph;
  g.inputs.push_back(vinfo("x", DType::kF32, {2, 3}));
  g.outputs.push_back(vinfo("y", DType::kF32, {2, 4}));
  g.outputs.push_back(vinfo("z", DType::kF32, {2, 3}));
  add_node(m, "Constant", {}, {"w"}).set_attr_tensor("value", random_tensor({3, 4}, 120));
  add_node(m, "Cast", {"x"}, {"x64"}).set_attr_int("to", static_cast<int64_t>(DType::kF64));
  add_node(m, "Cast", {"x64"}, {"x32"}).set_attr_int("to", static_cast<int64_t>(DType::kF32));
  add_node(m, "MatMul", {"x32", "w"}, {"y"});
  // f32 -> f16 -> f32 rounds: kept.
  add_node(m, "Cast", {"x"}, {"h"}).set_attr_int("to", static_cast<int64_t>(DType::kF16));
  add_node(m, "Cast", {"h"}, {"z"}).set_attr_int("to", static_cast<int64_t>(DType::kF32));
  optimize_and_compare(m, {random_tensor({2, 3}, 121)}, {"pytorch_quant_cleanup"});
  EXPECT_EQ(count(m, "Constant"), 0);
  EXPECT_EQ(count(m, "Cast"), 2);
  EXPECT_NE(g.find_initializer("w"), nullptr);
}

// ---- whole pipeline on PyTorch exports -----------------------------------------------------

struct TorchExports {
  bool ok = false;
  fs::path dir;
  std::string why;
};

// Exports resnet18 (64x64 input to keep the reference run short) and a small conv/linear
// network with x.view(x.size(0), -1) and BatchNorm1d, once per test run.
const TorchExports& torch_exports() {
  static TorchExports e = [] {
    TorchExports r;
    r.dir = fs::temp_directory_path() / ("edgeopt_passes_test_" + std::to_string(::getpid()));
    fs::create_directories(r.dir);
    const fs::path script = r.dir / "export.py";
    {
      std::string py = R"(
import sys, torch, torchvision
torch.manual_seed(0)
out = sys.argv[1]
def export(m, x, name):
    m.eval()
    # PRESERVE (model in eval mode) keeps BatchNormalization nodes: the EVAL exporter would
    # already fold them.
    torch.onnx.export(m, x, out + "/" + name, opset_version=13, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE,
                      input_names=["input"], output_names=["output"])
r = torchvision.models.resnet18(weights=None)
for mod in r.modules():
    if isinstance(mod, torch.nn.BatchNorm2d):
        torch.nn.init.uniform_(mod.weight, 0.5, 1.5); torch.nn.init.uniform_(mod.bias, -0.5, 0.5)
        mod.running_mean.uniform_(-0.5, 0.5); mod.running_var.uniform_(0.5, 2.0)
export(r, torch.randn(1, 3, 64, 64), "resnet18.onnx")
class Small(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.fc = torch.nn.Linear(8 * 6 * 6, 10)
        self.bn1 = torch.nn.BatchNorm1d(10)
    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        x = x.view(x.size(0), -1)
        return self.bn1(self.fc(x))
s = Small()
for b in (s.bn, s.bn1):
    b.running_mean.uniform_(-0.5, 0.5); b.running_var.uniform_(0.5, 2.0)
export(s, torch.randn(2, 3, 6, 6), "small.onnx")
)";
      std::FILE* f = std::fopen(script.c_str(), "w");
      std::fputs(py.c_str(), f);
      std::fclose(f);
    }
    const std::string cmd = "/usr/bin/python3 " + script.string() + " " + r.dir.string() + " > " +
                            (r.dir / "log.txt").string() + " 2>&1";
    r.ok = std::system(cmd.c_str()) == 0 && fs::exists(r.dir / "small.onnx");
    if (!r.ok) r.why = "PyTorch export failed (see " + (r.dir / "log.txt").string() + ")";
    return r;
  }();
  return e;
}

TEST(PassPipeline, ResNet18FoldsEveryBatchNormAndIdentity) {
  const TorchExports& e = torch_exports();
  if (!e.ok) GTEST_SKIP() << e.why;
  Model m = load_model(e.dir / "resnet18.onnx");
  const int bn = count(m, "BatchNormalization");
  const int conv = count(m, "Conv");
  EXPECT_EQ(bn, 20);
  const PassReport r =
      optimize_and_compare(m, {random_tensor({1, 3, 64, 64}, 130)}, {}, /*tol=*/1e-4);
  EXPECT_EQ(count(m, "BatchNormalization"), 0);
  EXPECT_EQ(count(m, "Identity"), 0);
  EXPECT_EQ(count(m, "Conv"), conv);
  for (const PassStats& s : r.passes)
    std::printf("  %-32s runs %d changed %d nodes removed %lld (%.1f ms)\n", s.name.c_str(), s.runs,
                s.changed_rounds, static_cast<long long>(s.nodes_removed), s.ms);
  std::printf("  resnet18: %lld -> %lld nodes, %lld -> %lld initializers, %d rounds\n",
              static_cast<long long>(r.nodes_before), static_cast<long long>(r.nodes_after),
              static_cast<long long>(r.initializers_before),
              static_cast<long long>(r.initializers_after), r.rounds);
  save_model(m, e.dir / "resnet18_opt.onnx");  // checker on write
}

TEST(PassPipeline, SmallTorchNetFoldsReshapeTargetAndBatchNorms) {
  const TorchExports& e = torch_exports();
  if (!e.ok) GTEST_SKIP() << e.why;
  Model m = load_model(e.dir / "small.onnx");
  // The tracer turns x.size(0) into Constant -> Unsqueeze -> Concat -> Reshape.
  EXPECT_GE(count(m, "Constant"), 1);
  EXPECT_GE(count(m, "Concat"), 1);
  optimize_and_compare(m, {random_tensor({2, 3, 6, 6}, 140)}, {});
  EXPECT_EQ(count(m, "BatchNormalization"), 0);
  EXPECT_EQ(count(m, "Constant"), 0);
  EXPECT_EQ(count(m, "Unsqueeze"), 0);
  EXPECT_EQ(count(m, "Concat"), 0);
  // Conv, Relu, Reshape, Gemm.
  EXPECT_EQ(m.graph.nodes.size(), 4u);
}

// ---- long chains: every pass is one sweep over the graph ----------------------------------
// 200,000-node chains (passes that rescanned the graph per node or erased one node at a time
// took minutes on these); the result is checked by node counts and by running both versions on
// the reference provider. The values are dyadic so that the folded model computes them exactly.

constexpr int kChain = 200000;

TEST(LongChain, IdentityEliminationRemovesEveryIdentity) {
  Model m = new_model();
  Graph& g = m.graph;
  g.inputs.push_back(vinfo("x", DType::kF32, {1, 4}));
  g.outputs.push_back(vinfo("y", DType::kF32, {1, 4}));
  std::string prev = "x";
  for (int k = 0; k + 1 < kChain; ++k) {
    const std::string v = "v" + std::to_string(k);
    add_node(m, "Identity", {prev}, {v});
    prev = v;
  }
  add_node(m, "Relu", {prev}, {"y"});
  ASSERT_EQ(g.nodes.size(), static_cast<size_t>(kChain));
  const PassReport r =
      optimize_and_compare(m, {random_tensor({1, 4}, 300)}, {"identity_elimination"}, 0);
  EXPECT_EQ(r.nodes_before, kChain);
  EXPECT_EQ(r.nodes_after, 1);
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].inputs[0], "x");
}

TEST(LongChain, ConvBnFoldFoldsEveryBatchNorm) {
  Model m = new_model();
  Graph& g = m.graph;
  g.inputs.push_back(vinfo("x", DType::kF32, {1, 1, 1, 1}));
  g.outputs.push_back(vinfo("y", DType::kF32, {1, 1, 1, 1}));
  // Two parameter sets, alternating: scale 2 then 1/2 (epsilon 0, var 1), so that the chain
  // stays bounded and every folded weight and bias is exact.
  for (const auto& [p, gamma] : {std::pair{"a_", 2.f}, std::pair{"b_", 0.5f}}) {
    g.add_initializer(std::string(p) + "gamma", Tensor::from_vector<float>({gamma}, {1}));
    g.add_initializer(std::string(p) + "beta", Tensor::from_vector<float>({0.125f}, {1}));
    g.add_initializer(std::string(p) + "mean", Tensor::from_vector<float>({0.25f}, {1}));
    g.add_initializer(std::string(p) + "var", Tensor::from_vector<float>({1.f}, {1}));
  }
  std::string prev = "x";
  for (int k = 0; k < kChain / 2; ++k) {
    const std::string w = "w" + std::to_string(k), c = "c" + std::to_string(k);
    const std::string out = k + 1 == kChain / 2 ? "y" : "b" + std::to_string(k);
    g.add_initializer(w, Tensor::from_vector<float>({k % 3 == 0 ? -1.f : 1.f}, {1, 1, 1, 1}));
    add_node(m, "Conv", {prev, w}, {c});
    const std::string p = k % 2 ? "b_" : "a_";
    add_node(m, "BatchNormalization", {c, p + "gamma", p + "beta", p + "mean", p + "var"}, {out})
        .set_attr_float("epsilon", 0.f);
    prev = out;
  }
  ASSERT_EQ(g.nodes.size(), static_cast<size_t>(kChain));
  optimize_and_compare(m, {Tensor::from_vector<float>({1.5f}, {1, 1, 1, 1})}, {"conv_bn_fold"}, 0);
  EXPECT_EQ(count(m, "BatchNormalization"), 0);
  EXPECT_EQ(count(m, "Conv"), kChain / 2);
  EXPECT_EQ(g.nodes.size(), static_cast<size_t>(kChain / 2));
  EXPECT_EQ(g.initializers.size(), static_cast<size_t>(kChain));  // a weight and a bias each
}

TEST(LongChain, ConstantFoldingMovesEveryConstant) {
  Model m = new_model();
  Graph& g = m.graph;
  g.inputs.push_back(vinfo("x", DType::kF32, {1, 4}));
  g.outputs.push_back(vinfo("y", DType::kF32, {1, 4}));
  std::string prev = "x";
  for (int k = 0; k < kChain / 2; ++k) {
    const std::string c = "c" + std::to_string(k);
    const std::string out = k + 1 == kChain / 2 ? "y" : "s" + std::to_string(k);
    Node& cn = add_node(m, "Constant", {}, {c});
    cn.set_attr_tensor("value", Tensor::from_vector<float>({static_cast<float>(k % 5)}, {1}));
    add_node(m, "Add", {prev, c}, {out});
    prev = out;
  }
  ASSERT_EQ(g.nodes.size(), static_cast<size_t>(kChain));
  optimize_and_compare(m, {random_tensor({1, 4}, 301)}, {"constant_folding"}, 0);
  EXPECT_EQ(count(m, "Constant"), 0);
  EXPECT_EQ(count(m, "Add"), kChain / 2);
  EXPECT_EQ(g.initializers.size(), static_cast<size_t>(kChain / 2));
}

TEST(LongChain, TransposeReshapeCancellationCancelsEveryPair) {
  Model m = new_model();
  Graph& g = m.graph;
  g.inputs.push_back(vinfo("x", DType::kF32, {2, 3}));
  g.outputs.push_back(vinfo("y", DType::kF32, {2, 3}));
  std::string prev = "x";
  for (int k = 0; k + 1 < kChain; ++k) {
    const std::string v = "t" + std::to_string(k);
    add_node(m, "Transpose", {prev}, {v}).set_attr_ints("perm", {1, 0});
    prev = v;
  }
  // 199,999 transposes: an odd count, one remains.
  add_node(m, "Relu", {prev}, {"y_t"});
  add_node(m, "Transpose", {"y_t"}, {"y"}).set_attr_ints("perm", {1, 0});
  const PassReport r =
      optimize_and_compare(m, {random_tensor({2, 3}, 302)}, {"transpose_reshape_cancellation"}, 0);
  EXPECT_EQ(r.nodes_before, kChain + 1);
  EXPECT_EQ(count(m, "Relu"), 1);
  EXPECT_EQ(count(m, "Transpose"), 2);
  EXPECT_EQ(g.nodes.size(), 3u);
}

}  // namespace
}  // namespace edgeopt
