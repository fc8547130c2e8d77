// The reference provider's shape and data-movement kernels across cached plans. Their ONNX
// backend node tests are run by tools/conformance (ctest onnx_conformance*).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "edgeopt/session.h"

namespace edgeopt {
namespace {

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
