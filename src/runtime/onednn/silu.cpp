// x * sigmoid(x) over a float buffer, in place: the SiLU that ends a fused conv's post-ops.
//
// oneDNN 2.6's eltwise_swish post-op is slow inside its AVX2 jit convs (the exp and the division
// take registers the conv's blocking needs): EfficientNet-B0 at one thread, p50 of 7 alternating
// runs, 16.1 ms with it, 13.4 ms with the SiLU left out (wrong results, for scale) and 15.5 ms
// with this pass over the conv's freshly written output instead. It is compute-bound in cache
// and bandwidth-bound on the 112x112 maps. sigmoid(|x|) = 1 / (1 + e^-|x|) with e^-|x| from
// 2^n * p(r), p of degree 6 on |r| <= ln2/2 (Taylor; relative error < 2e-7), and
// sigmoid(-|x|) = e^-|x| * sigmoid(|x|): relative error of x * sigmoid(x) below 1e-6 for finite
// x >= -87; below, e^-|x| is clamped at e^-87, which leaves |error| < 2e-36. On AVX-512 hosts
// the same sum runs in 16 lanes, with 2^n by vscalefps and 1 / (1 + e) by vrcp14ps and one
// Newton step (relative error < 3e-7): bench/silu_bench on an AVX-512 EPYC, 1.2M floats
// (EfficientNet-B0's 96x112x112 map), 0.535 ms AVX2 vs 0.282 ms AVX-512 (0.53x; 0.52-0.53x from
// 16K to 1.2M floats).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "common.h"

namespace edgeopt::rt::onednn {
namespace {

void silu_scalar(float* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] = p[i] / (1.f + std::exp(-p[i]));
}

__attribute__((target("avx2,fma"))) inline __m256 exp_minus_abs(__m256 x) {
  // e^-|x| for |x| <= 87 (below that e^-|x| underflows to 0 and the clamp keeps it tiny).
  const __m256 a = _mm256_max_ps(_mm256_or_ps(x, _mm256_set1_ps(-0.f)), _mm256_set1_ps(-87.f));
  const __m256 k = _mm256_round_ps(_mm256_mul_ps(a, _mm256_set1_ps(1.44269504f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // r = a - k ln2, ln2 split in a high part exact in float and a low correction.
  __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693145752f), a);
  r = _mm256_fnmadd_ps(k, _mm256_set1_ps(1.42860677e-6f), r);
  __m256 q = _mm256_set1_ps(1.f / 720);
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.f / 120));
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.f / 24));
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.f / 6));
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0.5f));
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.f));
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.f));
  const __m256i two_k =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(q, _mm256_castsi256_ps(two_k));
}

__attribute__((target("avx2,fma"))) void silu_avx2(float* p, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(p + i);
    const __m256 e = exp_minus_abs(x);
    const __m256 pos = _mm256_div_ps(one, _mm256_add_ps(one, e));      // sigmoid(|x|)
    const __m256 s = _mm256_blendv_ps(pos, _mm256_mul_ps(e, pos), x);  // sign of x picks
    _mm256_storeu_ps(p + i, _mm256_mul_ps(x, s));
  }
  silu_scalar(p + i, n - i);
}

// GCC 12 warns that the unmasked AVX-512 intrinsics read an uninitialized value: they pass
// _mm512_undefined_ps() as the (unused) merge source, a known false positive of that release.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
__attribute__((target("avx512f"))) inline __m512 silu16(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.f);
  const __m512 a = _mm512_max_ps(
      _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN))),
      _mm512_set1_ps(-87.f));  // -|x|, clamped as in exp_minus_abs
  const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(a, _mm512_set1_ps(1.44269504f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693145752f), a);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(1.42860677e-6f), r);
  __m512 q = _mm512_set1_ps(1.f / 720);
  q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.f / 120));
  q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.f / 24));
  q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.f / 6));
  q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0.5f));
  q = _mm512_fmadd_ps(q, r, one);
  q = _mm512_fmadd_ps(q, r, one);
  const __m512 e = _mm512_scalef_ps(q, k);  // e^-|x|
  const __m512 d = _mm512_add_ps(one, e);   // in [1, 2]: no special cases for the reciprocal
  __m512 pos = _mm512_rcp14_ps(d);
  pos = _mm512_mul_ps(pos, _mm512_fnmadd_ps(d, pos, _mm512_set1_ps(2.f)));  // sigmoid(|x|)
  const __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
  return _mm512_mul_ps(x, _mm512_mask_mul_ps(pos, neg, e, pos));
}

__attribute__((target("avx512f"))) void silu_avx512(float* p, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(p + i, silu16(_mm512_loadu_ps(p + i)));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(p + i, m, silu16(_mm512_maskz_loadu_ps(m, p + i)));
  }
}
#pragma GCC diagnostic pop

}  // namespace

void silu_inplace_isa(float* p, int64_t n, int max_isa) {
  static const int cpu_isa = [] {
    if (__builtin_cpu_supports("avx512f")) return 2;
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
  }();
  switch (std::min(cpu_isa, max_isa)) {
    case 2:
      return silu_avx512(p, n);
    case 1:
      return silu_avx2(p, n);
    default:
      return silu_scalar(p, n);
  }
}

void silu_inplace(float* p, int64_t n, int threads) {
  // Chunks of whole cache lines, at least 16 KiB each: smaller ones are not worth a thread.
  constexpr int64_t kMinChunk = 4096;
  parallel_for(threads, (n + kMinChunk - 1) / kMinChunk, [&](int64_t begin, int64_t end) {
    silu_inplace_isa(p + begin * kMinChunk, std::min(n, end * kMinChunk) - begin * kMinChunk, 2);
  });
}

}  // namespace edgeopt::rt::onednn
