// Winograd F(4x4, 3x3) fp32 conv on the blocked layout: layouts and blocking in winograd.h.
#include "winograd.h"

#include <algorithm>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace edgeopt::rt::onednn {
namespace {

constexpr int kLanes = 8;
constexpr int kXi = 36;     // 6 x 6 transformed positions
constexpr int kRows = 6;    // tiles per micro-kernel call
constexpr int kPanel = 16;  // output channels per micro-kernel call (2 ymm)
// V + M of a tile block are sized to stay in the 512 KiB L2 next to a U panel.
// (256->256 @14x14: 1.33 ms, one block of all 16 tiles 1.9 ms; bench/winograd_conv.cpp.)
constexpr size_t kBlockBytes = 320 * 1024;
constexpr size_t kBigWeights = size_t{16} << 20;
constexpr size_t kBigBlockBytes = size_t{4} << 20;

// Post-ops as the output transform applies them.
struct Post {
  enum Kind { kRelu, kLeaky, kClip, kAdd } kind;
  float alpha = 0, beta = 0;
  int add = 0;  // index into the Add inputs
};

// Everything a thread of the parallel region needs.
struct Job {
  const Winograd::Plan* p;
  const float *x, *u, *bias;
  float* y;
  const float* const* adds;
  const Post* post;
  int npost;
  int64_t kb, nb;
  float* scratch;  // per thread: V and M of one block
  int groups;      // output channel groups (see body)
  void (*body)(const Job&, int tid, int nth);
};

// [begin, end) of `n` items for thread `tid` of `nth`.
inline void split(int64_t n, int tid, int nth, int64_t& begin, int64_t& end) {
  begin = n * tid / nth;
  end = n * (tid + 1) / nth;
}

}  // namespace

#if defined(__x86_64__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
namespace {

// Rows of Bt (6x6) applied to d0..d5.
inline void bt6(const __m256* d, int stride, __m256* r, int rstride) {
  const __m256 d0 = d[0], d1 = d[stride], d2 = d[2 * stride], d3 = d[3 * stride],
               d4 = d[4 * stride], d5 = d[5 * stride];
  const __m256 c4 = _mm256_set1_ps(4.f), c5 = _mm256_set1_ps(-5.f), c2 = _mm256_set1_ps(2.f);
  r[0] = _mm256_fmadd_ps(c4, d0, _mm256_fmadd_ps(c5, d2, d4));
  r[rstride] = _mm256_fnmadd_ps(c4, _mm256_add_ps(d1, d2), _mm256_add_ps(d3, d4));
  r[2 * rstride] = _mm256_fmadd_ps(c4, _mm256_sub_ps(d1, d2), _mm256_sub_ps(d4, d3));
  r[3 * rstride] = _mm256_fmadd_ps(c2, _mm256_sub_ps(d3, d1), _mm256_sub_ps(d4, d2));
  r[4 * rstride] = _mm256_fmadd_ps(c2, _mm256_sub_ps(d1, d3), _mm256_sub_ps(d4, d2));
  r[5 * rstride] = _mm256_fmadd_ps(c4, d1, _mm256_fmadd_ps(c5, d3, d5));
}

// Rows of At (4x6) applied to m0..m5.
inline void at4(const __m256* m, int stride, __m256* o, int ostride) {
  const __m256 m0 = m[0], m1 = m[stride], m2 = m[2 * stride], m3 = m[3 * stride],
               m4 = m[4 * stride], m5 = m[5 * stride];
  const __m256 s12 = _mm256_add_ps(m1, m2), d12 = _mm256_sub_ps(m1, m2);
  const __m256 s34 = _mm256_add_ps(m3, m4), d34 = _mm256_sub_ps(m3, m4);
  o[0] = _mm256_add_ps(_mm256_add_ps(m0, s12), s34);
  o[ostride] = _mm256_fmadd_ps(_mm256_set1_ps(2.f), d34, d12);
  o[2 * ostride] = _mm256_fmadd_ps(_mm256_set1_ps(4.f), s34, s12);
  o[3 * ostride] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8.f), d34, d12), m5);
}

