// External initializers: large ones at a 64-byte aligned offset are mapped from their file (copy
// on write), the others read straight into their tensors (no second buffer). The values are the
// file's either way, a model using them runs as its inline twin does, and writing into a loaded
// weight never reaches the file.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "edgeopt/fileio.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/session.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;

constexpr int kRows = 1024, kCols = 512;  // 2 MiB of f32 each: above the mapping threshold

std::vector<float> weight_values(float scale) {
  std::vector<float> v(size_t{kRows} * kCols);
  for (size_t i = 0; i < v.size(); ++i) v[i] = scale * static_cast<float>(i % 977) - 3.0f;
  return v;
}

void add_external(onnx::GraphProto* g, const std::string& name, int64_t offset) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(kRows);
  t->add_dims(kCols);
  t->set_data_location(onnx::TensorProto::EXTERNAL);
  const std::pair<const char*, std::string> kv[] = {
      {"location", "w.bin"},
      {"offset", std::to_string(offset)},
      {"length", std::to_string(int64_t{kRows} * kCols * 4)}};
  for (const auto& [k, v] : kv) {
    auto* e = t->add_external_data();
    e->set_key(k);
    e->set_value(v);
  }
}

class ExternalWeights : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("edgeopt_external_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    // w.bin: "a" at offset 4096 (aligned: mapped), "b" at an odd offset (read).
    a_ = weight_values(0.25f);
    b_ = weight_values(-0.5f);
    const size_t bytes = a_.size() * 4;
    bin_.assign(4096, '\x7f');
    bin_.append(reinterpret_cast<const char*>(a_.data()), bytes);
    b_offset_ = static_cast<int64_t>(bin_.size()) + 3;
    bin_.append(3, '\x7f');
    bin_.append(reinterpret_cast<const char*>(b_.data()), bytes);
    write_file_atomic(dir_ / "w.bin", bin_);

    // y = x·a + x·b, x: 1 x kRows.
    onnx::ModelProto mp;
    mp.set_ir_version(8);
    mp.add_opset_import()->set_version(13);
    auto* g = mp.mutable_graph();
    g->set_name("g");
    add_external(g, "a", 4096);
    add_external(g, "b", b_offset_);
    const char* nodes[][4] = {
        {"MatMul", "x", "a", "ya"}, {"MatMul", "x", "b", "yb"}, {"Add", "ya", "yb", "y"}};
    for (const auto& n : nodes) {
      auto* np = g->add_node();
      np->set_op_type(n[0]);
      np->add_input(n[1]);
      np->add_input(n[2]);
      np->add_output(n[3]);
    }
    auto value = [](onnx::ValueInfoProto* v, const char* name, int64_t cols) {
      v->set_name(name);
      auto* tt = v->mutable_type()->mutable_tensor_type();
      tt->set_elem_type(onnx::TensorProto::FLOAT);
      tt->mutable_shape()->add_dim()->set_dim_value(1);
      tt->mutable_shape()->add_dim()->set_dim_value(cols);
    };
    value(g->add_input(), "x", kRows);
    value(g->add_output(), "y", kCols);
    write_file_atomic(dir_ / "m.onnx", mp.SerializeAsString());
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::vector<float> a_, b_;
  std::string bin_;
  int64_t b_offset_ = 0;
};

TEST_F(ExternalWeights, TensorsHoldTheFilesValuesAtAnyOffset) {
  const Model m = load_model(dir_ / "m.onnx");
  const NamedTensor* a = m.graph.find_initializer("a");
  const NamedTensor* b = m.graph.find_initializer("b");
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->tensor.shape(), (Shape{kRows, kCols}));
  EXPECT_EQ(std::memcmp(a->tensor.raw(), a_.data(), a_.size() * 4), 0);
  EXPECT_EQ(std::memcmp(b->tensor.raw(), b_.data(), b_.size() * 4), 0);
  // Kernels expect 64-byte aligned tensor data, whatever the offset in the file.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a->tensor.raw()) % 64, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b->tensor.raw()) % 64, 0u);
}

TEST_F(ExternalWeights, RunsAsItsInlineTwin) {
  Model external = load_model(dir_ / "m.onnx");
  Model inline_twin = parse_model(serialize_model(external), dir_);
  Tensor x(DType::kF32, {1, kRows});
  for (int i = 0; i < kRows; ++i) x.data<float>()[i] = static_cast<float>(i % 13) * 0.125f;
  for (const char* provider : {"reference", "onednn"}) {
    SessionOptions o;
    o.providers = {provider};
    Session s1(load_model(dir_ / "m.onnx"), o);
    Session s2(parse_model(serialize_model(external), dir_), o);
    const Tensor y1 = s1.run({x})[0], y2 = s2.run({x})[0];
    ASSERT_EQ(y1.numel(), kCols);
    EXPECT_EQ(std::memcmp(y1.raw(), y2.raw(), y1.nbytes()), 0) << provider;
  }
  // And the sum it computes, in double, independently.
  Session s(load_model(dir_ / "m.onnx"));
  const Tensor y = s.run({x})[0];
  for (int j = 0; j < kCols; j += 37) {
    double want = 0;
    for (int i = 0; i < kRows; ++i)
      want += double(x.data<float>()[i]) *
              (double(a_[size_t(i) * kCols + j]) + double(b_[size_t(i) * kCols + j]));
    EXPECT_NEAR(y.data<float>()[j], want, 1e-3 * std::max(1.0, std::abs(want))) << j;
  }
}

TEST_F(ExternalWeights, WritingALoadedWeightLeavesTheFileAsItWas) {
  {
    Model m = load_model(dir_ / "m.onnx");
    for (NamedTensor& t : m.graph.initializers) {
      float* p = t.tensor.data<float>();
      for (int64_t i = 0; i < t.tensor.numel(); i += 100) p[i] = 42.0f;
      EXPECT_EQ(p[0], 42.0f);
    }
    save_model(m, dir_ / "edited.onnx");
  }
  EXPECT_EQ(read_file(dir_ / "w.bin"), bin_);
  const Model edited = load_model(dir_ / "edited.onnx");
  EXPECT_EQ(edited.graph.find_initializer("a")->tensor.data<float>()[100], 42.0f);
  EXPECT_EQ(edited.graph.find_initializer("a")->tensor.data<float>()[101], a_[101]);
}

}  // namespace
}  // namespace edgeopt
