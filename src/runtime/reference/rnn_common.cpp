#include "rnn_common.h"

#include <Eigen/Core>
#include <algorithm>

namespace edgeopt::rt::ref {

float activate(const RnnActivation& f, float x) {
  switch (f.kind) {
    case RnnActivation::kSigmoid:
      return 1.f / (1.f + std::exp(-x));
    case RnnActivation::kTanh:
      return std::tanh(x);
    case RnnActivation::kRelu:
      return std::max(x, 0.f);
    case RnnActivation::kAffine:
      return f.alpha * x + f.beta;
    case RnnActivation::kLeakyRelu:
      return x >= 0 ? x : f.alpha * x;
    case RnnActivation::kThresholdedRelu:
      return x > f.alpha ? x : 0.f;
    case RnnActivation::kScaledTanh:
      return f.alpha * std::tanh(f.beta * x);
    case RnnActivation::kHardSigmoid:
      return std::max(0.f, std::min(1.f, f.alpha * x + f.beta));
    case RnnActivation::kElu:
      return x >= 0 ? x : f.alpha * (std::exp(x) - 1.f);
    case RnnActivation::kSoftsign:
      return x / (1.f + std::fabs(x));
    case RnnActivation::kSoftplus:
      break;
  }
  return std::log1p(std::exp(x));
}

void activate(const RnnActivation& f, float* v, int64_t n, float clip) {
  Eigen::Map<Eigen::ArrayXf> a(v, n);
  if (clip > 0) a = a.max(-clip).min(clip);
  if (f.kind == RnnActivation::kSigmoid) {
    // Not Eigen's logistic(): it is exactly 1 from x = 15.7, where 1 / (1 + e^-x) is still
    // 1 - 2^-23, and GRU's (1 - z) . h~ keeps that difference (ONNX's test_gru_seq_length).
    a = ((-a).exp() + 1.f).inverse();
  } else if (f.kind == RnnActivation::kTanh) {
    a = a.tanh();
  } else {
    for (int64_t j = 0; j < n; ++j) v[j] = activate(f, v[j]);
  }
}

TransposedWeights::TransposedWeights(const KernelInit& init, size_t input) {
  const Tensor* w = input < init.constants.size() ? init.constants[input] : nullptr;
  if (!w || w->dtype() != DType::kF32 || w->rank() != 3) return;
  transpose(*w);
  owned_ = true;
}

void TransposedWeights::transpose(const Tensor& w) {
  const int64_t dirs = w.dim(0);
  rows_ = w.dim(1);
  cols_ = w.dim(2);
  t_.resize(static_cast<size_t>(dirs * rows_ * cols_));
  const float* src = w.data<float>();
  for (int64_t d = 0; d < dirs; ++d)
    for (int64_t j = 0; j < rows_; ++j)
      for (int64_t k = 0; k < cols_; ++k)
        t_[(d * cols_ + k) * rows_ + j] = src[(d * rows_ + j) * cols_ + k];
}

// Rows in blocks of 64 whose sums stay in registers over all columns (4 AVX-512 or 8 AVX2
// registers), then the remaining rows one column at a time.
EDGEOPT_VECTOR_CLONES
void matvec_t(const float* wt, int64_t ld, const float* x, int64_t rows, int64_t cols, float* g) {
  constexpr int64_t kBlock = 64;
  int64_t j0 = 0;
  for (; j0 + kBlock <= rows; j0 += kBlock) {
    float acc[kBlock];
    for (int64_t l = 0; l < kBlock; ++l) acc[l] = g[j0 + l];
    for (int64_t k = 0; k < cols; ++k) {
      const float xk = x[k];
      const float* col = wt + k * ld + j0;
      for (int64_t l = 0; l < kBlock; ++l) acc[l] += xk * col[l];
    }
    for (int64_t l = 0; l < kBlock; ++l) g[j0 + l] = acc[l];
  }
  for (int64_t k = 0; k < cols && j0 < rows; ++k) {
    const float xk = x[k];
    const float* col = wt + k * ld;
    for (int64_t j = j0; j < rows; ++j) g[j] += xk * col[j];
  }
}

namespace {

// Four vectors x0..x3 (xs apart) against rows [0, rows) in blocks of 32 whose 4 x 32 sums stay
// in registers over all columns (8 AVX-512 or 16 AVX2 registers).
EDGEOPT_VECTOR_CLONES
void matmul4_t(const float* wt, int64_t ld, const float* x, int64_t xs, int64_t rows, int64_t cols,
               float* g) {
  constexpr int64_t kBlock = 32;
  int64_t j0 = 0;
  for (; j0 + kBlock <= rows; j0 += kBlock) {
    float acc[4][kBlock];
    for (int i = 0; i < 4; ++i)
      for (int64_t l = 0; l < kBlock; ++l) acc[i][l] = g[i * rows + j0 + l];
    for (int64_t k = 0; k < cols; ++k) {
      const float* col = wt + k * ld + j0;
      for (int i = 0; i < 4; ++i) {
        const float xk = x[i * xs + k];
        for (int64_t l = 0; l < kBlock; ++l) acc[i][l] += xk * col[l];
      }
    }
    for (int i = 0; i < 4; ++i)
      for (int64_t l = 0; l < kBlock; ++l) g[i * rows + j0 + l] = acc[i][l];
  }
  for (int i = 0; i < 4 && j0 < rows; ++i)
    matvec_t(wt + j0, ld, x + i * xs, rows - j0, cols, g + i * rows + j0);
}

}  // namespace

void matmul_t(const float* wt, int64_t ld, const float* x, int64_t xs, int64_t m, int64_t rows,
              int64_t cols, float* g) {
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) matmul4_t(wt, ld, x + i * xs, xs, rows, cols, g + i * rows);
  for (; i < m; ++i) matvec_t(wt, ld, x + i * xs, rows, cols, g + i * rows);
}

void input_projection(const float* x, const RnnDims& d, int64_t b, int64_t len, const float* wt,
                      int64_t rows, const float* bias, const float* bias2, float* gx) {
  for (int64_t t = 0; t < len; ++t) {
    float* g = gx + t * rows;
    for (int64_t j = 0; j < rows; ++j) g[j] = (bias ? bias[j] : 0.f) + (bias2 ? bias2[j] : 0.f);
  }
  if (len > 0) matmul_t(wt, rows, x + d.x(0, b), d.x(1, b) - d.x(0, b), len, rows, d.input, gx);
}

int64_t row_length(const RunContext& ctx, const RnnDims& d, int64_t b, const Node& node) {
  if (!ctx.has_input(4)) return d.seq;
  const int64_t len = ctx.input(4).get_i64(b);
  if (len < 0 || len > d.seq)
    fail_input("node ", node.describe(), ": sequence_lens[", b, "] = ", len, " is outside [0, ",
               d.seq, "]");
  return len;
}

}  // namespace edgeopt::rt::ref
