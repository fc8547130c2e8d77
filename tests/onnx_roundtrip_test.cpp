// Round trip of every model in Debian's libonnx-testdata (1072 models): load with edgeopt,
// serialize, and check that the re-saved model passes the ONNX checker and equals the original
// field by field once tensor storage is normalized (float_data vs raw_data compare by decoded
// value). A second load → save must then give the same bytes again.
#include <gtest/gtest.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "edgeopt/error.h"
#include "edgeopt/fileio.h"
#include "edgeopt/onnx_io.h"
#include "torchvision/proto_diff.h"

namespace fs = std::filesystem;

namespace {

const fs::path kTestData = "/usr/share/libonnx-testdata/data";

// Empty when `path` round-trips; else what went wrong.
std::string round_trip(const fs::path& path) {
  const std::string original_bytes = edgeopt::read_file(path);
  onnx::ModelProto original;
  if (!original.ParseFromString(original_bytes)) return "the test model itself does not parse";
  std::string saved;
  try {
    saved = edgeopt::serialize_model(edgeopt::load_model(path));
  } catch (const edgeopt::Error& e) {
    return std::string("load/save: ") + e.what();
  }
  onnx::ModelProto resaved;
  if (!resaved.ParseFromString(saved)) return "re-saved bytes do not parse";
  try {
    onnx::checker::check_model(resaved);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    return "re-saved model fails the ONNX checker: " + msg.substr(0, msg.find('\n'));
  }
  const std::string diff =
      edgeopt::testing::diff_models(original, resaved, path.parent_path(), path.parent_path());
  if (!diff.empty()) return "re-saved model differs:\n" + diff;
  try {
    const std::string again =
        edgeopt::serialize_model(edgeopt::parse_model(saved, path.parent_path()));
    if (again != saved) return "second load/save gives different bytes";
  } catch (const edgeopt::Error& e) {
    return std::string("re-saved model does not load: ") + e.what();
  }
  return "";
}

class OnnxRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxRoundTrip, EveryModelOfFolder) {
  const fs::path folder = kTestData / GetParam();
  if (!fs::is_directory(folder)) GTEST_SKIP() << "libonnx-testdata is not installed";
  std::vector<fs::path> models;
  for (const auto& e : fs::directory_iterator(folder))
    if (fs::exists(e.path() / "model.onnx")) models.push_back(e.path() / "model.onnx");
  std::sort(models.begin(), models.end());
  ASSERT_FALSE(models.empty());
  int passed = 0;
  for (const fs::path& m : models) {
    const std::string problem = round_trip(m);
    if (problem.empty())
      ++passed;
    else
      ADD_FAILURE() << m.parent_path().filename().string() << ": " << problem;
  }
  std::printf("round trip %s: %d of %zu models pass\n", GetParam().c_str(), passed, models.size());
  EXPECT_EQ(passed, static_cast<int>(models.size()));
}

INSTANTIATE_TEST_SUITE_P(LibOnnxTestData, OnnxRoundTrip,
                         ::testing::Values("node", "simple", "pytorch-converted",
                                           "pytorch-operator"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
