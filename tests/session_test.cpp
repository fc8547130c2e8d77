// edgeopt::Session (include/edgeopt/session.h) on small models built here: outputs against
// values computed by hand in the test and against the reference provider, the plan cache
// (same shapes reuse a plan and its arena, new shapes plan again, more than the cache holds
// evicts and still answers right; the arenas are seen through tensor_bytes_in_use()), outputs
// that outlive the next run, data-dependent shapes, a graph output that is an input or an
// initializer, and bad inputs (one Error naming the input, nothing run).
#include "edgeopt/session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "edgeopt/error.h"
#include "testing/model_builder.h"
#include "testing/provider_compare.h"
#include "testing/random.h"
#include "testing/tolerance.h"

namespace edgeopt {
namespace {

using test::ModelBuilder;
using test::random_tensor;
using test::tensors_close;

SessionOptions reference_only() {
  SessionOptions o;
  o.providers = {"reference"};
  return o;
}

// y = relu(x @ w + b), x of shape N x 3 (N symbolic), w 3 x 4, b 4.
Model dense_relu_model() {
  ModelBuilder b(13, "dense_relu");
  b.input_dims("x", {Dim{-1, "N"}, Dim{3, ""}});
  b.constant("w",
             Tensor::from_vector<float>({1, -2, 0.5f, 3, -1, 4, 2, -0.5f, 0, 1, -3, 2}, {3, 4}));
  b.constant("b", Tensor::from_vector<float>({0.25f, -1, 0, 0.5f}, {4}));
  b.node("MatMul", {"x", "w"}, {"xw"});
  b.node("Add", {"xw", "b"}, {"pre"});
  b.node("Relu", {"pre"}, {"y"});
  b.output("y", DType::kF32, 2);
  return b.build();
}

// The same by hand, in double.
Tensor dense_relu_by_hand(const Tensor& x) {
  const float w[3][4] = {{1, -2, 0.5f, 3}, {-1, 4, 2, -0.5f}, {0, 1, -3, 2}};
  const float b[4] = {0.25f, -1, 0, 0.5f};
  const int64_t n = x.dim(0);
  Tensor y(DType::kF32, {n, 4});
  for (int64_t r = 0; r < n; ++r)
    for (int c = 0; c < 4; ++c) {
      double s = b[c];
      for (int k = 0; k < 3; ++k) s += double(x.data<float>()[r * 3 + k]) * w[k][c];
      y.data<float>()[r * 4 + c] = static_cast<float>(std::max(s, 0.0));
    }
  return y;
}

TEST(Session, OutputsMatchHandComputedValues) {
  const Model m = dense_relu_model();
  const Tensor x = Tensor::from_vector<float>({1, 2, 3, -1, 0.5f, -2}, {2, 3});
  // Row 0: [1-2+0, -2+8+3, 0.5+4-9, 3-1+6] + b = [-0.75, 8, -4.5, 8.5];
  // row 1: [-1-0.5+0, 2+2-2, -0.5+1+6, -3-0.25-4] + b = [-1.25, 1, 6.5, -6.75]; then relu.
  const Tensor want = Tensor::from_vector<float>({0, 8, 0, 8.5f, 0, 1, 6.5f, 0}, {2, 4});
  Session s(m, reference_only());
  const std::vector<Tensor> got = s.run({x});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(tensors_close(got[0], want));
  EXPECT_TRUE(tensors_close(dense_relu_by_hand(x), want));
  ASSERT_EQ(s.inputs().size(), 1u);
  EXPECT_EQ(s.inputs()[0].name, "x");
  EXPECT_EQ(s.outputs()[0].name, "y");
}

TEST(Session, DefaultProvidersMatchReference) {
  ModelBuilder b(13, "conv_pool");
  b.input("x", {1, 5, 11, 9});
  b.constant("w", random_tensor({7, 5, 3, 3}, 2)).constant("bias", random_tensor({7}, 3));
  b.node("Conv", {"x", "w", "bias"}, {"c"}).set_attr_ints("pads", {1, 1, 1, 1});
  b.node("Relu", {"c"}, {"r"});
  b.node("GlobalAveragePool", {"r"}, {"y"});
  b.output("y", DType::kF32, 4);
  const Model m = b.build();
  const std::string fast = default_providers().front();
  if (fast == "reference") GTEST_SKIP() << "no fast provider compiled in";
  EXPECT_TRUE(test::matches_reference(m, {random_tensor({1, 5, 11, 9}, 1)}, fast));
}

// Same shapes: the cached plan (and its arena) is reused, no new tensor memory stays held.
// New shapes: a new plan with its own arena, right values. More shapes than the cache holds:
// the oldest plans go (the memory held stops growing) and evicted shapes still answer right.
TEST(Session, PlanCacheReusesReplansAndEvicts) {
  Session s(dense_relu_model(), reference_only());
  // Runs a batch of n rows, checks it, and returns the tensor bytes held afterwards (the
  // session's weights and cached arenas; the test's own tensors are gone by then).
  const auto run_checked = [&s](int64_t n, uint32_t seed) {
    {
      const Tensor x = random_tensor({n, 3}, seed);
      EXPECT_TRUE(tensors_close(s.run({x})[0], dense_relu_by_hand(x))) << "N=" << n;
    }
    return tensor_bytes_in_use();
  };
  const int64_t held = run_checked(4, 10);
  const size_t arena4 = s.arena_bytes();
  EXPECT_GT(arena4, 0u);
  for (uint32_t seed = 11; seed < 14; ++seed) {
    EXPECT_EQ(run_checked(4, seed), held) << "a run of known shapes kept memory";
    EXPECT_EQ(s.arena_bytes(), arena4);
  }
  const int64_t held100 = run_checked(100, 20);
  EXPECT_EQ(held100, held + static_cast<int64_t>(s.arena_bytes()))
      << "a new shape keeps exactly one more arena";
  EXPECT_GT(s.arena_bytes(), arena4);
  // Back to the first shape: its plan is still cached, nothing new is held.
  EXPECT_EQ(run_checked(4, 21), held100);
  EXPECT_EQ(s.arena_bytes(), arena4);

  // 14 more batch sizes, each checked: 16 shapes in all, the cache keeps 8 plans, so what the
  // session holds beyond its weights stays at most the 8 largest arenas.
  std::vector<int64_t> arenas{static_cast<int64_t>(arena4)};
  const int64_t weights = held - static_cast<int64_t>(arena4);
  int64_t most = 0;
  for (int64_t n = 200; n < 200 + 14 * 37; n += 37) {
    most = std::max(most, run_checked(n, static_cast<uint32_t>(n)) - weights);
    arenas.push_back(static_cast<int64_t>(s.arena_bytes()));
  }
  std::sort(arenas.rbegin(), arenas.rend());
  int64_t largest8 = 0;
  for (int i = 0; i < 8; ++i) largest8 += arenas[i];
  EXPECT_LE(most, largest8) << "more than 8 plans kept";
  // Evicted shapes plan again and still answer right.
  run_checked(4, 30);
  run_checked(100, 31);
}

// A returned tensor owns its memory: the next run (same plan, same arena) leaves it unchanged.
// Also for an output that another node reads further on.
TEST(Session, ReturnedOutputsSurviveTheNextRun) {
  ModelBuilder b(13, "two_outputs");
  b.input("x", {2, 5});
  b.node("Relu", {"x"}, {"r"});
  b.node("Neg", {"r"}, {"n"});
  b.node("Exp", {"n"}, {"y"});
  b.output("r").output("y");
  for (const std::vector<std::string>& providers :
       {std::vector<std::string>{"reference"}, default_providers()}) {
    SessionOptions o;
    o.providers = providers;
    Session s(b.build(), o);
    const Tensor x1 = random_tensor({2, 5}, 1), x2 = random_tensor({2, 5}, 2);
    const std::vector<Tensor> first = s.run({x1});
    const std::vector<Tensor> kept{first[0].clone(), first[1].clone()};
    const std::vector<Tensor> second = s.run({x2});
    for (size_t o2 = 0; o2 < 2; ++o2) {
      EXPECT_NE(first[o2].raw(), second[o2].raw());
      EXPECT_TRUE(
          tensors_close(first[o2], kept[o2], "first run's output after the second", {0, 0}));
    }
    for (int64_t i = 0; i < 10; ++i) {
      const float r = std::max(x2.data<float>()[i], 0.f);
      EXPECT_FLOAT_EQ(second[0].data<float>()[i], r);
      EXPECT_NEAR(second[1].data<float>()[i], std::exp(-r), 1e-6);
    }
  }
}

// Reshape to a shape given as input data: the plan cannot know the output shape before the
// run, so the session runs the model node by node (dynamic plan), each shape right.
TEST(Session, DataDependentShapes) {
  ModelBuilder b(13, "dynamic");
  b.input_dims("x", {Dim{-1, "N"}}).input("shape", {2}, DType::kI64);
  b.node("Reshape", {"x", "shape"}, {"r"});
  b.node("Transpose", {"r"}, {"t"});
  b.node("NonZero", {"t"}, {"nz"});
  b.output("t", DType::kF32, 2).output("nz", DType::kI64, 2);
  Session s(b.build(), reference_only());
  const Tensor x = Tensor::from_vector<float>({0, 1, 0, 2, 3, 0}, {6});
  // 2x3 -> transposed 3x2 [[0,2],[1,3],[0,0]]: non-zeros at (0,1), (1,0), (1,1).
  std::vector<Tensor> out = s.run({x, Tensor::from_vector<int64_t>({2, 3}, {2})});
  EXPECT_TRUE(tensors_close(out[0], Tensor::from_vector<float>({0, 2, 1, 3, 0, 0}, {3, 2})));
  EXPECT_TRUE(tensors_close(out[1], Tensor::from_vector<int64_t>({0, 1, 1, 1, 0, 1}, {2, 3})));
  // Same input shapes, other data: 3x2 -> transposed 2x3 [[0,0,3],[1,2,0]].
  out = s.run({x, Tensor::from_vector<int64_t>({3, 2}, {2})});
  EXPECT_TRUE(tensors_close(out[0], Tensor::from_vector<float>({0, 0, 3, 1, 2, 0}, {2, 3})));
  EXPECT_TRUE(tensors_close(out[1], Tensor::from_vector<int64_t>({0, 1, 1, 2, 0, 1}, {2, 3})));
  // Another length, all non-zero.
  const Tensor ones = Tensor::from_vector<float>({1, 1, 1, 1}, {4});
  out = s.run({ones, Tensor::from_vector<int64_t>({1, 4}, {2})});
  EXPECT_EQ(out[0].shape(), (Shape{4, 1}));
  EXPECT_EQ(out[1].shape(), (Shape{2, 4}));
}

// A dynamic plan's profile counts every node once per run, also those whose output depends on
// the data and is computed while planning the node (NonZero, NonMaxSuppression): the time of
// a detector's post-processing shows in `bench --profile`.
TEST(Session, DynamicRunsProfileEveryNode) {
  ModelBuilder b(13, "dynamic_profile");
  b.input_dims("x", {Dim{-1, "N"}}).input("shape", {2}, DType::kI64);
  b.node("Reshape", {"x", "shape"}, {"r"});
  b.node("NonZero", {"r"}, {"nz"});
  b.node("Transpose", {"nz"}, {"t"});
  b.output("t", DType::kI64, 2);
  SessionOptions o = reference_only();
  o.profile = true;
  Session s(b.build(), o);
  const Tensor x = Tensor::from_vector<float>({0, 1, 0, 2, 3, 0}, {6});
  for (int i = 0; i < 3; ++i) s.run({x, Tensor::from_vector<int64_t>({2, 3}, {2})});
  const std::vector<NodeProfile> prof = s.profile();
  ASSERT_EQ(prof.size(), 3u);
  for (const NodeProfile& p : prof) {
    EXPECT_EQ(p.calls, 3) << p.node;
    EXPECT_GE(p.total_ms, 0) << p.node;
  }
}

// Graph outputs that are a graph input or an initializer: returned as copies, so that changing
// them changes neither the caller's input nor what the next run returns.
TEST(Session, OutputThatIsAnInputOrAnInitializer) {
  ModelBuilder b(13, "passthrough");
  b.input("x", {3});
  b.constant("c", Tensor::from_vector<float>({7, 8, 9}, {3}));
  b.node("Add", {"x", "c"}, {"y"});
  b.output("x").output("c").output("y");
  Session s(b.build(), reference_only());
  const Tensor x = Tensor::from_vector<float>({1, 2, 3}, {3});
  std::vector<Tensor> out = s.run({x});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(tensors_close(out[0], x, "x", {0, 0}));
  EXPECT_NE(out[0].raw(), x.raw());
  EXPECT_TRUE(tensors_close(out[1], Tensor::from_vector<float>({7, 8, 9}, {3}), "c", {0, 0}));
  EXPECT_TRUE(tensors_close(out[2], Tensor::from_vector<float>({8, 10, 12}, {3}), "y", {0, 0}));
  out[0].data<float>()[0] = -100;
  out[1].data<float>()[0] = -100;
  EXPECT_EQ(x.data<float>()[0], 1);
  out = s.run({x});
  EXPECT_TRUE(tensors_close(out[1], Tensor::from_vector<float>({7, 8, 9}, {3}), "c", {0, 0}));
  EXPECT_TRUE(tensors_close(out[2], Tensor::from_vector<float>({8, 10, 12}, {3}), "y", {0, 0}));
}

// Runs `f`, which must throw one invalid-input Error whose message contains every `parts`.
void expect_input_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput) << e.what();
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << msg;
  }
}

