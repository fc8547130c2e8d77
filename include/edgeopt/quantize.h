// Post-training quantization: static int8 (calibrated, QDQ or QOperator), dynamic int8
// (MatMul/Gemm weights, activations quantized at run time) and fp16 weights.
//
// Static quantization, as ONNX Runtime's quantizer defines the formats:
//   activations  q = saturate(round(x / S) + Z), u8 asymmetric by default (what x86 VNNI and
//                ONNX Runtime's QDQ kernels run fastest: u8 activations × s8 weights), i8 or
//                symmetric (Z = 0) by option; ranges from calibration on real data.
//   weights      s8 symmetric, S_w = max|w| / 127 per output channel (default) or per tensor.
//   bias         s32 with S_b = S_x · S_w, Z_b = 0.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "edgeopt/data.h"
#include "edgeopt/ir.h"

namespace edgeopt {

// ---- quantization math ----------------------------------------------------------------------

struct QParams {
  float scale = 1;
  int32_t zero_point = 0;
};

// Scale and zero point mapping [lo, hi] onto the integer range of `qtype` (u8: 0..255,
// i8: -128..127). The range is first widened to contain 0 (so 0 is exact, as zero padding
// needs). Asymmetric: S = (hi − lo) / (qmax − qmin), Z = round(qmin − lo / S) clamped.
// Symmetric: S = max(|lo|, |hi|) / ((qmax − qmin) / 2), Z = 0 for i8 and 128 for u8.
// A zero-width range gives S = 1 (any S represents the constant 0 exactly).
QParams choose_qparams(float lo, float hi, DType qtype, bool symmetric);

enum class CalibMethod { kMinMax, kPercentile, kEntropy, kMse };
// "minmax" | "percentile" | "entropy" | "mse"; throws Error (invalid input) otherwise.
CalibMethod parse_calib_method(const std::string& name);
const char* calib_method_name(CalibMethod m);

// Streaming histogram of |x| with a fixed number of bins over [0, limit). When a value at or
// above the limit arrives, the limit doubles and pairs of bins merge, so memory stays fixed
// however many values are added. Also tracks the exact min and max of x.
class Histogram {
 public:
  explicit Histogram(int bins = 2048);
  void add(const float* x, int64_t n);
  int bins() const { return static_cast<int>(counts_.size()); }
  double limit() const { return limit_; }
  double bin_width() const { return limit_ / bins(); }
  const std::vector<double>& counts() const { return counts_; }
  double total() const { return total_; }
  float min() const { return min_; }
  float max() const { return max_; }

