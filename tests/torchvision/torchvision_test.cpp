// torchvision models exported by PyTorch (scripts/make_torchvision_fixtures.py, run by the CTest
// fixture make_fixtures into <build>/fixtures): the reference provider must reproduce
// PyTorch's output, max |edgeopt - torch| <= 1e-4 * max |torch|, and a load → save round trip
// must keep the graph, the initializers (bitwise) and the metadata.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <tuple>

#include "edgeopt/fileio.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/session.h"
#include "ir/onnx_proto_utils.h"
#include "proto_diff.h"

namespace fs = std::filesystem;

namespace {

fs::path fixtures_dir() {
  if (const char* env = std::getenv("EDGEOPT_FIXTURES_DIR")) return env;
  return fs::path(EDGEOPT_BINARY_DIR) / "fixtures";
}

using Param = std::tuple<std::string, int>;  // model name, opset

class Torchvision : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    const auto& [name, opset] = GetParam();
    model_path_ = fixtures_dir() / (name + "_op" + std::to_string(opset) + ".onnx");
    input_path_ = fixtures_dir() / (name + "_input.pb");
    output_path_ = fixtures_dir() / (name + "_output.pb");
    for (const fs::path& p : {model_path_, input_path_, output_path_})
      if (!fs::exists(p))
        GTEST_SKIP() << p << " is missing: run `ctest -R make_fixtures` (or "
                     << "scripts/make_torchvision_fixtures.py " << fixtures_dir() << ")";
  }
  fs::path model_path_, input_path_, output_path_;
};

TEST_P(Torchvision, ReferenceMatchesPyTorch) {
  const edgeopt::Tensor x = edgeopt::load_tensor_pb(input_path_);
  const edgeopt::Tensor want = edgeopt::load_tensor_pb(output_path_);
  edgeopt::SessionOptions opts;
  opts.providers = {"reference"};
  edgeopt::Session session(edgeopt::load_model(model_path_), opts);
  const std::vector<edgeopt::Tensor> got = session.run(std::vector<edgeopt::Tensor>{x});
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].dtype(), edgeopt::DType::kF32);
  ASSERT_EQ(got[0].shape(), want.shape());
  double max_diff = 0, max_ref = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double a = got[0].data<float>()[i], b = want.data<float>()[i];
    ASSERT_TRUE(std::isfinite(a)) << "output " << i << " is " << a;
    max_diff = std::max(max_diff, std::fabs(a - b));
    max_ref = std::max(max_ref, std::fabs(b));
  }
  std::printf("%s: max |diff| %.3g, max |ref| %.3g, ratio %.3g\n", model_path_.filename().c_str(),
              max_diff, max_ref, max_diff / max_ref);
  EXPECT_LE(max_diff, 1e-4 * max_ref);
}

TEST_P(Torchvision, RoundTripKeepsGraphWeightsAndMetadata) {
  onnx::ModelProto original;
  ASSERT_TRUE(original.ParseFromString(edgeopt::read_file(model_path_)));
  const edgeopt::Model model = edgeopt::load_model(model_path_);
  const std::string saved = edgeopt::serialize_model(model);
  onnx::ModelProto resaved;
  ASSERT_TRUE(resaved.ParseFromString(saved));

  // Metadata.
  EXPECT_EQ(resaved.ir_version(), original.ir_version());
  EXPECT_EQ(resaved.producer_name(), original.producer_name());
  EXPECT_EQ(resaved.producer_version(), original.producer_version());
  EXPECT_EQ(resaved.doc_string(), original.doc_string());
  ASSERT_EQ(resaved.opset_import_size(), original.opset_import_size());
  for (int i = 0; i < original.opset_import_size(); ++i) {
    EXPECT_EQ(resaved.opset_import(i).domain(), original.opset_import(i).domain());
    EXPECT_EQ(resaved.opset_import(i).version(), original.opset_import(i).version());
  }
  ASSERT_EQ(resaved.metadata_props_size(), original.metadata_props_size());
  for (int i = 0; i < original.metadata_props_size(); ++i) {
    EXPECT_EQ(resaved.metadata_props(i).key(), original.metadata_props(i).key());
    EXPECT_EQ(resaved.metadata_props(i).value(), original.metadata_props(i).value());
  }

  // Initializers: same names, dtypes, shapes and bit patterns.
  const auto& gi = original.graph().initializer();
  const auto& go = resaved.graph().initializer();
  ASSERT_EQ(go.size(), gi.size());
  for (int i = 0; i < gi.size(); ++i) {
    const edgeopt::Tensor a = edgeopt::tensor_from_proto(gi[i], model_path_.parent_path());
    const edgeopt::Tensor b = edgeopt::tensor_from_proto(go[i], {});
    EXPECT_EQ(go[i].name(), gi[i].name());
    ASSERT_EQ(b.dtype(), a.dtype()) << gi[i].name();
    ASSERT_EQ(b.shape(), a.shape()) << gi[i].name();
    EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << gi[i].name() << " changed";
  }

  // Everything else (nodes, attributes, inputs, outputs, value_info), field by field.
  EXPECT_EQ(edgeopt::testing::diff_models(original, resaved, model_path_.parent_path(), {}), "");
}

INSTANTIATE_TEST_SUITE_P(Models, Torchvision,
                         ::testing::Combine(::testing::Values("resnet18", "mobilenet_v2",
                                                              "squeezenet1_1", "efficientnet_b0"),
                                            ::testing::Values(13, 17)),
                         [](const ::testing::TestParamInfo<Param>& info) {
                           return std::get<0>(info.param) + "_op" +
                                  std::to_string(std::get<1>(info.param));
                         });

}  // namespace
