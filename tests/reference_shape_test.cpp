// The reference provider's shape and data-movement kernels across cached plans. Their ONNX
// backend node tests are run by tools/conformance (ctest onnx_conformance*).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "edgeopt/session.h"
#include "runtime/ops/strided_copy.h"

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

namespace edgeopt {
namespace {

// runtime/ops/strided_copy (Transpose, Slice, Expand) against a per-element walk of the same
// view, on random views: every permutation of rank-2..5 shapes, slices with steps of both
// signs, broadcast (stride 0) axes, element sizes 1, 2, 4, 8 and 3 (the byte fallback).
TEST(StridedCopy, MatchesElementwiseWalk) {
  std::mt19937 rng(7);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  int planes = 0, runs = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const size_t rank = static_cast<size_t>(pick(1, 5));
    const size_t elem = std::vector<size_t>{1, 2, 4, 8, 3}[trial % 5];
    std::vector<int64_t> in(rank), out(rank), st(rank);
    for (int64_t& d : in) d = pick(1, trial % 7 == 0 ? 20 : 6);
    // Source strides of a dense input, then a permutation, a slice and maybe a broadcast.
    std::vector<int64_t> dense(rank, 1);
    for (size_t k = rank - 1; k-- > 0;) dense[k] = dense[k + 1] * in[k + 1];
    std::vector<size_t> perm(rank);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    int64_t base = 0;
    for (size_t k = 0; k < rank; ++k) {
      const int64_t dim = in[perm[k]];
      const int kind = static_cast<int>(pick(0, 5));
      if (kind == 0 && dim > 1) {  // step 2 from 1
        out[k] = (dim - 1 + 1) / 2;
        st[k] = 2 * dense[perm[k]];
        base += dense[perm[k]];
      } else if (kind == 1) {  // reversed
        out[k] = dim;
        st[k] = -dense[perm[k]];
        base += (dim - 1) * dense[perm[k]];
      } else if (kind == 2 && dim == 1) {  // broadcast
        out[k] = pick(1, 5);
        st[k] = 0;
      } else {
        out[k] = dim;
        st[k] = dense[perm[k]];
      }
    }
    const int64_t n_in = dense[0] * in[0];
    std::vector<unsigned char> src(static_cast<size_t>(n_in) * elem);
    for (unsigned char& b : src) b = static_cast<unsigned char>(pick(0, 255));
    int64_t n_out = 1;
    for (int64_t d : out) n_out *= d;
    std::vector<unsigned char> got(static_cast<size_t>(n_out) * elem, 0),
        want(static_cast<size_t>(n_out) * elem, 1);
    std::vector<int64_t> idx(rank, 0);
    for (int64_t i = 0; i < n_out; ++i) {
      int64_t s = base;
      for (size_t k = 0; k < rank; ++k) s += idx[k] * st[k];
      std::memcpy(&want[i * elem], &src[s * elem], elem);
      for (size_t k = rank; k-- > 0;)
        if (++idx[k] < out[k])
          break;
        else
          idx[k] = 0;
    }
    rt::ops::strided_copy(src.data(), base, st, out, elem, got.data());
    EXPECT_EQ(got, want) << "trial " << trial;
    planes += st.back() != 1 && std::count(st.begin(), st.end(), 1) > 0;
    runs += st.back() == 1;
  }
  EXPECT_GT(planes, 50);  // the tiled transpose and the memcpy runs were both exercised
  EXPECT_GT(runs, 50);
}

}  // namespace
}  // namespace edgeopt
