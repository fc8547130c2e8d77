// torchvision SqueezeNet 1.1 quantized by edgeopt (static QDQ, calibrated on the fixture's 16
// samples): its fire modules concatenate two expand convs. The quantizer gives a Concat's inputs
// its output's scale and zero point, so the oneDNN provider concatenates the u8 tensors with no
// dequantize / requantize around it; the result must match the reference provider, which runs
// the QDQ graph literally, to within one quantization step.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>

#include "edgeopt/data.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/quantize.h"
#include "edgeopt/session.h"
#include "ir/onnx_proto_utils.h"

namespace {

namespace fs = std::filesystem;
using namespace edgeopt;

fs::path fixtures_dir() { return fs::path(EDGEOPT_BINARY_DIR) / "fixtures"; }

// The scale initializer a QuantizeLinear / DequantizeLinear reads.
float scale_of(const Graph& g, const Node& n) {
  const NamedTensor* t = g.find_initializer(n.inputs.at(1));
  return t && t->tensor.dtype() == DType::kF32 && t->tensor.numel() == 1
             ? t->tensor.data<float>()[0]
             : -1.f;
}

// The step of the graph's output: the scale of the DequantizeLinear it comes from (through a
// Flatten), or 0.
float output_step(const Graph& g) {
  int p = g.producer(g.outputs.at(0).name);
  while (p >= 0 && (g.nodes[p].op_type == "Flatten" || g.nodes[p].op_type == "Reshape"))
    p = g.producer(g.nodes[p].inputs.at(0));
  return p >= 0 && g.nodes[p].op_type == "DequantizeLinear" ? scale_of(g, g.nodes[p]) : 0.f;
}

// Runs `q` on the fixture's input and a calibration sample with the oneDNN provider and the
// reference provider; returns the fraction of outputs within one output step, and counts what
// the oneDNN provider ran per op type.
double onednn_vs_reference(const Model& q, Dataset& calib, double* max_steps,
                           std::map<std::string, int>* onednn) {
  SessionOptions fast_opts{{"onednn", "reference"}, 1, false}, ref_opts{{"reference"}, 1, false};
  fast_opts.profile = true;
  Session fast(q, fast_opts), ref(q, ref_opts);
  const float step = output_step(q.graph);
  EXPECT_GT(step, 0.f);
  std::vector<Tensor> inputs{load_tensor_pb(fixtures_dir() / "squeezenet1_1_input.pb")};
  inputs.push_back(calib.read(3, 1).x);
  int64_t close = 0, total = 0;
  *max_steps = 0;
  for (const Tensor& x : inputs) {
    const Tensor got = fast.run(std::vector<Tensor>{x})[0];
    const Tensor want = ref.run(std::vector<Tensor>{x})[0];
    EXPECT_EQ(got.shape(), want.shape());
    const float* w = want.data<float>();
    for (int64_t i = 0; i < want.numel(); ++i, ++total) {
      const double d = std::fabs(got.data<float>()[i] - w[i]) / step;
      close += d <= 1.01;
      *max_steps = std::max(*max_steps, d);
    }
  }
  for (const NodeProfile& p : fast.profile())
    if (p.provider == "onednn") ++(*onednn)[p.op_type];
  return double(close) / double(total);
}

// SqueezeNet 1.1 quantized by edgeopt, calibrated on the fixture's 16 samples (calib_).
class TorchvisionInt8Concat : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path dir = fixtures_dir();
    for (const char* f :
         {"squeezenet1_1_op13.onnx", "squeezenet1_1_input.pb", "resnet18_calib.npz"})
      if (!fs::exists(dir / f))
        GTEST_SKIP() << dir / f << " is missing: run ctest -R make_fixtures";
    calib_ = open_dataset((dir / "resnet18_calib.npz").string());
    QuantizeOptions o;
    o.samples = 16;
    o.reduce_range = !host_has_int8_dot_product();  // as the CLI does (7-bit weights on AVX2)
    q_ = quantize_model(load_model(dir / "squeezenet1_1_op13.onnx"), o, calib_.get(), nullptr,
                        nullptr);
  }
  // The oneDNN provider against the reference on the calibration samples: within one output
  // step, the 8 Concats on oneDNN, and Q / DQ only where the network enters and leaves int8
  // (the input, the logits; the classifier's GlobalAveragePool pools the u8 map itself), none
  // around the Concats.
  void expect_integer_concats(const Model& q, const char* what) {
    double max_steps = 0;
    std::map<std::string, int> onednn;
    const double close_frac = onednn_vs_reference(q, *calib_, &max_steps, &onednn);
    std::printf(
        "%s, onednn vs reference: within one step %.4f, max %.2f steps; onednn ran %d Concat, "
        "%d QuantizeLinear, %d DequantizeLinear\n",
        what, close_frac, max_steps, onednn["Concat"], onednn["QuantizeLinear"],
        onednn["DequantizeLinear"]);
    EXPECT_GE(close_frac, 0.999);
    EXPECT_EQ(onednn["Concat"], 8);
    EXPECT_LE(onednn["QuantizeLinear"], 2);
    EXPECT_LE(onednn["DequantizeLinear"], 2);
  }
  std::unique_ptr<Dataset> calib_;
  Model q_;
};