// V of one tile and one input block: 6x6 pixels (zeros outside the image) -> 36 ymm.
void input_tile(const Winograd::Plan& p, const float* xb, int64_t iy0, int64_t ix0, float* v,
                int64_t xi_stride) {
  __m256 d[36], t[36];
  if (iy0 >= 0 && ix0 >= 0 && iy0 + 6 <= p.h && ix0 + 6 <= p.w) {
    for (int i = 0; i < 6; ++i)
      for (int j = 0; j < 6; ++j)
        d[i * 6 + j] = _mm256_loadu_ps(xb + ((iy0 + i) * p.w + ix0 + j) * kLanes);
  } else {
    for (int i = 0; i < 6; ++i) {
      const int64_t iy = iy0 + i;
      for (int j = 0; j < 6; ++j) {
        const int64_t ix = ix0 + j;
        d[i * 6 + j] = iy >= 0 && iy < p.h && ix >= 0 && ix < p.w
                           ? _mm256_loadu_ps(xb + (iy * p.w + ix) * kLanes)
                           : _mm256_setzero_ps();
      }
    }
  }
  for (int j = 0; j < 6; ++j) bt6(d + j, 6, t + j, 6);          // columns
  for (int i = 0; i < 6; ++i) bt6(t + i * 6, 1, d + i * 6, 1);  // rows
  for (int k = 0; k < kXi; ++k) _mm256_storeu_ps(v + k * xi_stride, d[k]);
}

// C[6 tiles][NR*8 channels] = A[6][K] . B[K][NR*8]. A: V of one position from tile r0, blocks
// of 8 channels `a_stride` apart; B: a U panel; C: M of one position, blocks `c_stride` apart.
// The 6 x NR accumulators are named variables and each step is written out: with an array and
// an unrolled loop GCC spilled accumulators to the stack.
template <int NR>
void gemm_6x(const float* a, int64_t a_stride, const float* b, float* c, int64_t c_stride,
             int64_t kb) {
  __m256 c00 = _mm256_setzero_ps(), c10 = c00, c20 = c00, c30 = c00, c40 = c00, c50 = c00;
  __m256 c01 = c00, c11 = c00, c21 = c00, c31 = c00, c41 = c00, c51 = c00;
  for (int64_t k = 0; k < kb; ++k, a += a_stride) {
    for (int l = 0; l < kLanes; ++l, b += NR * kLanes) {
      const __m256 b0 = _mm256_loadu_ps(b);
      const __m256 b1 = NR == 2 ? _mm256_loadu_ps(b + kLanes) : b0;
      __m256 av = _mm256_broadcast_ss(a + l);
      c00 = _mm256_fmadd_ps(av, b0, c00);
      if (NR == 2) c01 = _mm256_fmadd_ps(av, b1, c01);
      av = _mm256_broadcast_ss(a + kLanes + l);
      c10 = _mm256_fmadd_ps(av, b0, c10);
      if (NR == 2) c11 = _mm256_fmadd_ps(av, b1, c11);
      av = _mm256_broadcast_ss(a + 2 * kLanes + l);
      c20 = _mm256_fmadd_ps(av, b0, c20);
      if (NR == 2) c21 = _mm256_fmadd_ps(av, b1, c21);
      av = _mm256_broadcast_ss(a + 3 * kLanes + l);
      c30 = _mm256_fmadd_ps(av, b0, c30);
      if (NR == 2) c31 = _mm256_fmadd_ps(av, b1, c31);
      av = _mm256_broadcast_ss(a + 4 * kLanes + l);
      c40 = _mm256_fmadd_ps(av, b0, c40);
      if (NR == 2) c41 = _mm256_fmadd_ps(av, b1, c41);
      av = _mm256_broadcast_ss(a + 5 * kLanes + l);
      c50 = _mm256_fmadd_ps(av, b0, c50);
      if (NR == 2) c51 = _mm256_fmadd_ps(av, b1, c51);
    }
  }
  _mm256_storeu_ps(c, c00);
  _mm256_storeu_ps(c + kLanes, c10);
  _mm256_storeu_ps(c + 2 * kLanes, c20);
  _mm256_storeu_ps(c + 3 * kLanes, c30);
  _mm256_storeu_ps(c + 4 * kLanes, c40);
  _mm256_storeu_ps(c + 5 * kLanes, c50);
  if (NR == 2) {
    _mm256_storeu_ps(c + c_stride, c01);
    _mm256_storeu_ps(c + c_stride + kLanes, c11);
    _mm256_storeu_ps(c + c_stride + 2 * kLanes, c21);
    _mm256_storeu_ps(c + c_stride + 3 * kLanes, c31);
    _mm256_storeu_ps(c + c_stride + 4 * kLanes, c41);
    _mm256_storeu_ps(c + c_stride + 5 * kLanes, c51);
  }
}

