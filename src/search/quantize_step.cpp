// Recipe step "quantize": post-training quantization (include/edgeopt/quantize.h).
#include <functional>
#include <memory>
#include <string>

#include "edgeopt/bench.h"
#include "edgeopt/error.h"
#include "edgeopt/quantize.h"
#include "edgeopt/recipe.h"
#include "edgeopt/step_options.h"

namespace edgeopt {
namespace {

// The step's options, and its calibration dataset (opened through ctx) in static mode.
QuantizeOptions quantize_options(const nlohmann::json& o, StepContext& ctx, Dataset** calib) {
  QuantizeOptions q;
  q.mode = parse_quant_mode(opt_string(o, "mode", "static"));
  q.format = parse_quant_format(opt_string(o, "format", "qdq"));
  q.method = parse_calib_method(opt_string(o, "method", "minmax"));
  q.percentile = opt_double(o, "percentile", q.percentile);
  q.per_channel = opt_bool(o, "per_channel", true);
  q.activations = parse_activation_type(opt_string(o, "activations", "uint8"));
  q.symmetric = opt_bool(o, "symmetric", false);
  // 7-bit weights where the host has no int8 dot product, as the quantize command does.
  q.reduce_range = opt_bool(o, "reduce_range", !host_has_int8_dot_product());
  q.exclude = opt_strings(o, "exclude");
  q.cle = opt_bool(o, "cle", false);
  q.bias_correction = opt_bool(o, "bias_correction", false);
  q.samples = opt_int(o, "samples", q.samples);
  if (q.samples < 1) fail_input("quantize: \"samples\" must be at least 1");
  if (!(q.percentile > 0 && q.percentile <= 100))
    fail_input("quantize: \"percentile\" must be in (0, 100]");
  *calib = nullptr;
  if (q.mode == QuantMode::kStatic) {
    const std::string spec = opt_string(o, "calibration", ctx.calibration_spec);
    if (spec.empty())
      fail_input(
          "quantize: static mode needs calibration data: \"calibration\": SPEC in the "
          "step, or --calib SPEC (e.g. fashion-mnist:train)");
    *calib = &ctx.dataset(spec);
  }
  return q;
}

std::string quantize_step(Model& m, const nlohmann::json& o, StepContext& ctx) {
  Dataset* calib = nullptr;
  QuantizeOptions q = quantize_options(o, ctx, &calib);
  // One progress bar per stage (calibration, ...), drawn only when stderr is a terminal.
  auto bar = std::make_shared<std::function<void(int64_t, int64_t)>>();
  auto stage_now = std::make_shared<std::string>();
  q.progress = [bar, stage_now](const std::string& stage, int64_t done, int64_t total) {
    if (stage != *stage_now) *stage_now = stage, *bar = terminal_progress("quantize: " + stage);
    if (*bar) (*bar)(done, total);
  };
  QuantizeReport r;
  m = quantize_model(m, q, calib, nullptr, &r);
  if (ctx.log)
    for (const std::string& note : r.notes) ctx.log("quantize: " + note);
  if (q.mode == QuantMode::kFp16) return "fp16 weights";
  std::string summary = r.mode + " " + r.format + " int8 (" +
                        std::to_string(q.reduce_range ? 7 : 8) + "-bit weights, " +
                        (q.per_channel ? "per-channel" : "per-tensor") + "), " +
                        std::to_string(r.quantized_nodes) + " nodes";
  if (calib) summary += ", " + std::to_string(r.calib_samples) + " calibration samples";
  return summary;
}

const StepRegistrar quantize_reg(
    {"quantize",
     "post-training quantization: static int8 (calibrated), dynamic int8, fp16",
     {"mode", "format", "method", "percentile", "per_channel", "activations", "symmetric",
      "reduce_range", "exclude", "cle", "bias_correction", "samples", "calibration"},
     quantize_step,
     [](const nlohmann::json& o, StepContext& ctx) {
       Dataset* calib = nullptr;
       quantize_options(o, ctx, &calib);
     }});

}  // namespace
}  // namespace edgeopt