TEST_F(TorchvisionInt8Concat, SqueezenetConcatsRunOnIntegers) {
  const Model& q = q_;
  // Every Concat reads DequantizeLinears of one scale and feeds a QuantizeLinear of that scale.
  const Graph& g = q.graph;
  int concats = 0;
  for (const Node& n : g.nodes) {
    if (n.op_type != "Concat") continue;
    ++concats;
    const std::vector<int> readers = g.consumers(n.outputs[0]);
    ASSERT_EQ(readers.size(), 1u);
    const Node& qn = g.nodes[readers[0]];
    ASSERT_EQ(qn.op_type, "QuantizeLinear") << n.name;
    for (const std::string& in : n.inputs) {
      const int p = g.producer(in);
      ASSERT_GE(p, 0);
      ASSERT_EQ(g.nodes[p].op_type, "DequantizeLinear") << n.name;
      EXPECT_EQ(scale_of(g, g.nodes[p]), scale_of(g, qn)) << n.name << " input " << in;
    }
  }
  EXPECT_EQ(concats, 8);

  expect_integer_concats(q, "edgeopt int8 squeezenet1_1");
}

// PyTorch's FX export observes a Concat's inputs apart from its output, so its QDQ graphs give
// each input its own scale (squeezenet1_1_fxq_op13.onnx). The same graph made here from the
// edgeopt-quantized one: the first input of every Concat, and the QuantizeLinear that writes it,
// get a scale 1.3x the output's. The oneDNN provider must requantize those inputs inside the
// convs that produce them and still concatenate integers, matching the reference.
TEST_F(TorchvisionInt8Concat, InputsOnOtherScalesAreRequantizedByTheirProducers) {
  Model& q = q_;
  Graph& g = q.graph;
  int moved = 0;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (g.nodes[i].op_type != "Concat") continue;
    const int dq = g.producer(g.nodes[i].inputs.at(0));
    ASSERT_GE(dq, 0);
    ASSERT_EQ(g.nodes[dq].op_type, "DequantizeLinear");
    const int qn = g.producer(g.nodes[dq].inputs.at(0));
    ASSERT_GE(qn, 0);
    ASSERT_EQ(g.nodes[qn].op_type, "QuantizeLinear");
    ASSERT_EQ(g.consumers(g.nodes[qn].outputs[0]).size(), 1u);
    const float s = scale_of(g, g.nodes[dq]);
    ASSERT_GT(s, 0.f);
    const std::string name = g.unique_name(g.nodes[i].name + "_input0_scale");
    g.add_initializer(name, Tensor::scalar(1.3f * s));
    g.nodes[dq].inputs[1] = name;
    g.nodes[qn].inputs[1] = name;
    ++moved;
  }
  ASSERT_EQ(moved, 8);

  expect_integer_concats(q, "squeezenet1_1 with Concat inputs on other scales");
}

}  // namespace
