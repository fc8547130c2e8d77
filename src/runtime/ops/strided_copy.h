// Copying a strided view of a tensor into a dense one: the data movement of Transpose, Slice
// and their kin, shared by every provider's kernels. out[i] = src[base + sum_k i_k * strides[k]]
// for every index i of the dense output of shape `out` (row-major), elements of `elem_bytes`
// bytes (any fixed-size dtype; strings are the caller's business).
//
// The loop nest is first simplified (axes of size 1 dropped, neighbours that step the source
// contiguously merged: a channel shuffle [N, 2, C/2, H, W] -> [N, C/2, 2, H, W] becomes runs of
// H*W elements); then contiguous runs go by memcpy, a moved inner axis by 8x8 tiles (a 2-D
// transpose that reads and writes whole cache lines), and anything else element by element.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace edgeopt::rt::ops {

void strided_copy(const void* src, int64_t base, const std::vector<int64_t>& strides,
                  const std::vector<int64_t>& out, size_t elem_bytes, void* dst);

}  // namespace edgeopt::rt::ops
