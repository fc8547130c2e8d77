#include "common.h"

namespace edgeopt::rt::ref {

Shape broadcast_shapes(const std::vector<Shape>& shapes, const Node& node) {
  size_t rank = 0;
  for (const Shape& s : shapes) rank = std::max(rank, s.size());
  Shape out(rank, 1);
  for (const Shape& s : shapes) {
    const size_t off = rank - s.size();
    for (size_t d = 0; d < s.size(); ++d) {
      int64_t& o = out[off + d];
      if (s[d] == o || s[d] == 1) continue;
      if (o == 1) {
        o = s[d];
        continue;
      }
      std::string all;
      for (const Shape& x : shapes) all += (all.empty() ? "" : ", ") + shape_str(x);
      fail_input("node ", node.describe(), ": shapes ", all, " do not broadcast");
    }
  }
  return out;
}

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int d = static_cast<int>(s.size()) - 2; d >= 0; --d) st[d] = st[d + 1] * s[d + 1];
  return st;
}

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> st(out.size(), 0);
  const std::vector<int64_t> own = strides_of(in);
  const size_t off = out.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d) st[off + d] = in[d] == 1 ? 0 : own[d];
  return st;
}

int64_t normalize_axis(int64_t axis, int64_t rank, const Node& node) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
    fail_input("node ", node.describe(), ": axis ", axis, " is out of range for rank ", rank);
  return axis < 0 ? axis + rank : axis;
}

void unsupported_dtype(const Node& node, DType t) {
  fail_unsupported("node ", node.describe(), ": dtype ", dtype_name(t), " is not supported");
}

void check_float_nc_input(const Node& node, const Tensor& x) {
  if (x.dtype() != DType::kF32 && x.dtype() != DType::kF64) unsupported_dtype(node, x.dtype());
  if (x.rank() < 2)
    fail_input("node ", node.describe(), ": input '", node.input(0), "' must be N x C x ..., got ",
               shape_str(x.shape()));
}

}  // namespace edgeopt::rt::ref
