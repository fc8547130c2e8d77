// Per-channel int8 kernels of the edgeopt.onednn domain (made by int8_rewrite.cpp), on
// channels-last 8-bit tensors, so that a squeeze-excitation block of an int8 network never
// dequantizes its large input:
//   QChannelMul         inputs {x u8/s8 [N, H, W, C], s f32 [N or 1, 1, 1, C]};
//                       y = saturate(round_half_even((x − zx) · (sx · s[n, c] / sy)) + zy)
//   QGlobalAveragePool  input x u8/s8 [N, H, W, C]; the mean per (n, c) of the dequantized
//                       values, sx · (Σ x − H·W·zx) / (H·W): f32 [N, 1, 1, C], or quantized as
//                       by QuantizeLinear when y_dtype is u8/s8 (then y_scale, y_zero_point)
// Attributes x_scale, x_zero_point, y_scale, y_zero_point, y_dtype.
//
// Both are memory-bound: QChannelMul reads and writes one byte per element where the
// DequantizeLinear → Mul → QuantizeLinear it replaces moves 14 (EfficientNet-B0 int8: the
// three took ~27% of a 1-thread run). The AVX-512 loops take 16 channels per step; other CPUs
// run the scalar loops (the same arithmetic).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "common.h"

namespace edgeopt::rt::onednn {
namespace {

bool have_avx512() {
#if defined(__x86_64__)
  static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl");
  return yes;
#else
  return false;
#endif
}

// One row of C channels: y[c] = clamp(rne((x[c] − zx)·m[c]) + zy, lo, hi).
template <typename X, typename Y>
void scale_row_scalar(const X* x, Y* y, const float* m, int64_t c, int32_t zx, int32_t zy,
                      int32_t lo, int32_t hi) {
  for (int64_t k = 0; k < c; ++k) {
    const long r = std::lrint(static_cast<float>(static_cast<int32_t>(x[k]) - zx) * m[k]);
    y[k] = static_cast<Y>(std::clamp<long>(r + zy, lo, hi));
  }
}

#if defined(__x86_64__)
#define EDGEOPT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
// GCC 12's false positive on the unmasked AVX-512 intrinsics (see silu.cpp).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
EDGEOPT_AVX512 inline __m512i widen16(const void* p, __mmask16 m, bool is_signed) {
  const __m128i b = _mm_maskz_loadu_epi8(m, p);
  return is_signed ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b);
}

EDGEOPT_AVX512 void scale_row_avx512(const void* x, void* y, const float* m, int64_t c,
                                     bool x_signed, int32_t zx, int32_t zy, int32_t lo,
                                     int32_t hi) {
  const __m512i vzx = _mm512_set1_epi32(zx), vzy = _mm512_set1_epi32(zy);
  const __m512i vlo = _mm512_set1_epi32(lo), vhi = _mm512_set1_epi32(hi);
  const auto* src = static_cast<const uint8_t*>(x);
  auto* dst = static_cast<uint8_t*>(y);
  for (int64_t k = 0; k < c; k += 16) {
    const __mmask16 mk = c - k >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (c - k)) - 1);
    const __m512i v = _mm512_sub_epi32(widen16(src + k, mk, x_signed), vzx);
    const __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_maskz_loadu_ps(mk, m + k));
    // Round half to even (the default MXCSR mode), then saturate in int32.
    __m512i r = _mm512_add_epi32(_mm512_cvtps_epi32(f), vzy);
    r = _mm512_min_epi32(_mm512_max_epi32(r, vlo), vhi);
    _mm_mask_storeu_epi8(dst + k, mk, _mm512_cvtepi32_epi8(r));
  }
}

