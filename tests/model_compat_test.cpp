// Models from any exporter (issue 16): an opset older than an operation needs is raised with
// ONNX's version converter (and quantization below opset 13 stays valid), an import of a domain
// no node uses loads, and weights held in Constant nodes count as parameters. The bundled
// Fashion-MNIST ResNet-8 (opset 13) stands in for an older export.
#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>

#include "edgeopt/data.h"
#include "edgeopt/error.h"
#include "edgeopt/fileio.h"
#include "edgeopt/inspect.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/quantize.h"
#include "edgeopt/session.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;

const fs::path kModel = fs::path(EDGEOPT_SOURCE_DIR) / "models" / "fashion_resnet8.onnx";

onnx::ModelProto model_proto() {
  onnx::ModelProto mp;
  EXPECT_TRUE(mp.ParseFromString(read_file(kModel)));
  return mp;
}

Model from_proto(const onnx::ModelProto& mp) { return parse_model(mp.SerializeAsString(), {}); }

// The bundled model as an older exporter writes it: its ops (Conv, BatchNormalization, Relu,
// Add, GlobalAveragePool, Flatten, Gemm) mean the same at opsets 9 to 13, only the import
// differs. (ONNX's converter has no adapter down from Relu-13.)
Model at_opset(int opset) {
  onnx::ModelProto mp = model_proto();
  mp.mutable_opset_import(0)->set_version(opset);
  return from_proto(mp);
}

// Two 28x28 images with a smooth pattern in [0, 1].
Tensor images() {
  Tensor x(DType::kF32, {2, 1, 28, 28});
  for (int64_t i = 0; i < x.numel(); ++i)
    x.data<float>()[i] = 0.5f + 0.5f * std::sin(0.37f * static_cast<float>(i));
  return x;
}

Tensor run_reference(const Model& m) {
  SessionOptions so;
  so.providers = {"reference"};
  Session s(m, so);
  return s.run(std::vector<Tensor>{images()})[0];
}

// ||a - b|| / ||b||
double relative_error(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double num = 0, den = 0;
  for (int64_t i = 0; i < b.numel(); ++i) {
    const double d = a.data<float>()[i] - b.data<float>()[i];
    num += d * d;
    den += double(b.data<float>()[i]) * b.data<float>()[i];
  }
  return std::sqrt(num / den);
}

void expect_valid_onnx(const Model& m) {
  onnx::ModelProto mp;
  ASSERT_TRUE(mp.ParseFromString(serialize_model(m)));
  EXPECT_NO_THROW(onnx::checker::check_model(mp));
}

TEST(OpsetConversion, RaisesAnOldOpsetAndKeepsTheOutputs) {
  const Model old = at_opset(9);
  ASSERT_EQ(old.opset(), 9);
  Model raised = old;
  EXPECT_EQ(ensure_opset(raised, 13, "per-channel DequantizeLinear needs 13"),
            "converted model from opset 9 to 13 (per-channel DequantizeLinear needs 13)");
  EXPECT_EQ(raised.opset(), 13);
  EXPECT_EQ(ensure_opset(raised, 13, "again"), "");  // already there: unchanged
  expect_valid_onnx(raised);
  EXPECT_LE(relative_error(run_reference(raised), run_reference(old)), 1e-6);
}

// The converter knows only ONNX's schemas: a vendor op is named in the one-line refusal.
TEST(OpsetConversion, NamesTheNodeItCannotConvert) {
  Model m;
  m.opset_imports = {{"", 11}, {"com.microsoft", 1}};
  m.graph.name = "g";
  m.graph.inputs.push_back({"x", DType::kF32, true, {{1, ""}, {4, ""}}, "", ""});
  m.graph.outputs.push_back({"y", DType::kF32, true, {{1, ""}, {4, ""}}, "", ""});
  Node n;
  n.name = "gelu";
  n.op_type = "Gelu";
  n.domain = "com.microsoft";
  n.inputs = {"x"};
  n.outputs = {"y"};
  m.graph.nodes.push_back(n);
  try {
    ensure_opset(m, 13, "per-channel DequantizeLinear needs 13");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_EQ(std::string(e.what()),
              "cannot convert the model from opset 11 to 13 (per-channel DequantizeLinear needs "
              "13): no ONNX schema for node 'gelu' (com.microsoft.Gelu)");
  }
  EXPECT_EQ(m.opset(), 11);  // unchanged
}

// Quantization of models below the opset its ops need, checked against the float model.
class OldOpsetQuantize : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("edgeopt_compat_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    // Calibration: 16 samples of the same pattern, scaled.
    Tensor x(DType::kF32, {16, 1, 28, 28});
    for (int64_t i = 0; i < x.numel(); ++i)
      x.data<float>()[i] = 0.5f + 0.5f * std::sin(0.37f * static_cast<float>(i % 784) +
                                                  0.1f * static_cast<float>(i / 784));
    save_npz(dir_ / "calib.npz", {{"x", x}, {"y", Tensor(DType::kI64, {16})}});
  }
  void TearDown() override { fs::remove_all(dir_); }

  Model quantize(const Model& m, bool per_channel, QuantizeReport& r) {
    QuantizeOptions o;
    o.per_channel = per_channel;
    o.samples = 16;
    auto calib = open_dataset((dir_ / "calib.npz").string());
    return quantize_model(m, o, calib.get(), nullptr, &r);
  }

  fs::path dir_;
};

