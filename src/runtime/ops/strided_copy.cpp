#include "strided_copy.h"

#include <algorithm>
#include <cstring>

namespace edgeopt::rt::ops {
namespace {

// One element of `E` bytes, copied as a value the compiler moves in registers.
template <size_t E>
struct Elem {
  unsigned char b[E];
};

// A plane of the view: out[r * ro + c] = src[r + c * cs] for r < rows, c < cols, where the
// source is contiguous along r (a transpose), in 8x8 tiles: whole cache lines read and written.
template <class T>
void copy_plane(const T* src, int64_t cs, int64_t rows, int64_t cols, int64_t ro, T* out) {
  constexpr int64_t kTile = 8;
  for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
    const int64_t r1 = std::min(rows, r0 + kTile);
    for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
      const int64_t c1 = std::min(cols, c0 + kTile);
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = c0; c < c1; ++c) out[r * ro + c] = src[r + c * cs];
    }
  }
}

template <class T>
void copy_typed(const T* src, const std::vector<int64_t>& st, const std::vector<int64_t>& dims,
                T* dst) {
  const size_t r = dims.size();
  std::vector<int64_t> dense(r, 1);  // the output's strides
  for (size_t k = r - 1; k-- > 0;) dense[k] = dense[k + 1] * dims[k + 1];
  const int64_t cols = dims[r - 1], cs = st[r - 1];
  // With the last axis contiguous in the source, each outer index is one memcpy. Otherwise an
  // axis that steps the source by one (a transpose) makes a plane with it, copied in tiles.
  size_t row_axis = r;  // none
  if (cs != 1)
    for (size_t k = 0; k + 1 < r; ++k)
      if (st[k] == 1) row_axis = k;
  std::vector<int64_t> outer_dims, outer_st, outer_out;
  int64_t total = 1;
  for (size_t k = 0; k + 1 < r; ++k) {
    if (k == row_axis) continue;
    outer_dims.push_back(dims[k]);
    outer_st.push_back(st[k]);
    outer_out.push_back(dense[k]);
    total *= dims[k];
  }
  const size_t n = outer_dims.size();
  std::vector<int64_t> idx(n, 0);
  int64_t s = 0, d = 0;
  for (int64_t it = 0; it < total; ++it) {
    if (row_axis < r)
      copy_plane(src + s, cs, dims[row_axis], cols, dense[row_axis], dst + d);
    else if (cs == 1)
      std::memcpy(dst + d, src + s, static_cast<size_t>(cols) * sizeof(T));
    else
      for (int64_t c = 0; c < cols; ++c) dst[d + c] = src[s + c * cs];
    for (size_t k = n; k-- > 0;) {  // next outer index, last axis fastest
      s += outer_st[k];
      d += outer_out[k];
      if (++idx[k] < outer_dims[k]) break;
      s -= outer_st[k] * outer_dims[k];
      d -= outer_out[k] * outer_dims[k];
      idx[k] = 0;
    }
  }
}

}  // namespace

void strided_copy(const void* src, int64_t base, const std::vector<int64_t>& strides,
                  const std::vector<int64_t>& out, size_t elem_bytes, void* dst) {
  // Simplify: drop axes of size 1, merge an axis into the next when it steps the source by the
  // next one's whole extent.
  std::vector<int64_t> dims, st;
  for (size_t k = 0; k < out.size(); ++k) {
    if (out[k] == 0) return;
    if (out[k] == 1) continue;
    if (!dims.empty() && st.back() == strides[k] * out[k]) {
      dims.back() *= out[k];
      st.back() = strides[k];
    } else {
      dims.push_back(out[k]);
      st.push_back(strides[k]);
    }
  }
  if (dims.empty()) {
    dims.push_back(1);
    st.push_back(1);
  }
  const auto* s = static_cast<const unsigned char*>(src) + base * static_cast<int64_t>(elem_bytes);
  switch (elem_bytes) {
#define EDGEOPT_STRIDED_CASE(E) \
  case E:                       \
    return copy_typed(reinterpret_cast<const Elem<E>*>(s), st, dims, static_cast<Elem<E>*>(dst));
    EDGEOPT_STRIDED_CASE(1)
    EDGEOPT_STRIDED_CASE(2)
    EDGEOPT_STRIDED_CASE(4)
    EDGEOPT_STRIDED_CASE(8)
    EDGEOPT_STRIDED_CASE(16)
#undef EDGEOPT_STRIDED_CASE
    default:
      break;
  }
  // Any other size: bytes, with one more axis for the bytes of an element.
  std::vector<int64_t> bst = st, bdims = dims;
  for (int64_t& v : bst) v *= static_cast<int64_t>(elem_bytes);
  bdims.push_back(static_cast<int64_t>(elem_bytes));
  bst.push_back(1);
  copy_typed(s, bst, bdims, static_cast<unsigned char*>(dst));
}

}  // namespace edgeopt::rt::ops
