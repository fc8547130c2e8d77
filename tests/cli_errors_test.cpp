// Bad input to the CLI: one line on stderr, exit code 2, never a signal, no partial output.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_run.h"
#include "edgeopt/data.h"
#include "edgeopt/error.h"
#include "edgeopt/onnx_io.h"
#include "testing/scratch.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;

using Result = testing::CliResult;

class CliErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::test_scratch_dir("edgeopt_cli");
    fs::create_directories(dir_ / "model");
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result run(const std::string& args) { return testing::run_edgeopt(args, dir_); }

  // A one-node Relu model as a protobuf, to be damaged by each test.
  onnx::ModelProto relu_proto() {
    onnx::ModelProto m;
    m.set_ir_version(8);
    auto* op = m.add_opset_import();
    op->set_version(13);
    auto* g = m.mutable_graph();
    g->set_name("g");
    auto* n = g->add_node();
    n->set_op_type("Relu");
    n->add_input("x");
    n->add_output("y");
    for (auto* vi : {g->add_input(), g->add_output()}) {
      auto* tt = vi->mutable_type()->mutable_tensor_type();
      tt->set_elem_type(onnx::TensorProto::FLOAT);
      tt->mutable_shape()->add_dim()->set_dim_value(4);
    }
    g->mutable_input(0)->set_name("x");
    g->mutable_output(0)->set_name("y");
    return m;
  }

  fs::path write(const std::string& name, const std::string& bytes) {
    const fs::path p = dir_ / "model" / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }

  void expect_input_error(const std::string& args, const std::string& needle) {
    const Result r = run(args);
    EXPECT_FALSE(r.signaled) << args;
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr: " << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }

  fs::path dir_;
};

TEST_F(CliErrors, GoodModelInspects) {
  const fs::path p = write("ok.onnx", relu_proto().SerializeAsString());
  const Result r = run("inspect " + p.string());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Relu"), std::string::npos);
}

TEST_F(CliErrors, MissingFile) {
  expect_input_error("inspect " + (dir_ / "nope.onnx").string(), "no such file");
}

TEST_F(CliErrors, Directory) { expect_input_error("inspect " + dir_.string(), "directory"); }

TEST_F(CliErrors, EmptyFile) {
  expect_input_error("inspect " + write("e.onnx", "").string(), "empty");
}

TEST_F(CliErrors, Garbage) {
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk += static_cast<char>((i * 7919 + 13) % 256);
  expect_input_error("inspect " + write("g.onnx", junk).string(), "");
}

TEST_F(CliErrors, Truncated) {
  onnx::ModelProto m = relu_proto();
  onnx::TensorProto* w = m.mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(1000);
  w->set_raw_data(std::string(4000, '\1'));
  const std::string bytes = m.SerializeAsString();
  for (size_t cut : {bytes.size() / 2, bytes.size() - 3, size_t{5}})
    expect_input_error("inspect " + write("t.onnx", bytes.substr(0, cut)).string(), "");
}

TEST_F(CliErrors, OpsetOutOfRange) {
  onnx::ModelProto m = relu_proto();
  m.mutable_opset_import(0)->set_version(18);
  expect_input_error("inspect " + write("o.onnx", m.SerializeAsString()).string(), "opset 18");
  m.mutable_opset_import(0)->set_version(0);
  expect_input_error("inspect " + write("o0.onnx", m.SerializeAsString()).string(), "opset 0");
}

// An import of a domain no node uses is accepted (ONNX Runtime's optimizer leaves
// com.microsoft.nchwc and others in the list); a node in an unknown domain is refused with one
// line naming the node, its op and the domain.
TEST_F(CliErrors, UnknownDomain) {
  onnx::ModelProto m = relu_proto();
  auto* op = m.add_opset_import();
  op->set_domain("com.example.custom");
  op->set_version(1);
  const Result unused = run("inspect " + write("u.onnx", m.SerializeAsString()).string());
  EXPECT_EQ(unused.exit_code, 0) << unused.err;
  m.mutable_graph()->mutable_node(0)->set_domain("com.example.custom");
  m.mutable_graph()->mutable_node(0)->set_name("the_relu");
  const fs::path p = write("d.onnx", m.SerializeAsString());
  expect_input_error("inspect " + p.string(),
                     "node 'the_relu' (Relu): unknown operator domain 'com.example.custom'");
}

