// ONNX backend node tests for the reference provider's shape, data-movement and reduction
// kernels: each test case loads test_<op>*/model.onnx, runs it with the reference provider on
// test_data_set_0/input_*.pb and compares with output_*.pb (rtol 1e-3, atol 1e-5 for floats,
// exact for everything else).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "edgeopt/error.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/session.h"
#include "ir/onnx_proto_utils.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;

const fs::path kNodeTests = "/usr/share/libonnx-testdata/data/node";

// Name prefixes (after "test_") of the node tests of this group of kernels.
const char* const kPrefixes[] = {
    "argmax",           "argmin",       "compress", "concat",      "constant",
    "cumsum",           "depthtospace", "dropout",  "edge_pad",    "expand",
    "eyelike",          "flatten",      "gather",   "identity",    "nonzero",
    "onehot",           "range",        "reduce_",  "reflect_pad", "reshape",
    "resize",           "scatter",      "shape",    "size",        "slice",
    "spacetodepth",     "split",        "squeeze",  "tile",        "top_k",
    "training_dropout", "transpose",    "tril",     "triu",        "unsqueeze",
    "upsample",
};

// Tests that cannot pass here, with the reason.
struct Skip {
  const char* name;
  const char* reason;
};
const Skip kSkips[] = {
    {"test_identity_sequence", "sequence values are not supported by the runtime"},
    {"test_identity_opt", "optional values are not supported by the runtime"},
    {"test_training_dropout", "training-mode Dropout is random"},
    {"test_training_dropout_default", "training-mode Dropout is random"},
    {"test_training_dropout_default_mask", "training-mode Dropout is random"},
    {"test_training_dropout_mask", "training-mode Dropout is random"},
};

std::vector<std::string> node_test_names() {
  std::vector<std::string> names;
  if (!fs::is_directory(kNodeTests)) return names;
  for (const auto& e : fs::directory_iterator(kNodeTests)) {
    const std::string n = e.path().filename().string();
    for (const char* p : kPrefixes)
      if (n.rfind(std::string("test_") + p, 0) == 0) {
        names.push_back(n);
        break;
      }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<Tensor> load_pbs(const fs::path& dir, const std::string& prefix) {
  std::vector<Tensor> v;
  for (int i = 0;; ++i) {
    const fs::path p = dir / (prefix + std::to_string(i) + ".pb");
    if (!fs::exists(p)) break;
    v.push_back(load_tensor_pb(p));
  }
  return v;
}

void expect_close(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  ASSERT_EQ(got.shape(), want.shape())
      << what << ": got " << shape_str(got.shape()) << ", want " << shape_str(want.shape());
  if (want.dtype() == DType::kString) {
    EXPECT_EQ(got.strings(), want.strings()) << what;
    return;
  }
  int bad = 0;
  for (int64_t i = 0; i < want.numel() && bad < 5; ++i) {
    const double g = got.get_f64(i), w = want.get_f64(i);
    bool ok;
    if (dtype_is_float(want.dtype()))
      ok = (std::isnan(g) && std::isnan(w)) || g == w ||
           std::fabs(g - w) <= 1e-5 + 1e-3 * std::fabs(w);
    else
      ok = got.get_i64(i) == want.get_i64(i);
    if (!ok) {
      ++bad;
      ADD_FAILURE() << what << "[" << i << "]: got " << g << ", want " << w;
    }
  }
}

class ReferenceShapeNodeTest : public testing::TestWithParam<std::string> {};

TEST_P(ReferenceShapeNodeTest, MatchesOnnxOutputs) {
  const std::string name = GetParam();
  for (const Skip& s : kSkips)
    if (name == s.name) GTEST_SKIP() << s.reason;
  const fs::path dir = kNodeTests / name;
  Model model = load_model(dir / "model.onnx");
  // *_expanded tests run the op's function body, which uses ops outside this group (Loop).
  if (name.size() > 9 && name.ends_with("_expanded")) {
    try {
      Session probe(model, SessionOptions{.providers = {"reference"}});
    } catch (const Error& e) {
      GTEST_SKIP() << "function body needs other ops: " << e.what();
    }
  }
  Session session(std::move(model), SessionOptions{.providers = {"reference"}});
  const fs::path data = dir / "test_data_set_0";
  const std::vector<Tensor> inputs = load_pbs(data, "input_");
  const std::vector<Tensor> want = load_pbs(data, "output_");
  // Run twice: the second run reuses the cached plan and arena.
  for (int run = 0; run < 2; ++run) {
    const std::vector<Tensor> got = session.run(inputs);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i)
      expect_close(got[i], want[i], name + " output " + std::to_string(i));
  }
}

INSTANTIATE_TEST_SUITE_P(Onnx, ReferenceShapeNodeTest, testing::ValuesIn(node_test_names()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ReferenceShapeNodeTest);

// A one-node model whose input has no fixed shape, so every run may plan a new shape.
Model one_node_model(Node node, int64_t opset, int num_outputs) {
  Model m;
  m.opset_imports = {{"", opset}};
  node.inputs = {"x"};
  ValueInfo x;
  x.name = "x";
  x.dtype = DType::kF32;
  m.graph.inputs.push_back(x);
  for (int i = 0; i < num_outputs; ++i) {
    node.outputs.push_back("y" + std::to_string(i));
    ValueInfo y;
    y.name = node.outputs.back();
    y.dtype = DType::kF32;
    m.graph.outputs.push_back(y);
  }
  m.graph.nodes.push_back(std::move(node));
  return m;
}

// Kernels are shared by every cached plan, so run() must not rely on what the latest infer()
// saw: alternate two input shapes through one session.
TEST(ReferenceShapeKernels, SplitAndSliceFollowEachPlansShape) {
  Node split;
  split.op_type = "Split";
  Session s_split(one_node_model(split, 11, 2), SessionOptions{.providers = {"reference"}});
  Node slice;
  slice.op_type = "Slice";
  slice.set_attr_ints("starts", {-2});
  slice.set_attr_ints("ends", {1000});
  Session s_slice(one_node_model(slice, 9, 1), SessionOptions{.providers = {"reference"}});
  const Tensor a = Tensor::from_vector<float>({1, 2, 3, 4}, {4});
  const Tensor b = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {6});
  for (int round = 0; round < 2; ++round) {
    std::vector<Tensor> y = s_split.run(std::vector<Tensor>{a});
    EXPECT_EQ(y[1].to_f32_vector(), (std::vector<float>{3, 4}));
    y = s_split.run(std::vector<Tensor>{b});
    EXPECT_EQ(y[1].to_f32_vector(), (std::vector<float>{4, 5, 6}));
    y = s_slice.run(std::vector<Tensor>{a});
    EXPECT_EQ(y[0].to_f32_vector(), (std::vector<float>{3, 4}));
    y = s_slice.run(std::vector<Tensor>{b});
    EXPECT_EQ(y[0].to_f32_vector(), (std::vector<float>{5, 6}));
  }
}

}  // namespace
}  // namespace edgeopt
