// Quantization math: scale / zero point from a range, and the streaming |x| histogram with its
// threshold searches (percentile, entropy, MSE).
#include <algorithm>
#include <cmath>
#include <limits>

#include "edgeopt/error.h"
#include "edgeopt/quantize.h"

namespace edgeopt {

QParams choose_qparams(float lo, float hi, DType qtype, bool symmetric) {
  if (qtype != DType::kU8 && qtype != DType::kI8)
    fail_unsupported("quantization to ", dtype_name(qtype), " (only u8 and i8)");
  const float qmin = qtype == DType::kU8 ? 0.f : -128.f;
  const float qmax = qtype == DType::kU8 ? 255.f : 127.f;
  // Widen to contain 0 so that zero (padding, ReLU's floor) is represented exactly.
  lo = std::min(lo, 0.f);
  hi = std::max(hi, 0.f);
  QParams p;
  if (symmetric) {
    // S = max|x| / ((qmax − qmin) / 2); Z in the middle of the integer range.
    const float absmax = std::max(-lo, hi);
    p.scale = absmax / ((qmax - qmin) / 2.f);
    p.zero_point = qtype == DType::kU8 ? 128 : 0;
  } else {
    // S = (hi − lo) / (qmax − qmin); Z = round(qmin − lo / S).
    p.scale = (hi - lo) / (qmax - qmin);
    if (p.scale > 0) {
      const float z = std::nearbyint(qmin - lo / p.scale);
      p.zero_point = static_cast<int32_t>(std::clamp(z, qmin, qmax));
    } else {
      p.zero_point = static_cast<int32_t>(qtype == DType::kU8 ? 0 : 0);
    }
  }
  if (!(p.scale > 0) || !std::isfinite(p.scale)) p.scale = 1.f;
  return p;
}

CalibMethod parse_calib_method(const std::string& name) {
  if (name == "minmax") return CalibMethod::kMinMax;
  if (name == "percentile") return CalibMethod::kPercentile;
  if (name == "entropy") return CalibMethod::kEntropy;
  if (name == "mse") return CalibMethod::kMse;
  fail_input("unknown calibration method '", name, "' (minmax, percentile, entropy or mse)");
}

QuantMode parse_quant_mode(const std::string& name) {
  if (name == "static") return QuantMode::kStatic;
  if (name == "dynamic") return QuantMode::kDynamic;
  if (name == "fp16") return QuantMode::kFp16;
  fail_input("quantization mode must be static, dynamic or fp16, not '", name, "'");
}

QuantFormat parse_quant_format(const std::string& name) {
  if (name == "qdq") return QuantFormat::kQdq;
  if (name == "qoperator") return QuantFormat::kQOperator;
  fail_input("quantized format must be qdq or qoperator, not '", name, "'");
}

DType parse_activation_type(const std::string& name) {
  if (name == "uint8" || name == "u8") return DType::kU8;
  if (name == "int8" || name == "i8") return DType::kI8;
  fail_input("activations must be uint8 or int8, not '", name, "'");
}

const char* calib_method_name(CalibMethod m) {
  switch (m) {
    case CalibMethod::kMinMax:
      return "minmax";
    case CalibMethod::kPercentile:
      return "percentile";
    case CalibMethod::kEntropy:
      return "entropy";
    case CalibMethod::kMse:
      return "mse";
  }
  return "?";
}

Histogram::Histogram(int bins) : counts_(std::max(bins, 2), 0.0) {}

void Histogram::add(const float* x, int64_t n) {
  if (n <= 0) return;
  float bmin = x[0], bmax = x[0], amax = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (!std::isfinite(v)) continue;
    bmin = std::min(bmin, v);
    bmax = std::max(bmax, v);
    amax = std::max(amax, std::fabs(v));
  }
  if (!seen_) min_ = bmin, max_ = bmax, seen_ = true;
  min_ = std::min(min_, bmin);
  max_ = std::max(max_, bmax);
  const int b = bins();
  if (amax > 0) {
    if (limit_ == 0) {
      // The first non-zero batch fixes the initial range, with a little headroom so that its
      // maximum falls inside the last bin.
      limit_ = static_cast<double>(amax) * (1.0 + 1.0 / b);
    }
    // Grow by doubling: bin i of the new histogram is bins 2i and 2i+1 of the old one, so no
    // count moves to a bin it does not belong to.
    while (amax >= limit_) {
      for (int i = 0; i < b / 2; ++i) counts_[i] = counts_[2 * i] + counts_[2 * i + 1];
      for (int i = b / 2; i < b; ++i) counts_[i] = 0;
      limit_ *= 2;
    }
  }
  const double inv = limit_ > 0 ? b / limit_ : 0;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (!std::isfinite(v)) continue;
    const int64_t k = static_cast<int64_t>(std::fabs(v) * inv);
    counts_[std::min<int64_t>(k, b - 1)] += 1;
    total_ += 1;
  }
}

