#include "rnn_common.h"

#include <Eigen/Core>
#include <algorithm>

namespace edgeopt::rt::ref {

float Activation::operator()(float x) const {
  switch (kind) {
    case kSigmoid:
      return 1.f / (1.f + std::exp(-x));
    case kTanh:
      return std::tanh(x);
    case kRelu:
      return std::max(x, 0.f);
    case kAffine:
      return alpha * x + beta;
    case kLeakyRelu:
      return x >= 0 ? x : alpha * x;
    case kThresholdedRelu:
      return x > alpha ? x : 0.f;
    case kScaledTanh:
      return alpha * std::tanh(beta * x);
    case kHardSigmoid:
      return std::max(0.f, std::min(1.f, alpha * x + beta));
    case kElu:
      return x >= 0 ? x : alpha * (std::exp(x) - 1.f);
    case kSoftsign:
      return x / (1.f + std::fabs(x));
    case kSoftplus:
      break;
  }
  return std::log1p(std::exp(x));
}

void Activation::apply(float* v, int64_t n, float clip) const {
  Eigen::Map<Eigen::ArrayXf> a(v, n);
  if (clip > 0) a = a.max(-clip).min(clip);
  if (kind == kSigmoid) {
    // Not Eigen's logistic(): it is exactly 1 from x = 15.7, where 1 / (1 + e^-x) is still
    // 1 - 2^-23, and GRU's (1 - z) . h~ keeps that difference (ONNX's test_gru_seq_length).
    a = ((-a).exp() + 1.f).inverse();
  } else if (kind == kTanh) {
    a = a.tanh();
  } else {
    for (int64_t j = 0; j < n; ++j) v[j] = (*this)(v[j]);
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

namespace {

// How many of alpha/beta an activation takes, and their defaults (ONNX Runtime's).
struct ActSpec {
  const char* name;
  int params;
  float alpha, beta;
};
// In Activation::Kind's order.
constexpr ActSpec kActs[] = {
    {"Sigmoid", 0, 0, 0},       {"Tanh", 0, 0, 0},
    {"Relu", 0, 0, 0},          {"Affine", 2, 1, 0},
    {"LeakyRelu", 1, 0.01f, 0}, {"ThresholdedRelu", 1, 1, 0},
    {"ScaledTanh", 2, 1, 1},    {"HardSigmoid", 2, 0.2f, 0.5f},
    {"Elu", 1, 1, 0},           {"Softsign", 0, 0, 0},
    {"Softplus", 0, 0, 0},
};

}  // namespace

RnnAttrs rnn_attrs(const Node& node, const std::vector<std::string>& defaults) {
  RnnAttrs a;
  a.hidden = node.attr_int("hidden_size", 0);
  const std::string dir = node.attr_string("direction", "forward");
  if (dir == "bidirectional")
    a.dirs = 2;
  else if (dir == "reverse")
    a.reverse_only = true;
  else if (dir != "forward")
    fail_input("node ", node.describe(), ": unknown direction '", dir, "'");
  a.layout = node.attr_int("layout", 0);
  if (a.layout != 0 && a.layout != 1)
    fail_input("node ", node.describe(), ": layout must be 0 or 1, got ", a.layout);
  a.clip = node.attr_float("clip", 0.f);
  std::vector<std::string> names;
  if (const Attribute* at = node.attr("activations")) names = at->strings;
  if (names.empty())
    for (int64_t d = 0; d < a.dirs; ++d)
      names.insert(names.end(), defaults.begin(), defaults.end());
  if (names.size() != defaults.size() * a.dirs)
    fail_input("node ", node.describe(), ": expected ", defaults.size() * a.dirs,
               " activations, got ", names.size());
  const std::vector<float> alphas = node.attr_floats("activation_alpha");
  const std::vector<float> betas = node.attr_floats("activation_beta");
  size_t ia = 0, ib = 0;
  for (const std::string& n : names) {
    const ActSpec* spec = nullptr;
    for (const ActSpec& s : kActs)
      if (n == s.name) spec = &s;
    if (!spec)
      fail_unsupported("node ", node.describe(), ": activation '", n, "' is not supported");
    Activation act{static_cast<Activation::Kind>(spec - kActs), spec->alpha, spec->beta};
    if (spec->params >= 1 && ia < alphas.size()) act.alpha = alphas[ia++];
    if (spec->params >= 2 && ib < betas.size()) act.beta = betas[ib++];
    a.act.push_back(act);
  }
  return a;
}

RnnDims rnn_infer(InferContext& ctx, const Node& node, const RnnAttrs& a, int64_t gates,
                  int states) {
  for (size_t i = 0; i < 3; ++i)
    if (!ctx.has_input(i)) fail_input("node ", node.describe(), ": input ", i, " is required");
  if (ctx.dtype(0) != DType::kF32)
    fail_unsupported("node ", node.describe(), ": only float32 is supported, got ",
                     dtype_name(ctx.dtype(0)));
  const Shape& x = ctx.shape(0);
  const Shape& w = ctx.shape(1);
  const Shape& r = ctx.shape(2);
  if (x.size() != 3 || w.size() != 3 || r.size() != 3)
    fail_input("node ", node.describe(), ": X, W and R must be 3-D, got ", shape_str(x), ", ",
               shape_str(w), ", ", shape_str(r));
  RnnDims d;
  d.layout = a.layout;
  d.seq = a.layout ? x[1] : x[0];
  d.batch = a.layout ? x[0] : x[1];
  d.input = x[2];
  d.dirs = a.dirs;
  d.hidden = a.hidden > 0 ? a.hidden : r[2];
  auto expect = [&](size_t i, const Shape& want, const char* what) {
    if (ctx.has_input(i) && ctx.shape(i) != want)
      fail_input("node ", node.describe(), ": ", what, " has shape ", shape_str(ctx.shape(i)),
                 ", expected ", shape_str(want));
  };
  expect(1, {d.dirs, gates * d.hidden, d.input}, "W");
  expect(2, {d.dirs, gates * d.hidden, d.hidden}, "R");
  expect(3, {d.dirs, 2 * gates * d.hidden}, "B");
  expect(4, {d.batch}, "sequence_lens");
  for (int s = 0; s < states; ++s) expect(5 + s, d.h_shape(), "an initial state");
  ctx.set_output(0, DType::kF32, d.y_shape());
  for (int s = 0; s < states; ++s) ctx.set_output(1 + s, DType::kF32, d.h_shape());
  return d;
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
