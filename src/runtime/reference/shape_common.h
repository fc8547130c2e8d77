// Helpers shared by the reference shape, data-movement and reduction kernels: element copies
// that work for every dtype (strings included) and reading small integer lists from inputs.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "common.h"
#include "runtime/ops/strided_copy.h"

namespace edgeopt::rt::ref {

// Copies elements from `src` to `dst` (same dtype) by index. Movement ops never look at the
// values, so a byte copy of dtype_size bytes serves every numeric dtype; strings are copied
// through the tensors' string vectors.
class ElementCopier {
 public:
  ElementCopier(const Tensor& src, Tensor& dst)
      : es_(dtype_size(src.dtype())),
        src_(static_cast<const uint8_t*>(src.raw())),
        dst_(static_cast<uint8_t*>(dst.raw())) {
    if (src.dtype() == DType::kString) {
      src_str_ = src.strings().data();
      dst_str_ = dst.strings().data();
    }
  }
  // dst[d] = src[s]
  void operator()(int64_t d, int64_t s) const { copy(d, s, 1); }
  // dst[d .. d+n) = src[s .. s+n)
  void copy(int64_t d, int64_t s, int64_t n) const {
    if (n <= 0) return;
    if (dst_str_) {
      for (int64_t i = 0; i < n; ++i) dst_str_[d + i] = src_str_[s + i];
    } else {
      std::memcpy(dst_ + d * es_, src_ + s * es_, static_cast<size_t>(n) * es_);
    }
  }
  // dst[d] = the single element `value` points at (a dtype_size buffer, or a std::string).
  void fill(int64_t d, const void* value) const {
    if (dst_str_)
      dst_str_[d] = *static_cast<const std::string*>(value);
    else
      std::memcpy(dst_ + d * es_, value, es_);
  }

 private:
  size_t es_;
  const uint8_t* src_;
  uint8_t* dst_;
  const std::string* src_str_ = nullptr;
  std::string* dst_str_ = nullptr;
};

// dst = src, element for element (same dtype and element count).
inline void copy_all(const Tensor& src, Tensor& dst) {
  ElementCopier(src, dst).copy(0, 0, src.numel());
}

// Values of integer input i (axes, shape, repeats, ...); throws NeedValue while planning when
// the value is not known yet.
inline std::vector<int64_t> input_ints(const InferContext& ctx, size_t i) {
  return ctx.value(i).to_i64_vector();
}

// Element i of index tensor idx as a position along an axis of size dim (negative values count
// from the end); throws Error naming the node when it falls outside the axis. Indices are data,
// so kernels check them while they run.
inline int64_t index_along(const Tensor& idx, int64_t i, int64_t dim, const Node& node) {
  int64_t k = idx.get_i64(i);
  if (k < 0) k += dim;
  if (k < 0 || k >= dim)
    fail_input("node ", node.describe(), ": index ", idx.get_i64(i),
               " is out of range for axis of size ", dim);
  return k;
}

// GatherElements and ScatterElements: indices of data's rank, no larger than data outside `axis`.
inline bool indices_fit_elements(const Shape& data, const Shape& idx, int64_t axis) {
  bool ok = idx.size() == data.size();
  for (size_t d = 0; ok && d < data.size(); ++d)
    ok = static_cast<int64_t>(d) == axis || idx[d] <= data[d];
  return ok;
}

// Calls f(out_index, in_offset) for every element of an output of shape `out`, where the input
// offset advances by in_strides[d] along dimension d (a strided view of the input).
template <class F>
void for_each_strided(const Shape& out, const std::vector<int64_t>& in_strides, int64_t base,
                      F&& f) {
  for_each_broadcast(out, {in_strides},
                     [&](int64_t i, const std::vector<int64_t>& off) { f(i, base + off[0]); });
}

// GatherElements and ScatterElements: f(i, offset) for every element i of idx, offset the
// element of data (shape `data`) it addresses: i's coordinates with the one along `axis`
// replaced by idx[i] (checked by index_along).
template <class F>
void for_each_element_index(const Tensor& idx, const Shape& data, int64_t axis, const Node& node,
                            F&& f) {
  std::vector<int64_t> st = strides_of(data);
  const int64_t axis_stride = st[axis];
  st[axis] = 0;  // the axis coordinate comes from indices instead
  for_each_strided(idx.shape(), st, 0, [&](int64_t i, int64_t base) {
    f(i, base + index_along(idx, i, data[axis], node) * axis_stride);
  });
}

// y = the strided view of x (element i of y is x[base + sum_d i_d * in_strides[d]]): the data
// movement of Transpose, Slice, Expand and Tile. Fixed-size dtypes go through ops::strided_copy
// (memcpy runs, tiled transposes), strings element by element.
// `view`: the shape y is walked in (row-major, as many elements as y), y's own by default.
inline void copy_view(const Tensor& x, int64_t base, const std::vector<int64_t>& in_strides,
                      const Shape& view, Tensor& y) {
  if (x.dtype() != DType::kString) {
    ops::strided_copy(x.raw(), base, in_strides, view, dtype_size(x.dtype()), y.raw());
    return;
  }
  ElementCopier cp(x, y);
  for_each_strided(view, in_strides, base, cp);
}
inline void copy_view(const Tensor& x, int64_t base, const std::vector<int64_t>& in_strides,
                      Tensor& y) {
  copy_view(x, base, in_strides, y.shape(), y);
}

}  // namespace edgeopt::rt::ref