TEST_F(OldOpsetQuantize, PerTensorAtOpset11StaysThereWithoutAxis) {
  const Model m = at_opset(11);
  QuantizeReport r;
  const Model q = quantize(m, false, r);
  EXPECT_TRUE(r.notes.empty());
  EXPECT_EQ(q.opset(), 11);
  EXPECT_GT(r.quantized_nodes, 5);
  int dq = 0;
  for (const Node& n : q.graph.nodes) {
    if (n.op_type != "QuantizeLinear" && n.op_type != "DequantizeLinear") continue;
    ++dq;
    EXPECT_FALSE(n.has_attr("axis")) << n.name;
  }
  EXPECT_GT(dq, 10);
  expect_valid_onnx(q);
  const double err = relative_error(run_reference(q), run_reference(m));
  std::printf("per-tensor int8 at opset 11: relative error %.4f\n", err);
  EXPECT_LE(err, 0.1);
}

TEST_F(OldOpsetQuantize, PerTensorAtOpset9IsRaisedTo10) {
  QuantizeReport r;
  const Model q = quantize(at_opset(9), false, r);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes[0], "converted model from opset 9 to 10 (QuantizeLinear needs 10)");
  EXPECT_EQ(q.opset(), 10);
  expect_valid_onnx(q);
}

TEST_F(OldOpsetQuantize, PerChannelAtOpset11IsRaisedTo13) {
  const Model m = at_opset(11);
  QuantizeReport r;
  const Model q = quantize(m, true, r);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_EQ(r.notes[0],
            "converted model from opset 11 to 13 (per-channel DequantizeLinear needs 13)");
  EXPECT_EQ(q.opset(), 13);
  expect_valid_onnx(q);
  const double err = relative_error(run_reference(q), run_reference(m));
  std::printf("per-channel int8 from opset 11: relative error %.4f\n", err);
  EXPECT_LE(err, 0.1);
}

// ONNX Runtime's optimizer leaves imports such as com.microsoft.nchwc in the list.
TEST(UnusedDomainImport, LoadsRunsAndSavesLikeTheOriginal) {
  onnx::ModelProto mp = model_proto();
  auto* op = mp.add_opset_import();
  op->set_domain("com.microsoft.nchwc");
  op->set_version(1);
  const Model with = from_proto(mp);
  const Model without = from_proto(model_proto());
  const Tensor a = run_reference(with), b = run_reference(without);
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(a.data<float>()[i], b.data<float>()[i]);
  Session fast(with);  // the default providers load it too
  const Tensor c = fast.run(std::vector<Tensor>{images()})[0];
  EXPECT_LE(relative_error(c, b), 1e-4);
  expect_valid_onnx(with);
  EXPECT_EQ(with.opset("com.microsoft.nchwc"), 1);
}

// Older exporters and TF converters hold weights in Constant nodes.
TEST(ConstantWeights, CountLikeInitializers) {
  const onnx::ModelProto mp = model_proto();
  onnx::ModelProto consts = mp;
  auto* g = consts.mutable_graph();
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (const onnx::TensorProto& t : mp.graph().initializer()) {
    onnx::NodeProto* n = nodes.Add();
    n->set_op_type("Constant");
    n->set_name(t.name() + "_Constant");
    n->add_output(t.name());
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    *a->mutable_t() = t;
  }
  for (const onnx::NodeProto& n : mp.graph().node()) *nodes.Add() = n;
  *g->mutable_node() = nodes;
  g->clear_initializer();
  ASSERT_EQ(g->node_size(), mp.graph().node_size() + mp.graph().initializer_size());

  const Model a = from_proto(mp), b = from_proto(consts);
  const ModelStats sa = inspect_model(a, 1), sb = inspect_model(b, 1);
  EXPECT_GT(sa.params, 10000);
  EXPECT_EQ(sb.params, sa.params);
  EXPECT_EQ(sb.weight_bytes, sa.weight_bytes);
  EXPECT_EQ(sb.weight_bytes_by_dtype, sa.weight_bytes_by_dtype);
  EXPECT_EQ(sb.macs, sa.macs);
  EXPECT_EQ(sb.peak_activation_bytes, sa.peak_activation_bytes);
  // Per node: the same parameters under the same node names.
  const size_t skip = sb.nodes.size() - sa.nodes.size();
  for (size_t i = 0; i < sa.nodes.size(); ++i) {
    EXPECT_EQ(sb.nodes[skip + i].name, sa.nodes[i].name);
    EXPECT_EQ(sb.nodes[skip + i].params, sa.nodes[i].params) << sa.nodes[i].name;
  }
  EXPECT_LE(relative_error(run_reference(b), run_reference(a)), 1e-6);
}

}  // namespace
}  // namespace edgeopt
