// ResNet-18 as torch.onnx.export writes it by default (a fixed batch of 1) calibrates on 8
// samples to the same scales as the dynamic-batch export on the same 8 samples.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "edgeopt/data.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/quantize.h"
#include "testing/scratch.h"

namespace {

namespace fs = std::filesystem;
using namespace edgeopt;
using edgeopt::test::quantize_scales;

fs::path fixtures_dir() { return fs::path(EDGEOPT_BINARY_DIR) / "fixtures"; }

TEST(FixedBatchCalibration, Resnet18BatchOneMatchesTheDynamicExport) {
  const Model fixed = load_model(fixtures_dir() / "resnet18_b1_op13.onnx");
  const Model dynamic = load_model(fixtures_dir() / "resnet18_op13.onnx");
  ASSERT_TRUE(fixed.graph.inputs.at(0).dims.at(0).is_static());
  ASSERT_EQ(fixed.graph.inputs[0].dims[0].value, 1);
  ASSERT_FALSE(dynamic.graph.inputs.at(0).dims.at(0).is_static());
  auto calib = open_dataset((fixtures_dir() / "resnet18_calib.npz").string());
  QuantizeOptions o;
  o.samples = 8;
  o.batch = 8;
  QuantizeReport rf, rd;
  const auto got = quantize_scales(quantize_model(fixed, o, calib.get(), nullptr, &rf));
  const auto want = quantize_scales(quantize_model(dynamic, o, calib.get(), nullptr, &rd));
  EXPECT_EQ(rf.calib_samples, 8);
  ASSERT_GT(want.size(), 20u);
  EXPECT_EQ(got, want);
}

}  // namespace