namespace {

double percentile_threshold(const Histogram& h, double pct) {
  const double target = h.total() * std::clamp(pct, 0.0, 100.0) / 100.0;
  double cum = 0;
  const auto& c = h.counts();
  for (int i = 0; i < h.bins(); ++i) {
    cum += c[i];
    if (cum >= target) return (i + 1) * h.bin_width();
  }
  return h.limit();
}

// KL(P || Q) of two unnormalised distributions (normalised here). Bins where P is zero add
// nothing; Q is built so that it is non-zero wherever P is.
double kl_divergence(const std::vector<double>& p, const std::vector<double>& q, int n) {
  double sp = 0, sq = 0;
  for (int i = 0; i < n; ++i) sp += p[i], sq += q[i];
  if (sp <= 0 || sq <= 0) return std::numeric_limits<double>::infinity();
  double kl = 0;
  for (int i = 0; i < n; ++i) {
    if (p[i] <= 0) continue;
    const double pi = p[i] / sp, qi = q[i] / sq;
    kl += pi * std::log(pi / qi);
  }
  return kl;
}

// TensorRT's entropy calibration: for every candidate threshold bin i, P is the histogram up
// to i with the mass beyond added to its last bin; Q merges P's i bins into `levels` groups and
// spreads each group's mass evenly over the group's non-empty bins (empty bins stay empty, as
// they would after dequantization of a value that never occurs). The threshold minimising
// KL(P || Q) wins.
double entropy_threshold(const Histogram& h, int levels) {
  const auto& c = h.counts();
  const int b = h.bins();
  if (levels >= b) return h.limit();
  std::vector<double> suffix(b + 1, 0);
  for (int i = b - 1; i >= 0; --i) suffix[i] = suffix[i + 1] + c[i];
  std::vector<double> p(b), q(b);
  double best_kl = std::numeric_limits<double>::infinity();
  int best_i = b;
  for (int i = levels; i <= b; ++i) {
    std::copy(c.begin(), c.begin() + i, p.begin());
    p[i - 1] += suffix[i];
    // Group g covers bins [g·i/levels, (g+1)·i/levels).
    for (int g = 0; g < levels; ++g) {
      const int start = static_cast<int>(static_cast<int64_t>(g) * i / levels);
      const int stop = static_cast<int>(static_cast<int64_t>(g + 1) * i / levels);
      double mass = 0;
      int nonzero = 0;
      for (int k = start; k < stop; ++k) {
        mass += p[k];
        if (p[k] > 0) ++nonzero;
      }
      for (int k = start; k < stop; ++k) q[k] = p[k] > 0 ? mass / nonzero : 0;
    }
    const double kl = kl_divergence(p, q, i);
    if (kl < best_kl) best_kl = kl, best_i = i;
  }
  return best_i * h.bin_width();
}

// Expected squared error of quantizing the histogram's values with threshold T = i·width:
// E(T) = Σ_{bins below T} n_k · Δ²/12 + Σ_{bins above} n_k · (m_k − T)², Δ = T / levels,
// m_k the bin centre. Suffix sums of n, n·m and n·m² make each candidate O(1).
double mse_threshold(const Histogram& h, int levels) {
  const auto& c = h.counts();
  const int b = h.bins();
  const double w = h.bin_width();
  std::vector<double> s0(b + 1, 0), s1(b + 1, 0), s2(b + 1, 0);
  for (int k = b - 1; k >= 0; --k) {
    const double m = (k + 0.5) * w;
    s0[k] = s0[k + 1] + c[k];
    s1[k] = s1[k + 1] + c[k] * m;
    s2[k] = s2[k + 1] + c[k] * m * m;
  }
  double best = std::numeric_limits<double>::infinity();
  int best_i = b;
  for (int i = 1; i <= b; ++i) {
    const double t = i * w;
    const double delta = t / levels;
    const double inside = (s0[0] - s0[i]) * delta * delta / 12.0;
    const double clipped = s2[i] - 2 * t * s1[i] + t * t * s0[i];
    const double e = inside + clipped;
    if (e < best) best = e, best_i = i;
  }
  return best_i * w;
}

}  // namespace

double histogram_threshold(const Histogram& h, CalibMethod method, double percentile, int levels) {
  const double absmax = std::max(std::fabs(h.min()), std::fabs(h.max()));
  if (h.total() <= 0 || h.limit() <= 0) return absmax;
  levels = std::max(levels, 1);
  double t = absmax;
  switch (method) {
    case CalibMethod::kMinMax:
      return absmax;
    case CalibMethod::kPercentile:
      t = percentile_threshold(h, percentile);
      break;
    case CalibMethod::kEntropy:
      t = entropy_threshold(h, levels);
      break;
    case CalibMethod::kMse:
      t = mse_threshold(h, levels);
      break;
  }
  return std::min(t, absmax);
}

}  // namespace edgeopt