TEST_F(CliErrors, NegativeAndOverflowingDims) {
  onnx::ModelProto m = relu_proto();
  onnx::TensorProto* w = m.mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(-3);
  expect_input_error("inspect " + write("n.onnx", m.SerializeAsString()).string(), "negative");
  w->set_dims(0, int64_t{1} << 40);
  w->add_dims(int64_t{1} << 40);
  expect_input_error("inspect " + write("v.onnx", m.SerializeAsString()).string(), "overflow");
  onnx::ModelProto m2 = relu_proto();
  m2.mutable_graph()
      ->mutable_input(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim(0)
      ->set_dim_value(-5);
  expect_input_error("inspect " + write("n2.onnx", m2.SerializeAsString()).string(), "");
}

void add_external(onnx::ModelProto& m, const std::string& location) {
  onnx::TensorProto* w = m.mutable_graph()->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(4);
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* e = w->add_external_data();
  e->set_key("location");
  e->set_value(location);
}

TEST_F(CliErrors, ExternalDataEscapingTheFolderIsRefused) {
  std::ofstream(dir_ / "outside.bin", std::ios::binary) << std::string(16, '\0');
  onnx::ModelProto m = relu_proto();
  add_external(m, "../outside.bin");
  expect_input_error("inspect " + write("x1.onnx", m.SerializeAsString()).string(), "folder");
  onnx::ModelProto m2 = relu_proto();
  add_external(m2, (dir_ / "outside.bin").string());
  expect_input_error("inspect " + write("x2.onnx", m2.SerializeAsString()).string(), "folder");
  fs::create_symlink(dir_ / "outside.bin", dir_ / "model" / "link.bin");
  onnx::ModelProto m3 = relu_proto();
  add_external(m3, "link.bin");
  expect_input_error("inspect " + write("x3.onnx", m3.SerializeAsString()).string(), "outside");
}

// `run` with inputs that do not fit the model: the relu model takes x: float[4].
TEST_F(CliErrors, RunRefusesWrongInputShapeDtypeAndMissingInput) {
  const fs::path model = write("relu.onnx", relu_proto().SerializeAsString());
  const fs::path wrong_shape = dir_ / "shape.npy", wrong_dtype = dir_ / "dtype.npy";
  save_npy(wrong_shape, Tensor(DType::kF32, {2, 3}));
  save_npy(wrong_dtype, Tensor(DType::kI64, {4}));
  expect_input_error("run " + model.string() + " --input " + wrong_shape.string(), "shape");
  expect_input_error("run " + model.string() + " --input " + wrong_dtype.string(), "dtype");
  // A two-input model given one input.
  onnx::ModelProto add = relu_proto();
  auto* g = add.mutable_graph();
  g->mutable_node(0)->set_op_type("Add");
  g->mutable_node(0)->add_input("x2");
  *g->add_input() = g->input(0);
  g->mutable_input(1)->set_name("x2");
  save_npy(dir_ / "x.npy", Tensor(DType::kF32, {4}));
  expect_input_error("run " + write("add.onnx", add.SerializeAsString()).string() + " --input " +
                         (dir_ / "x.npy").string(),
                     "missing --input for model input(s): x2");
}

// A node type no provider implements is reported at load, by op and node name.
TEST_F(CliErrors, RunRefusesAnUnsupportedOp) {
  onnx::ModelProto m = relu_proto();
  m.mutable_graph()->mutable_node(0)->set_op_type("Det");  // a standard op without a kernel
  m.mutable_graph()->mutable_node(0)->set_name("det_node");
  const fs::path model = write("det.onnx", m.SerializeAsString());
  const fs::path x = dir_ / "x.npy";
  save_npy(x, Tensor(DType::kF32, {4}));
  expect_input_error("run " + model.string() + " --input " + x.string(),
                     "Det-13 (node 'det_node')");
}

// inspect --providers: a Hardmax (no fast kernel) runs on reference and stays float when
// quantized; the summary names the provider.
TEST_F(CliErrors, InspectProvidersNamesReferenceForAnOpOnlyItHas) {
  onnx::ModelProto m = relu_proto();
  m.mutable_graph()->mutable_node(0)->set_op_type("Hardmax");
  m.mutable_graph()->mutable_node(0)->set_name("hm");
  const fs::path p = write("hardmax.onnx", m.SerializeAsString());
  const Result r = run("inspect " + p.string() + " --providers --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["nodes"].size(), 1u);
  EXPECT_EQ(j["nodes"][0]["name"], "hm");
  EXPECT_EQ(j["nodes"][0]["provider"], "reference");
  EXPECT_EQ(j["nodes"][0]["int8"], false);
  EXPECT_NE(j["nodes"][0]["quantize"].get<std::string>().find("no int8 form"), std::string::npos);
  EXPECT_EQ(j["providers"]["reference"]["nodes"], 1);
  const Result text = run("inspect " + p.string() + " --providers");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("provider reference"), std::string::npos) << text.out;
  expect_input_error("inspect " + p.string() + " --provider onednn",
                     "--provider needs --providers");
}

TEST(ExternalData, RoundTripsInsideTheFolder) {
  const fs::path dir = fs::temp_directory_path() / ("edgeopt_ext_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  Model m;
  m.opset_imports.push_back({"", 13});
  m.graph.name = "g";
  Tensor w(DType::kF32, {256, 4});
  for (int i = 0; i < 1024; ++i) w.data<float>()[i] = static_cast<float>(i) * 0.5f;
  m.graph.add_initializer("w", w);
  m.graph.inputs.push_back({"x", DType::kF32, true, {{2, ""}, {256, ""}}, "", ""});
  m.graph.outputs.push_back({"y", DType::kF32, true, {{2, ""}, {4, ""}}, "", ""});
  Node n;
  n.op_type = "MatMul";
  n.inputs = {"x", "w"};
  n.outputs = {"y"};
  m.graph.nodes.push_back(n);
  SaveOptions so;
  so.external_data = true;
  save_model(m, dir / "m.onnx", so);
  EXPECT_TRUE(fs::exists(dir / "m.onnx.data"));
  EXPECT_LT(fs::file_size(dir / "m.onnx"), 1024u);
  const Model back = load_model(dir / "m.onnx");
  const NamedTensor* t = back.graph.find_initializer("w");
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->tensor.shape(), (Shape{256, 4}));
  for (int i = 0; i < 1024; ++i)
    ASSERT_EQ(t->tensor.data<float>()[i], static_cast<float>(i) * 0.5f);
  // Saving over the input is refused.
  EXPECT_THROW(save_model(back, dir / "m.onnx", {}, dir / "m.onnx"), Error);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace edgeopt