// One output block of one tile: 36 ymm of M -> 4x4 pixels, bias, post-ops, stores.
void output_tile(const Job& j, const float* m, int64_t xi_stride, int64_t n, int64_t ob,
                 int64_t oy0, int64_t ox0) {
  const Winograd::Plan& p = *j.p;
  __m256 s[36], t[24], o[16];
  for (int k = 0; k < kXi; ++k) s[k] = _mm256_loadu_ps(m + k * xi_stride);
  for (int c = 0; c < 6; ++c) at4(s + c, 6, t + c, 6);  // columns: 4 rows of 6
  for (int r = 0; r < 4; ++r) at4(t + r * 6, 1, o + r * 4, 1);
  const __m256 bias = _mm256_loadu_ps(j.bias + ob * kLanes);
  const int64_t base = ((n * j.nb + ob) * p.oh) * p.ow * kLanes;
  const int64_t rows = std::min<int64_t>(4, p.oh - oy0), cols = std::min<int64_t>(4, p.ow - ox0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t at = base + ((oy0 + r) * p.ow + ox0 + c) * kLanes;
      __m256 v = _mm256_add_ps(o[r * 4 + c], bias);
      for (int k = 0; k < j.npost; ++k) {
        const Post& q = j.post[k];
        switch (q.kind) {
          case Post::kRelu:
            v = _mm256_max_ps(v, _mm256_setzero_ps());
            break;
          case Post::kLeaky: {
            const __m256 neg = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ);
            v = _mm256_blendv_ps(v, _mm256_mul_ps(v, _mm256_set1_ps(q.alpha)), neg);
            break;
          }
          case Post::kClip:
            v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(q.alpha)), _mm256_set1_ps(q.beta));
            break;
          case Post::kAdd:
            v = _mm256_add_ps(v, _mm256_loadu_ps(j.adds[q.add] + at));
            break;
        }
      }
      _mm256_storeu_ps(j.y + at, v);
    }
  }
}