// acc[k] += Σ_r x[r·c + k] over `rows` rows, 64 channels at a time in registers.
EDGEOPT_AVX512 void sum_rows_avx512(const void* x, int64_t rows, int32_t* acc, int64_t c,
                                    bool x_signed) {
  const auto* src = static_cast<const uint8_t*>(x);
  for (int64_t k = 0; k < c; k += 64) {
    __mmask16 mk[4];
    __m512i a[4];
    for (int j = 0; j < 4; ++j) {
      const int64_t left = std::clamp<int64_t>(c - k - 16 * j, 0, 16);
      mk[j] = static_cast<__mmask16>((1u << left) - 1);
      a[j] = _mm512_setzero_si512();
    }
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t* p = src + r * c + k;
      for (int j = 0; j < 4; ++j)
        a[j] = _mm512_add_epi32(a[j], widen16(p + 16 * j, mk[j], x_signed));
    }
    for (int j = 0; j < 4; ++j)
      _mm512_mask_storeu_epi32(
          acc + k + 16 * j, mk[j],
          _mm512_add_epi32(_mm512_maskz_loadu_epi32(mk[j], acc + k + 16 * j), a[j]));
  }
}
#pragma GCC diagnostic pop
#undef EDGEOPT_AVX512
#endif

// The quantization attributes both kernels read.
struct QAttrs {
  float x_scale, y_scale;
  int32_t x_zp, y_zp;
  DType y_dtype;
  explicit QAttrs(const Node& n)
      : x_scale(n.attr_float("x_scale", 1.f)),
        y_scale(n.attr_float("y_scale", 1.f)),
        x_zp(static_cast<int32_t>(n.attr_int("x_zero_point", 0))),
        y_zp(static_cast<int32_t>(n.attr_int("y_zero_point", 0))),
        y_dtype(static_cast<DType>(n.attr_int("y_dtype", static_cast<int64_t>(DType::kU8)))) {}
};

class QChannelMul final : public NodeKernel {
 public:
  explicit QChannelMul(const KernelInit& init)
      : NodeKernel(init), q_(init.node), threads_(init.threads) {}

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& s = ctx.input(1);
    if (!is_8bit(x.dtype()) || !is_8bit(q_.y_dtype) || s.dtype() != DType::kF32 || x.rank() != 4 ||
        s.rank() != 4)
      fail_input("node ", node_.describe(),
                 ": QChannelMul needs a u8/s8 [N, H, W, C] input and f32 [N, 1, 1, C] scales");
    const Shape& xs = x.shape();
    const Shape& ss = s.shape();
    if ((ss[0] != 1 && ss[0] != xs[0]) || ss[1] != 1 || ss[2] != 1 || ss[3] != xs[3])
      fail_input("node ", node_.describe(), ": scales ", shape_str(ss), " do not fit ",
                 shape_str(xs));
    ctx.set_output(0, q_.y_dtype, xs);
    mult_.resize(static_cast<size_t>(s.numel()));
    run_threads_ = threads_for_bytes(threads_, 2 * x.numel());
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& s = ctx.input(1);
    Tensor& y = ctx.output(0);
    const int64_t n = x.dim(0), hw = x.dim(1) * x.dim(2), c = x.dim(3);
    if (x.numel() == 0) return;
    // The multiplier per (n, c): sx · s / sy.
    const float* sp = s.data<float>();
    for (int64_t k = 0; k < s.numel(); ++k) mult_[k] = q_.x_scale * sp[k] / q_.y_scale;
    const bool x_signed = x.dtype() == DType::kI8, y_signed = q_.y_dtype == DType::kI8;
    parallel_for(run_threads_, n * hw, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const float* m = mult_.data() + (s.dim(0) == 1 ? 0 : (r / hw) * c);
        channel_scale_isa(static_cast<const uint8_t*>(x.raw()) + r * c, x_signed,
                          static_cast<uint8_t*>(y.raw()) + r * c, y_signed, m, c, q_.x_zp, q_.y_zp,
                          2);
      }
    });
  }

 private:
  QAttrs q_;
  int threads_ = 1, run_threads_ = 1;
  std::vector<float> mult_;
};

