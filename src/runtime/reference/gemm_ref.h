// Plain matrix multiply shared by the reference Conv, ConvTranspose, Gemm and MatMul kernels.
//
// Matrices are described by a pointer and two strides so that transposed operands need no
// copy: element (r, c) of A is A[r * a_rs + c * a_cs]. The loops are blocked for the cache but
// otherwise obvious; sums are accumulated in T (float for f32 models, as every runtime does).
#pragma once

#include <cstdint>

#include "common.h"

namespace edgeopt::rt::ref {

// C[i, j] += alpha * sum_k A[i, k] * B[k, j] for an M x N block of C with row stride ldc
// (column stride 1). Defined for float, double, int32_t, int64_t, uint32_t and uint64_t.
template <class T>
void gemm_accumulate(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t a_rs,
                     int64_t a_cs, const T* B, int64_t b_rs, int64_t b_cs, T* C, int64_t ldc);

// Throws unless A and B (inputs 0 and 1) are of one dtype gemm_accumulate is defined for.
void check_gemm_operands(const Node& node, const Tensor& a, const Tensor& b);

}  // namespace edgeopt::rt::ref

// Dispatches on the dtypes gemm_accumulate is defined for: inside BODY, `T` is the element type.
#define EDGEOPT_DISPATCH_GEMM(dtype, node, BODY)          \
  switch (dtype) {                                        \
    EDGEOPT_DTYPE_CASE(kF32, T, float, BODY)              \
    EDGEOPT_DTYPE_CASE(kF64, T, double, BODY)             \
    EDGEOPT_DTYPE_CASE(kI32, T, int32_t, BODY)            \
    EDGEOPT_DTYPE_CASE(kI64, T, int64_t, BODY)            \
    EDGEOPT_DTYPE_CASE(kU32, T, uint32_t, BODY)           \
    EDGEOPT_DTYPE_CASE(kU64, T, uint64_t, BODY)           \
    default:                                              \
      ::edgeopt::rt::ref::unsupported_dtype(node, dtype); \
  }

inline bool gemm_dtype_supported(::edgeopt::DType t) {
  using ::edgeopt::DType;
  return t == DType::kF32 || t == DType::kF64 || t == DType::kI32 || t == DType::kI64 ||
         t == DType::kU32 || t == DType::kU64;
}