// Work items are (output channel group, tile block): a thread takes a contiguous run of them
// and does input transform -> GEMMs -> output transform for each on its own V and M, with no
// barrier (with passive OpenMP waiting, 2 barriers per block made 2 threads 2x slower than 1).
// With few tile blocks the output channels are split into one group per thread instead, each
// thread transforming the same input tiles.
void body(const Job& j, int tid, int nth) {
  const Winograd::Plan& p = *j.p;
  const int64_t T = p.block;
  const int64_t v_xi = j.kb * T * kLanes, m_xi = j.nb * T * kLanes;  // position strides
  const int64_t per_image = p.tiles_h * p.tiles_w;
  const int64_t panels = (j.nb + 1) / 2;
  const int64_t k_all = j.kb * kLanes, n_all = j.nb * kLanes;
  const int64_t blocks = (p.tiles + T - 1) / T;
  float* v = j.scratch + tid * kXi * (j.kb + j.nb) * kLanes * T;
  float* m = v + kXi * j.kb * kLanes * T;
  int64_t b, e;
  split(blocks * j.groups, tid, nth, b, e);
  for (int64_t item = b; item < e; ++item) {
    const int64_t group = item / blocks, t0 = item % blocks * T;
    const int64_t p0 = panels * group / j.groups, p1 = panels * (group + 1) / j.groups;
    const int64_t count = std::min(T, p.tiles - t0);
    const int64_t rows = (count + kRows - 1) / kRows * kRows;
    // 1. Input transform of every input block; rows past `count` are zeros.
    for (int64_t t = 0; t < rows; ++t) {
      const int64_t g = t0 + t, n = g / per_image, th = (g % per_image) / p.tiles_w,
                    tw = g % p.tiles_w;
      for (int64_t cb = 0; cb < j.kb; ++cb) {
        float* vt = v + (cb * T + t) * kLanes;
        if (t >= count) {
          for (int k = 0; k < kXi; ++k) _mm256_storeu_ps(vt + k * v_xi, _mm256_setzero_ps());
          continue;
        }
        const float* xb = j.x + (n * j.kb + cb) * p.h * p.w * kLanes;
        input_tile(p, xb, th * 4 - p.pad_t, tw * 4 - p.pad_l, vt, v_xi);
      }
    }
    // 2. GEMMs of each position for the group's panels of 16 output channels.
    for (int64_t xi = 0; xi < kXi; ++xi) {
      const float* a = v + xi * v_xi;
      for (int64_t pn = p0; pn < p1; ++pn) {
        const float* u = j.u + xi * k_all * n_all + pn * kPanel * k_all;
        float* c = m + xi * m_xi + 2 * pn * T * kLanes;
        const bool full = 2 * pn + 1 < j.nb;
        for (int64_t r = 0; r < rows; r += kRows) {
          if (full)
            gemm_6x<2>(a + r * kLanes, T * kLanes, u, c + r * kLanes, T * kLanes, j.kb);
          else
            gemm_6x<1>(a + r * kLanes, T * kLanes, u, c + r * kLanes, T * kLanes, j.kb);
        }
      }
    }
    // 3. Output transform of the group's output blocks.
    const int64_t ob_end = std::min(2 * p1, j.nb);
    for (int64_t t = 0; t < count; ++t) {
      const int64_t g = t0 + t, n = g / per_image, th = (g % per_image) / p.tiles_w,
                    tw = g % p.tiles_w;
      for (int64_t ob = 2 * p0; ob < ob_end; ++ob)
        output_tile(j, m + (ob * T + t) * kLanes, m_xi, n, ob, th * 4, tw * 4);
    }
  }
}

}  // namespace
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif  // __x86_64__

bool Winograd::available() {
#if defined(__x86_64__)
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
#else
  return false;
#endif
}

bool Winograd::supports(const std::vector<PostOp>& ops) {
  for (const PostOp& p : ops)
    if (p.op != "Relu" && p.op != "LeakyRelu" && p.op != "Clip" && p.op != "Add") return false;
  return true;
}