class QGlobalAveragePool final : public NodeKernel {
 public:
  explicit QGlobalAveragePool(const KernelInit& init)
      : NodeKernel(init), q_(init.node), threads_(init.threads) {}

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const bool ok_out = q_.y_dtype == DType::kF32 || is_8bit(q_.y_dtype);
    if (!is_8bit(x.dtype()) || x.rank() != 4 || !ok_out)
      fail_input("node ", node_.describe(),
                 ": QGlobalAveragePool needs a u8/s8 [N, H, W, C] input");
    const Shape& s = x.shape();
    ctx.set_output(0, q_.y_dtype, {s[0], 1, 1, s[3]});
    // Each part of an image's H·W rows sums into its own accumulators, one part per thread.
    parts_ = std::min<int64_t>(threads_for_bytes(threads_, s[1] * s[2] * s[3]),
                               std::max<int64_t>(s[1] * s[2], 1));
    acc_.resize(static_cast<size_t>(parts_ * s[3]));
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const int64_t n = x.dim(0), hw = x.dim(1) * x.dim(2), c = x.dim(3);
    if (y.numel() == 0) return;
    const int64_t parts = parts_;
    for (int64_t b = 0; b < n; ++b) {
      std::fill(acc_.begin(), acc_.end(), 0);
      parallel_for(static_cast<int>(parts), parts, [&](int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end; ++p) {
          const int64_t lo = hw * p / parts, hi = hw * (p + 1) / parts;
          channel_sum_isa(static_cast<const uint8_t*>(x.raw()) + (b * hw + lo) * c,
                          x.dtype() == DType::kI8, hi - lo, acc_.data() + p * c, c, 2);
        }
      });
      for (int64_t k = 0; k < c; ++k) {
        int64_t total = 0;
        for (int64_t p = 0; p < parts; ++p) total += acc_[p * c + k];
        const float mean =
            static_cast<float>(static_cast<double>(q_.x_scale) *
                               static_cast<double>(total - hw * q_.x_zp) / static_cast<double>(hw));
        if (q_.y_dtype == DType::kF32) {
          y.data<float>()[b * c + k] = mean;
          continue;
        }
        const long r = std::lrint(mean / q_.y_scale) + q_.y_zp;
        const int32_t v =
            static_cast<int32_t>(std::clamp<long>(r, qmin(q_.y_dtype), qmax(q_.y_dtype)));
        if (q_.y_dtype == DType::kU8)
          y.data<uint8_t>()[b * c + k] = static_cast<uint8_t>(v);
        else
          y.data<int8_t>()[b * c + k] = static_cast<int8_t>(v);
      }
    }
  }

 private:
  QAttrs q_;
  int threads_ = 1;
  int64_t parts_ = 1;
  std::vector<int32_t> acc_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, kDomain, "QChannelMul", 1, INT_MAX, QChannelMul);
EDGEOPT_REGISTER_KERNEL(kProvider, kDomain, "QGlobalAveragePool", 1, INT_MAX, QGlobalAveragePool);

}  // namespace

void channel_scale_isa(const void* x, bool x_signed, void* y, bool y_signed, const float* m,
                       int64_t c, int32_t zx, int32_t zy, int max_isa) {
  const DType ydt = y_signed ? DType::kI8 : DType::kU8;
  const int32_t lo = qmin(ydt), hi = qmax(ydt);
#if defined(__x86_64__)
  if (max_isa >= 2 && have_avx512()) return scale_row_avx512(x, y, m, c, x_signed, zx, zy, lo, hi);
#endif
  const auto* xu = static_cast<const uint8_t*>(x);
  const auto* xi = static_cast<const int8_t*>(x);
  if (!y_signed) {
    auto* yo = static_cast<uint8_t*>(y);
    x_signed ? scale_row_scalar(xi, yo, m, c, zx, zy, lo, hi)
             : scale_row_scalar(xu, yo, m, c, zx, zy, lo, hi);
  } else {
    auto* yo = static_cast<int8_t*>(y);
    x_signed ? scale_row_scalar(xi, yo, m, c, zx, zy, lo, hi)
             : scale_row_scalar(xu, yo, m, c, zx, zy, lo, hi);
  }
}

void channel_sum_isa(const void* x, bool x_signed, int64_t rows, int32_t* acc, int64_t c,
                     int max_isa) {
#if defined(__x86_64__)
  if (max_isa >= 2 && have_avx512()) return sum_rows_avx512(x, rows, acc, c, x_signed);
#endif
  for (int64_t r = 0; r < rows; ++r) {
    if (x_signed) {
      const auto* p = static_cast<const int8_t*>(x) + r * c;
      for (int64_t k = 0; k < c; ++k) acc[k] += p[k];
    } else {
      const auto* p = static_cast<const uint8_t*>(x) + r * c;
      for (int64_t k = 0; k < c; ++k) acc[k] += p[k];
    }
  }
}

}  // namespace edgeopt::rt::onednn
