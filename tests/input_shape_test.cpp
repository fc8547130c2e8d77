// --shape: a model with symbolic H×W gets the figures of the same model with those dims fixed;
// without --shape, inspect and bench name the symbolic dim instead of making a size up.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_run.h"
#include "edgeopt/error.h"
#include "edgeopt/input_shapes.h"
#include "edgeopt/onnx_io.h"
#include "testing/scratch.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;
using edgeopt::testing::run_edgeopt;

fs::path resnet8() { return fs::path(EDGEOPT_SOURCE_DIR) / "models" / "fashion_resnet8.onnx"; }

class InputShapeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::test_scratch_dir("edgeopt_shape");
    // fashion_resnet8 (N×1×28×28, convs then a global average pool) with H and W symbolic.
    Model m = load_model(resnet8());
    ASSERT_EQ(m.graph.inputs.at(0).name, "input");
    m.graph.inputs[0].dims[2] = Dim{-1, "height"};
    m.graph.inputs[0].dims[3] = Dim{-1, "width"};
    hw_ = (dir_ / "hw.onnx").string();
    save_model(m, hw_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  nlohmann::json inspect_json(const std::string& args) {
    const auto r = run_edgeopt("inspect " + args + " --json", dir_);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.err;
    return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
  }

  fs::path dir_;
  std::string hw_;
};

TEST_F(InputShapeCli, InspectWithShapeGivesTheFixedModelsMacs) {
  const nlohmann::json fixed = inspect_json(resnet8().string());
  ASSERT_GT(fixed["macs"].get<int64_t>(), 1000000);
  EXPECT_EQ(fixed["symbolic_batch"], nlohmann::json({"input"}));
  for (const char* shape : {"input:1x1x28x28", "1x1x28x28"}) {
    const nlohmann::json j = inspect_json(hw_ + " --shape " + shape);
    EXPECT_EQ(j["macs"], fixed["macs"]) << shape;
    EXPECT_EQ(j["peak_activation_bytes"], fixed["peak_activation_bytes"]) << shape;
  }
  // Twice the side, four times the conv MACs (the final Gemm's stay).
  const nlohmann::json big = inspect_json(hw_ + " --shape input:1x1x56x56");
  EXPECT_GT(big["macs"].get<int64_t>(), 3 * fixed["macs"].get<int64_t>());
  // The text output says the batch was a default.
  const auto r = run_edgeopt("inspect " + resnet8().string(), dir_);
  EXPECT_NE(r.out.find("batch            1 for the symbolic dim 0 of 'input'"), std::string::npos)
      << r.out;
}

TEST_F(InputShapeCli, SymbolicSpatialDimsAreNamedNotGuessed) {
  for (const char* cmd : {"inspect ", "bench --runs 1 --warmup 0 "}) {
    const auto r = run_edgeopt(cmd + hw_, dir_);
    EXPECT_TRUE(r.one_line_input_error()) << cmd << r.exit_code << " " << r.err;
    EXPECT_NE(r.err.find("input 'input' dim 2 'height' is symbolic: give --shape "
                         "input:1x1xHxW"),
              std::string::npos)
        << r.err;
  }
}

TEST_F(InputShapeCli, BenchRunsWithShape) {
  const auto r =
      run_edgeopt("bench " + hw_ + " --shape input:2x1x32x32 --runs 2 --warmup 0 --json", dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["batch"], 2);
  EXPECT_EQ(j["runs"], 2);
  EXPECT_GT(j["p50_ms"].get<double>(), 0.0);
}

// inspect's arena is the runtime's memory plan (Session::plan), the figure bench reports after
// running: the same planner, so the same bytes for the same shapes, providers and threads.
TEST_F(InputShapeCli, InspectAndBenchReportTheSameArena) {
  for (const std::string& args :
       {resnet8().string(), resnet8().string() + " --batch 4", hw_ + " --shape input:2x1x40x40"}) {
    const nlohmann::json i = inspect_json(args);
    const auto r = run_edgeopt("bench " + args + " --runs 1 --warmup 0 --json", dir_);
    ASSERT_EQ(r.exit_code, 0) << args << "\n" << r.err;
    const nlohmann::json b = nlohmann::json::parse(r.out);
    ASSERT_TRUE(i["arena_bytes"].is_number()) << args << ": " << i.dump();
    EXPECT_GT(i["arena_bytes"].get<int64_t>(), 0) << args;
    EXPECT_EQ(i["arena_bytes"], b["arena_bytes"]) << args;
  }
  // Four images need more activations than one.
  EXPECT_GT(inspect_json(resnet8().string() + " --batch 4")["arena_bytes"].get<int64_t>(),
            inspect_json(resnet8().string())["arena_bytes"].get<int64_t>());
}

TEST_F(InputShapeCli, QuantizeAndPruneTakeShape) {
  const fs::path q = dir_ / "q.onnx", p = dir_ / "p.onnx";
  auto r = run_edgeopt("quantize " + hw_ + " --shape input:1x1x28x28 --calib fashion-mnist:test" +
                           " --samples 8 -o " + q.string(),
                       dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(load_model(q).graph.inputs.at(0).dims[2].value, 28);
  r = run_edgeopt("prune " + hw_ + " --shape input:1x1x28x28 --sparsity 0.5 -o " + p.string(),
                  dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_edgeopt("prune " + hw_ + " --sparsity 0.5 -o " + p.string() + "2", dir_);
  EXPECT_TRUE(r.one_line_input_error()) << r.err;
}

TEST_F(InputShapeCli, MalformedShapeIsOneLine) {
  struct Case {
    const char* shape;
    const char* needle;
  } cases[] = {
      {"input:1x0x28x28", "'0' is not a positive dim"},
      {"input:", "'' is not a positive dim"},
      {"input:1xax28", "'a' is not a positive dim"},
      {":1x1x28x28", "empty input name"},
      {"image:1x1x28x28", "no input 'image' (inputs: input)"},
      {"input:1x1x28", "has rank 4"},
      {"input:1x3x28x28", "dim 1 is 1 in the model"},
  };
  for (const Case& c : cases) {
    const auto r = run_edgeopt("inspect " + hw_ + " --shape " + c.shape, dir_);
    EXPECT_TRUE(r.one_line_input_error()) << c.shape << ": " << r.exit_code << " " << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << c.shape << ": " << r.err;
  }
}

TEST(InputShapes, ParseAndSet) {
  EXPECT_EQ(parse_input_shape("images:1x3x640x640").name, "images");
  EXPECT_EQ(parse_input_shape("images:1x3x640x640").dims, (Shape{1, 3, 640, 640}));
  EXPECT_EQ(parse_input_shape("8").dims, (Shape{8}));
  EXPECT_TRUE(parse_input_shape("1x3").name.empty());
  EXPECT_THROW(parse_input_shape("1x-3"), Error);
  Model m = load_model(resnet8());
  set_input_shapes(m, {{"input", {4, 1, 28, 28}}});
  EXPECT_EQ(m.graph.inputs[0].dims[0].value, 4);
  EXPECT_NO_THROW(require_static_dims(m));
}

}  // namespace
}  // namespace edgeopt