Winograd::Winograd(const float* w, const float* bias, int64_t m, int64_t c,
                   std::vector<PostOp> post)
    : m_(m),
      c_(c),
      kb_((c + kLanes - 1) / kLanes),
      nb_((m + kLanes - 1) / kLanes),
      post_(std::move(post)) {
  // U = G g Gt per (output, input) channel, in double; G of F(4x4, 3x3).
  static const double G[6][3] = {{1 / 4., 0, 0},
                                 {-1 / 6., -1 / 6., -1 / 6.},
                                 {-1 / 6., 1 / 6., -1 / 6.},
                                 {1 / 24., 1 / 12., 1 / 6.},
                                 {1 / 24., -1 / 12., 1 / 6.},
                                 {0, 0, 1}};
  const int64_t k_all = kb_ * kLanes, n_all = nb_ * kLanes;
  u_.assign(static_cast<size_t>(kXi * k_all * n_all), 0.f);  // padded channels: zero weights
  for (int64_t o = 0; o < m; ++o) {
    const int64_t pn = o / kPanel, width = std::min<int64_t>(kPanel, n_all - pn * kPanel);
    for (int64_t i = 0; i < c; ++i) {
      const float* g = w + (o * c + i) * 9;
      double tmp[6][3];
      for (int a = 0; a < 6; ++a)
        for (int col = 0; col < 3; ++col)
          tmp[a][col] = G[a][0] * g[col] + G[a][1] * g[3 + col] + G[a][2] * g[6 + col];
      for (int a = 0; a < 6; ++a)
        for (int bb = 0; bb < 6; ++bb) {
          const double val = tmp[a][0] * G[bb][0] + tmp[a][1] * G[bb][1] + tmp[a][2] * G[bb][2];
          u_[(a * 6 + bb) * k_all * n_all + pn * kPanel * k_all + i * width + o % kPanel] =
              static_cast<float>(val);
        }
    }
  }
  bias_.assign(static_cast<size_t>(n_all), 0.f);
  if (bias) std::copy(bias, bias + m, bias_.begin());
}

Winograd::Plan Winograd::plan(int64_t n, int64_t h, int64_t w, int64_t oh, int64_t ow,
                              int64_t pad_t, int64_t pad_l, int threads) const {
  Plan p;
  p.n = n;
  p.h = h;
  p.w = w;
  p.oh = oh;
  p.ow = ow;
  p.pad_t = pad_t;
  p.pad_l = pad_l;
  p.tiles_h = (oh + 3) / 4;
  p.tiles_w = (ow + 3) / 4;
  p.tiles = n * p.tiles_h * p.tiles_w;
  const size_t per_tile = kXi * sizeof(float) * static_cast<size_t>((kb_ + nb_) * kLanes);
  // Transformed weights beyond half the L3 come from DRAM for every block: then few big blocks
  // (512->512 @14x14: 7.2 ms with one block, 14.3 ms with 320 KiB blocks; direct 10.8 ms).
  const size_t budget = weight_bytes() > kBigWeights ? kBigBlockBytes : kBlockBytes;
  const int64_t fit = static_cast<int64_t>(budget / per_tile) / kRows * kRows;
  const int64_t all = (p.tiles + kRows - 1) / kRows * kRows;
  p.block = std::clamp<int64_t>(fit, kRows, all);
  p.threads = std::max(threads, 1);
  p.scratch_bytes = per_tile * static_cast<size_t>(p.block) * p.threads + 64;
  return p;
}

void Winograd::run(const Plan& p, const float* x, float* y, const std::vector<const float*>& adds,
                   void* scratch, int threads) const {
#if defined(__x86_64__)
  std::vector<Post> post;
  int add = 0;
  for (const PostOp& o : post_) {
    if (o.op == "Relu")
      post.push_back({Post::kRelu});
    else if (o.op == "LeakyRelu")
      post.push_back({Post::kLeaky, o.alpha});
    else if (o.op == "Clip")
      post.push_back({Post::kClip, o.alpha, o.beta});
    else
      post.push_back({Post::kAdd, 0, 0, add++});
  }
  float* s = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(scratch) + 63) & ~uintptr_t{63});
  // At most the threads the scratch was planned for; one group per thread when the tile blocks
  // are too few to share out evenly (fewer than 4 per thread).
  const int nth = std::clamp(threads, 1, p.threads);
  const int64_t blocks = (p.tiles + p.block - 1) / p.block;
  const int groups = nth > 1 && blocks < 4 * nth ? nth : 1;
  Job j{&p,  x,           u_.data(),   bias_.data(),
        y,   adds.data(), post.data(), static_cast<int>(post.size()),
        kb_, nb_,         s,           groups,
        body};
  // One item per thread on oneDNN's OpenMP team (common.h); inline when nth is 1.
  parallel_for(nth, nth, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) body(j, static_cast<int>(t), nth);
  });
#else
  fail_unsupported("winograd: x86-64 only");
#endif
}

}  // namespace edgeopt::rt::onednn
