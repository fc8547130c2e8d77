// The libtorch graph executor: gradients of every op against central finite differences (double
// precision), BatchNormalization statistics in train mode, fake quantization's straight-through
// gradient, and the forward pass against edgeopt's reference runtime on the Fashion models.
#include "train/torch_graph.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <random>

#include "edgeopt/data.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/session.h"

namespace edgeopt::train {
namespace {

// A one-node model: inputs (name, shape) fed by the caller, initializers (name, tensor).
struct OneOp {
  Model model;
  std::vector<Shape> input_shapes;
};

Tensor random_tensor(const Shape& shape, std::mt19937& rng, float lo = -1, float hi = 1) {
  Tensor t(DType::kF32, shape);
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

OneOp one_op(const std::string& op, const std::vector<Shape>& inputs,
             const std::vector<std::pair<std::string, Tensor>>& inits,
             const std::function<void(Node&)>& attrs = {}) {
  OneOp o;
  o.model.opset_imports = {{"", 13}};
  Node n;
  n.op_type = op;
  n.name = "node";
  for (size_t i = 0; i < inputs.size(); ++i) {
    ValueInfo v;
    v.name = "x" + std::to_string(i);
    v.dtype = DType::kF32;
    v.has_shape = true;
    for (int64_t d : inputs[i]) v.dims.push_back(Dim{d, ""});
    o.model.graph.inputs.push_back(v);
    n.inputs.push_back(v.name);
  }
  for (const auto& [name, t] : inits) {
    o.model.graph.add_initializer(name, t);
    n.inputs.push_back(name);
  }
  n.outputs = {"y"};
  if (attrs) attrs(n);
  o.model.graph.nodes.push_back(n);
  ValueInfo y;
  y.name = "y";
  y.dtype = DType::kF32;
  o.model.graph.outputs.push_back(y);
  o.input_shapes = inputs;
  return o;
}

// Compares d(Σ y·R)/dθ from autograd with central differences (h = 1e-6) for every input and
// parameter, at up to 12 coordinates each.
void check_gradients(const OneOp& o, bool train_mode = false, double tol = 1e-6) {
  GraphOptions go;
  go.dtype = torch::kDouble;
  TorchGraph g(o.model, go);
  g.train(train_mode);
  torch::manual_seed(0);
  std::vector<torch::Tensor> xs;
  for (const Shape& s : o.input_shapes)
    xs.push_back(torch::randn(std::vector<int64_t>(s.begin(), s.end()), torch::kDouble)
                     .set_requires_grad(true));
  std::vector<torch::Tensor> wrt = xs;
  for (const auto& [name, p] : g.parameters()) wrt.push_back(p);
  torch::Tensor y0 = g.forward(xs)[0];
  const torch::Tensor r = torch::randn(y0.sizes(), torch::kDouble);
  auto loss = [&] { return (g.forward(xs)[0] * r).sum(); };
  const std::vector<torch::Tensor> grads = torch::autograd::grad({loss()}, wrt);
  torch::NoGradGuard no_grad;
  std::mt19937 rng(1);
  for (size_t k = 0; k < wrt.size(); ++k) {
    torch::Tensor flat = wrt[k].view({-1});
    const int64_t n = flat.numel();
    for (int c = 0; c < std::min<int64_t>(12, n); ++c) {
      const int64_t i = n <= 12 ? c : static_cast<int64_t>(rng() % n);
      const double v = flat[i].item<double>();
      constexpr double h = 1e-6;
      flat[i] = v + h;
      const double up = loss().item<double>();
      flat[i] = v - h;
      const double down = loss().item<double>();
      flat[i] = v;
      const double numeric = (up - down) / (2 * h);
      const double analytic = grads[k].reshape({-1})[i].item<double>();
      EXPECT_NEAR(analytic, numeric, tol * std::max(1.0, std::fabs(numeric)))
          << o.model.graph.nodes[0].op_type << " tensor " << k << " element " << i;
    }
  }
}

TEST(TorchGraphGrad, ConvWithBiasStridePadsGroups) {
  std::mt19937 rng(0);
  check_gradients(one_op("Conv", {{2, 4, 7, 6}},
                         {{"w", random_tensor({6, 2, 3, 3}, rng)}, {"b", random_tensor({6}, rng)}},
                         [](Node& n) {
                           n.set_attr_ints("strides", {2, 1});
                           n.set_attr_ints("pads", {1, 0, 2, 1});
                           n.set_attr_int("group", 2);
                         }));
}

TEST(TorchGraphGrad, ConvTranspose) {
  std::mt19937 rng(0);
  check_gradients(one_op("ConvTranspose", {{2, 3, 4, 5}},
                         {{"w", random_tensor({3, 2, 3, 3}, rng)}, {"b", random_tensor({2}, rng)}},
                         [](Node& n) {
                           n.set_attr_ints("strides", {2, 2});
                           n.set_attr_ints("pads", {1, 0, 0, 1});
                           n.set_attr_ints("output_padding", {1, 0});
                         }));
}

TEST(TorchGraphGrad, GemmAndMatMul) {
  std::mt19937 rng(0);
  check_gradients(one_op("Gemm", {{3, 5}},
                         {{"w", random_tensor({4, 5}, rng)}, {"b", random_tensor({4}, rng)}},
                         [](Node& n) {
                           n.set_attr_int("transB", 1);
                           n.set_attr_float("alpha", 0.5f);
                           n.set_attr_float("beta", 2.0f);
                         }));
  check_gradients(one_op("MatMul", {{2, 3, 5}}, {{"w", random_tensor({5, 4}, rng)}}));
}

TEST(TorchGraphGrad, BatchNormalizationTrainAndEval) {
  std::mt19937 rng(0);
  auto bn = [&] {
    return one_op("BatchNormalization", {{4, 3, 2, 2}},
                  {{"g", random_tensor({3}, rng, 0.5, 1.5)},
                   {"b", random_tensor({3}, rng)},
                   {"m", random_tensor({3}, rng)},
                   {"v", random_tensor({3}, rng, 0.5, 1.5)}});
  };
  check_gradients(bn(), /*train_mode=*/true);
  check_gradients(bn(), /*train_mode=*/false);
}

TEST(TorchGraphGrad, Activations) {
  for (const char* op : {"Relu", "LeakyRelu", "Sigmoid", "HardSwish", "HardSigmoid", "Tanh",
                         "Softmax", "LogSoftmax", "Identity", "GlobalAveragePool", "Flatten"})
    check_gradients(one_op(op, {{2, 3, 2, 4}}, {}));
  Tensor lo = Tensor::scalar<float>(-0.5f), hi = Tensor::scalar<float>(0.7f);
  check_gradients(one_op("Clip", {{2, 3, 4}}, {{"lo", lo}, {"hi", hi}}));
}

TEST(TorchGraphGrad, Binary) {
  std::mt19937 rng(0);
  for (const char* op : {"Add", "Sub", "Mul"}) {
    check_gradients(one_op(op, {{2, 3, 4}, {2, 3, 4}}, {}));
    check_gradients(one_op(op, {{2, 3, 4}}, {{"c", random_tensor({3, 1}, rng)}}));
  }
  check_gradients(one_op("Div", {{2, 3, 4}}, {{"c", random_tensor({4}, rng, 1.0, 2.0)}}));
}

TEST(TorchGraphGrad, Pooling) {
  check_gradients(one_op("MaxPool", {{2, 3, 6, 5}}, {}, [](Node& n) {
    n.set_attr_ints("kernel_shape", {3, 2});
    n.set_attr_ints("strides", {2, 2});
    n.set_attr_ints("pads", {1, 0, 1, 1});
  }));
  check_gradients(one_op("AveragePool", {{2, 3, 6, 5}}, {}, [](Node& n) {
    n.set_attr_ints("kernel_shape", {3, 3});
    n.set_attr_ints("strides", {2, 1});
    n.set_attr_ints("pads", {1, 1, 1, 1});
  }));
}

TEST(TorchGraphGrad, ShapeOps) {
  check_gradients(
      one_op("Reshape", {{2, 3, 4}}, {{"s", Tensor::from_vector<int64_t>({0, -1, 2}, {3})}}));
  check_gradients(one_op("Transpose", {{2, 3, 4}}, {}, [](Node& n) {
    n.set_attr_ints("perm", {2, 0, 1});
  }));
  check_gradients(
      one_op("Concat", {{2, 3, 4}, {2, 1, 4}}, {}, [](Node& n) { n.set_attr_int("axis", 1); }));
}

TEST(TorchGraph, BatchNormUpdatesRunningStatisticsInTrainMode) {
  Model m = one_op("BatchNormalization", {{8, 2, 3, 3}},
                   {{"g", Tensor::from_vector<float>({1, 1}, {2})},
                    {"b", Tensor(DType::kF32, {2})},
                    {"m", Tensor(DType::kF32, {2})},
                    {"v", Tensor::from_vector<float>({1, 1}, {2})}},
                   [](Node& n) { n.set_attr_float("momentum", 0.8f); })
                .model;
  TorchGraph g(m);
  torch::manual_seed(3);
  torch::Tensor x = torch::randn({8, 2, 3, 3}) * 2 + 1;
  g.train(false);
  g.forward({x});
  EXPECT_EQ(g.buffers()[0].second.abs().sum().item<float>(), 0.0f) << "eval mode must not update";
  g.train(true);
  torch::Tensor y = g.forward({x})[0];
  // running = 0.8·running + 0.2·batch (the unbiased variance, as PyTorch).
  torch::Tensor mean = x.mean({0, 2, 3}), var = x.var({0, 2, 3}, /*unbiased=*/true);
  EXPECT_TRUE(torch::allclose(g.buffers()[0].second, 0.2 * mean, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(g.buffers()[1].second, 0.8 + 0.2 * var, 1e-5, 1e-6));
  // Train-mode output is normalised by the batch statistics.
  EXPECT_NEAR(y.mean().item<float>(), 0.0, 1e-5);
  Model out = m;
  g.write_back(out);
  EXPECT_NEAR(out.graph.find_initializer("m")->tensor.data<float>()[0],
              0.2f * mean[0].item<float>(), 1e-6);
}

// Synchronised BN (data-parallel jobs) in a world of one rank (the sum across ranks is the
// identity) against torch's own batch norm: output, gradients and running statistics.
TEST(TorchGraph, SynchronisedBatchNormOfOneRankEqualsTorchBatchNorm) {
  std::mt19937 rng(0);
  Model m = one_op("BatchNormalization", {{6, 3, 4, 4}},
                   {{"g", random_tensor({3}, rng, 0.5, 1.5)},
                    {"b", random_tensor({3}, rng)},
                    {"m", random_tensor({3}, rng)},
                    {"v", random_tensor({3}, rng, 0.5, 1.5)}},
                   [](Node& n) { n.set_attr_float("momentum", 0.7f); })
                .model;
  GraphOptions sync;
  int calls = 0;
  sync.sum_across_ranks = [&calls](const torch::Tensor& t) {
    ++calls;
    return t * 1.0;  // differentiable identity
  };
  TorchGraph plain(m), synced(m, sync);
  plain.train(true);
  synced.train(true);
  torch::manual_seed(5);
  const torch::Tensor x0 = torch::randn({6, 3, 4, 4}) * 3 + 0.5;
  const torch::Tensor r = torch::randn({6, 3, 4, 4});
  auto run = [&](TorchGraph& g) {
    torch::Tensor x = x0.clone().set_requires_grad(true);
    torch::Tensor y = g.forward({x})[0];
    std::vector<torch::Tensor> wrt{x};
    for (const auto& [name, p] : g.parameters()) wrt.push_back(p);
    std::vector<torch::Tensor> out = torch::autograd::grad({(y * r).sum()}, wrt);
    out.insert(out.begin(), y.detach());
    return out;
  };
  const std::vector<torch::Tensor> a = run(plain), b = run(synced);
  EXPECT_EQ(calls, 1) << "Σx and Σx² go across ranks in one all-reduce";
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(torch::allclose(a[i], b[i], 1e-5, 1e-5)) << "output/gradient " << i;
  for (size_t i = 0; i < 2; ++i)
    EXPECT_TRUE(torch::allclose(plain.buffers()[i].second, synced.buffers()[i].second, 1e-6, 1e-6))
        << "running statistic " << i;
}

TEST(TorchGraph, FakeQuantStraightThroughGradient) {
  // y = DQ(Q(x)) with S = 0.1, Z = 128 (u8): representable range [−12.8, 12.7].
  Model m;
  m.opset_imports = {{"", 13}};
  ValueInfo in{"x", DType::kF32, true, {Dim{4, ""}}};
  m.graph.inputs.push_back(in);
  m.graph.add_initializer("s", Tensor::scalar<float>(0.1f));
  m.graph.add_initializer("z", Tensor::scalar<uint8_t>(128));
  Node q, dq;
  q.op_type = "QuantizeLinear";
  q.inputs = {"x", "s", "z"};
  q.outputs = {"q"};
  dq.op_type = "DequantizeLinear";
  dq.inputs = {"q", "s", "z"};
  dq.outputs = {"y"};
  m.graph.nodes = {q, dq};
  m.graph.outputs.push_back(ValueInfo{"y", DType::kF32});
  TorchGraph g(m);
  torch::Tensor x = torch::tensor({0.123f, -3.05f, 20.0f, -20.0f}).set_requires_grad(true);
  torch::Tensor y = g.forward({x})[0];
  EXPECT_TRUE(torch::allclose(y, torch::tensor({0.1f, -3.0f, 12.7f, -12.8f}), 1e-6, 1e-6));
  torch::Tensor grad = torch::autograd::grad({y.sum()}, {x})[0];
  EXPECT_TRUE(torch::equal(grad, torch::tensor({1.0f, 1.0f, 0.0f, 0.0f})));
}

TEST(TorchGraph, ForwardMatchesReferenceRuntimeOnFashionModels) {
  const std::filesystem::path models = std::filesystem::path(EDGEOPT_SOURCE_DIR) / "models";
  std::unique_ptr<Dataset> data = open_dataset("fashion-mnist:test");
  Batch batch = data->read(0, 16);
  int checked = 0;
  for (const char* name : {"fashion_resnet.onnx", "fashion_mobilenet.onnx"}) {
    if (!std::filesystem::exists(models / name)) continue;
    Model m = load_model(models / name);
    SessionOptions so;
    so.providers = {"reference"};
    Session s(m, so);
    const Tensor ref = s.run({batch.x})[0];
    TorchGraph g(m);
    torch::NoGradGuard no_grad;
    const torch::Tensor out = g.forward({to_torch(batch.x)})[0];
    const torch::Tensor diff = (out - to_torch(ref)).abs().max();
    EXPECT_LT(diff.item<float>(), 1e-4) << name;
    ++checked;
  }
  EXPECT_GE(checked, 1);
}

}  // namespace
}  // namespace edgeopt::train