TEST(Session, BadInputsGiveOneClearError) {
  Session s(dense_relu_model(), reference_only());
  const Tensor x = random_tensor({2, 3}, 1);
  expect_input_error([&] { s.run({}); }, {"takes 1 input", "got 0"});
  expect_input_error([&] { s.run({x, x}); }, {"takes 1 input", "got 2"});
  expect_input_error([&] { s.run({Tensor(DType::kI64, {2, 3})}); }, {"'x'", "f32", "i64"});
  expect_input_error([&] { s.run({random_tensor({2, 4}, 1)}); }, {"'x'", "Nx3", "2x4"});
  expect_input_error([&] { s.run({random_tensor({6}, 1)}); }, {"'x'", "Nx3", "6"});
  expect_input_error([&] { s.run({Tensor::meta(DType::kF32, {2, 3})}); }, {"'x'", "no data"});
  expect_input_error([&] { s.run_named({}); }, {"missing input 'x'"});
  expect_input_error([&] { s.run_named({{"x", x}, {"z", x}}); }, {"no input named 'z'"});
  // The session still runs after the errors.
  EXPECT_TRUE(tensors_close(s.run_named({{"x", x}})[0], dense_relu_by_hand(x)));
}

TEST(Session, UnknownOpAndProviderAreRefusedAtCreation) {
  ModelBuilder b(13, "unknown_op");
  b.input("x", {2});
  b.node("NoSuchOp", {"x"}, {"y"}, "com.example");
  b.opset("com.example", 1);
  b.output("y");
  try {
    Session s(b.model());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("com.example.NoSuchOp-1"), std::string::npos) << e.what();
  }
  SessionOptions o;
  o.providers = {"no_such_provider"};
  expect_input_error([&] { Session s(dense_relu_model(), o); }, {"unknown provider"});
}

}  // namespace
}  // namespace edgeopt