 private:
  std::vector<double> counts_;
  double limit_ = 0;
  double total_ = 0;
  float min_ = 0, max_ = 0;
  bool seen_ = false;
};

// Clipping threshold T on |x| chosen from the histogram:
//   percentile  smallest T with (count of |x| <= T) >= p% of all values;
//   entropy     TensorRT's search: the T whose `levels`-bin quantized distribution Q has the
//               least KL(P || Q) to the reference P (the histogram up to T, outliers added to
//               the last bin);
//   mse         the T minimising the expected squared error: clipping (|x| − T)² above T plus
//               the uniform rounding noise Δ²/12 with Δ = T / levels below it.
// `levels` is the number of quantization steps covering [0, T] (255 for u8 after ReLU, 127
// for a signed range). minmax returns max|x|.
double histogram_threshold(const Histogram& h, CalibMethod method, double percentile = 99.99,
                           int levels = 127);

// True when this CPU has 8-bit dot-product instructions (x86 AVX512-VNNI or AVX-VNNI; always
// true off x86). Without them, 8-bit weights are computed inexactly by ONNX Runtime (see
// QuantizeOptions::reduce_range).
bool host_has_int8_dot_product();

// ---- the quantizer --------------------------------------------------------------------------

enum class QuantMode { kStatic, kDynamic, kFp16 };
enum class QuantFormat { kQdq, kQOperator };

// The names the CLI and recipes use; each throws Error (invalid input) naming the choices.
QuantMode parse_quant_mode(const std::string& name);      // static | dynamic | fp16
QuantFormat parse_quant_format(const std::string& name);  // qdq | qoperator
DType parse_activation_type(const std::string& name);     // uint8 (u8) | int8 (i8)

struct QuantizeOptions {
  QuantMode mode = QuantMode::kStatic;
  QuantFormat format = QuantFormat::kQdq;
  CalibMethod method = CalibMethod::kMinMax;
  double percentile = 99.99;
  bool per_channel = true;
  DType activations = DType::kU8;  // kU8 or kI8
  bool symmetric = false;          // symmetric activations (weights are always symmetric)
  // 7-bit weights ([−63, 63]), static and dynamic: u8 × s8 pair sums then fit int16, which x86
  // without VNNI (AVX2 vpmaddubsw, what ONNX Runtime's MLAS uses there) needs to compute the
  // model exactly. The CLI turns it on when !host_has_int8_dot_product().
  bool reduce_range = false;
  std::vector<std::string> exclude;  // node names kept in fp32
  bool cle = false;                  // cross-layer equalization before calibration
  bool bias_correction = false;
  int64_t samples = 1000;  // calibration samples (first N of the calibration set)
  int64_t batch = 32;      // calibration batch
  // Accuracy guard: with an eval set, put the worst layers (lowest SQNR) back to fp32 until the
  // top-1 drop is at most max_drop_pp percentage points.
  double max_drop_pp = -1;    // < 0: no guard
  int64_t eval_limit = 0;     // first N eval samples (0 = all)
  bool layer_report = false;  // compute per-layer SQNR even without the guard
  // Called with (done, total) while calibrating and evaluating; `stage` names the phase.
  std::function<void(const std::string& stage, int64_t done, int64_t total)> progress;
};

struct LayerSqnr {
  std::string node;
  std::string op_type;
  std::string output;
  double sqnr_db = 0;  // 10·log10(Σ y² / Σ (y − y_q)²) of the node's output on calibration data
  bool fp32 = false;  // excluded (by option or by the accuracy guard)
};

struct QuantizeReport {
  std::string mode, format, method;
  int64_t calib_samples = 0;
  int64_t quantized_nodes = 0;
  int64_t calibrated_tensors = 0;
  int64_t cle_pairs = 0;
  int64_t bias_corrected = 0;
  std::vector<LayerSqnr> layers;      // static mode with the guard or layer_report
  std::vector<std::string> fallback;  // nodes put back to fp32 by the accuracy guard
  bool guard = false;
  double top1_fp32 = -1, top1_quant = -1;  // with an eval set
  int64_t eval_count = 0;
  bool target_met = true;
  // One line each for the user, e.g. the opset conversion the mode needed (ensure_opset).
  std::vector<std::string> notes;
};

// What static int8 quantization (quantize_model, kStatic) would do with one node of the model.
struct QuantPlanEntry {
  std::string node;
  std::string op_type;
  bool int8 = false;   // runs on int8 weights / activations after quantization
  std::string reason;  // why it is int8 or stays in float ("op has no int8 form", ...)
};

// The plan for every node of `model` (not modified), in graph order, before calibration: the
// preparation and node selection quantize_model runs, with options.exclude and per_channel.
std::vector<QuantPlanEntry> static_quantization_plan(const Model& model,
                                                     const QuantizeOptions& options);

// Quantizes `model` (not modified). `calib` is required in static mode (and read from the
// start); `eval` is only used with the accuracy guard. Throws Error (invalid input) for an
// empty calibration set, calibration data whose sample shape or dtype does not fit the model's
// input, or unknown excluded node names.
Model quantize_model(const Model& model, const QuantizeOptions& options, Dataset* calib,
                     Dataset* eval, QuantizeReport* report);

}  // namespace edgeopt
