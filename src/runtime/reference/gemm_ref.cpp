#include "gemm_ref.h"

#include <algorithm>

namespace edgeopt::rt::ref {
namespace {

// Block sizes: a KB x NB panel of B (256 KB in f32) stays in L2 while four rows of C
// (4 x NB) stay in L1 across the k loop.
constexpr int64_t kNB = 256;
constexpr int64_t kKB = 256;

// B has unit column stride: i-k-j order, four rows of C at a time, so each B row loaded from
// cache feeds four multiply-adds and the j loop vectorises.
template <class T>
void gemm_rows(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t a_rs, int64_t a_cs,
               const T* B, int64_t b_rs, T* C, int64_t ldc) {
  for (int64_t j0 = 0; j0 < N; j0 += kNB) {
    const int64_t nb = std::min(kNB, N - j0);
    for (int64_t k0 = 0; k0 < K; k0 += kKB) {
      const int64_t k1 = std::min(K, k0 + kKB);
      int64_t i = 0;
      for (; i + 4 <= M; i += 4) {
        T* __restrict c0 = C + i * ldc + j0;
        T* __restrict c1 = c0 + ldc;
        T* __restrict c2 = c1 + ldc;
        T* __restrict c3 = c2 + ldc;
        const T* a = A + i * a_rs;
        for (int64_t k = k0; k < k1; ++k) {
          const T a0 = alpha * a[k * a_cs];
          const T a1 = alpha * a[a_rs + k * a_cs];
          const T a2 = alpha * a[2 * a_rs + k * a_cs];
          const T a3 = alpha * a[3 * a_rs + k * a_cs];
          const T* __restrict b = B + k * b_rs + j0;
          for (int64_t j = 0; j < nb; ++j) {
            const T bj = b[j];
            c0[j] += a0 * bj;
            c1[j] += a1 * bj;
            c2[j] += a2 * bj;
            c3[j] += a3 * bj;
          }
        }
      }
      for (; i < M; ++i) {
        T* __restrict c = C + i * ldc + j0;
        for (int64_t k = k0; k < k1; ++k) {
          const T a = alpha * A[i * a_rs + k * a_cs];
          const T* __restrict b = B + k * b_rs + j0;
          for (int64_t j = 0; j < nb; ++j) c[j] += a * b[j];
        }
      }
    }
  }
}

// A rows and B columns both contiguous (B transposed): each C element is a dot product, summed
// in eight lanes so the compiler can vectorise without reassociating one running sum.
template <class T>
void gemm_dots(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t a_rs, const T* B,
               int64_t b_cs, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    const T* a = A + i * a_rs;
    for (int64_t j = 0; j < N; ++j) {
      const T* b = B + j * b_cs;
      T lane[8] = {};
      int64_t k = 0;
      for (; k + 8 <= K; k += 8)
        for (int l = 0; l < 8; ++l) lane[l] += a[k + l] * b[k + l];
      T sum =
          ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
      for (; k < K; ++k) sum += a[k] * b[k];
      C[i * ldc + j] += alpha * sum;
    }
  }
}

}  // namespace

template <class T>
void gemm_accumulate(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t a_rs,
                     int64_t a_cs, const T* B, int64_t b_rs, int64_t b_cs, T* C, int64_t ldc) {
  if (M <= 0 || N <= 0 || K <= 0) return;
  if (b_cs == 1) return gemm_rows(M, N, K, alpha, A, a_rs, a_cs, B, b_rs, C, ldc);
  if (a_cs == 1 && b_rs == 1) return gemm_dots(M, N, K, alpha, A, a_rs, B, b_cs, C, ldc);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      T sum = 0;
      for (int64_t k = 0; k < K; ++k) sum += A[i * a_rs + k * a_cs] * B[k * b_rs + j * b_cs];
      C[i * ldc + j] += alpha * sum;
    }
}

#define EDGEOPT_GEMM_INSTANTIATE(T)                                                          \
  template void gemm_accumulate<T>(int64_t, int64_t, int64_t, T, const T*, int64_t, int64_t, \
                                   const T*, int64_t, int64_t, T*, int64_t);
EDGEOPT_GEMM_INSTANTIATE(float)
EDGEOPT_GEMM_INSTANTIATE(double)
EDGEOPT_GEMM_INSTANTIATE(int32_t)
EDGEOPT_GEMM_INSTANTIATE(int64_t)
EDGEOPT_GEMM_INSTANTIATE(uint32_t)
EDGEOPT_GEMM_INSTANTIATE(uint64_t)
#undef EDGEOPT_GEMM_INSTANTIATE

void check_gemm_operands(const Node& node, const Tensor& a, const Tensor& b) {
  if (!gemm_dtype_supported(a.dtype())) unsupported_dtype(node, a.dtype());
  if (b.dtype() != a.dtype())
    fail_input("node ", node.describe(), ": B '", node.input(1), "' is ", dtype_name(b.dtype()),
               " but A is ", dtype_name(a.dtype()));
}

}  // namespace edgeopt::rt::ref
