// Recipe step "quantize": post-training quantization (include/edgeopt/quantize.h).
#include <cstdio>
#include <string>

#include "edgeopt/error.h"
#include "edgeopt/quantize.h"
#include "edgeopt/recipe.h"
#include "search/step_options.h"

namespace edgeopt {
namespace {

std::string quantize_step(Model& m, const nlohmann::json& o, StepContext& ctx) {
  QuantizeOptions q;
  const std::string mode = opt_string(o, "mode", "static");
  if (mode == "static") {
    q.mode = QuantMode::kStatic;
  } else if (mode == "dynamic") {
    q.mode = QuantMode::kDynamic;
  } else if (mode == "fp16") {
    q.mode = QuantMode::kFp16;
  } else {
    fail_input("quantize: \"mode\" must be static, dynamic or fp16, not '", mode, "'");
  }
  const std::string format = opt_string(o, "format", "qdq");
  if (format != "qdq" && format != "qoperator")
    fail_input("quantize: \"format\" must be qdq or qoperator, not '", format, "'");
  q.format = format == "qdq" ? QuantFormat::kQdq : QuantFormat::kQOperator;
  q.method = parse_calib_method(opt_string(o, "method", "minmax"));
  q.percentile = opt_double(o, "percentile", q.percentile);
  q.per_channel = opt_bool(o, "per_channel", true);
  const std::string act = opt_string(o, "activations", "uint8");
  if (act != "uint8" && act != "int8")
    fail_input("quantize: \"activations\" must be uint8 or int8, not '", act, "'");
  q.activations = act == "uint8" ? DType::kU8 : DType::kI8;
  q.symmetric = opt_bool(o, "symmetric", false);
  // 7-bit weights where the host has no int8 dot product, as the quantize command does.
  q.reduce_range = opt_bool(o, "reduce_range", !host_has_int8_dot_product());
  q.exclude = opt_strings(o, "exclude");
  q.cle = opt_bool(o, "cle", false);
  q.bias_correction = opt_bool(o, "bias_correction", false);
  q.samples = opt_int(o, "samples", q.samples);
  if (q.samples < 1) fail_input("quantize: \"samples\" must be at least 1");
  Dataset* calib = nullptr;
  if (q.mode == QuantMode::kStatic) {
    const std::string spec = opt_string(o, "calibration", ctx.calibration_spec);
    if (spec.empty())
      fail_input("quantize: static mode needs calibration data: \"calibration\": SPEC in the "
                 "step, or --calib SPEC (e.g. fashion-mnist:train)");
    calib = &ctx.dataset(spec);
  }
  QuantizeReport r;
  m = quantize_model(m, q, calib, nullptr, &r);
  char buf[160];
  if (q.mode == QuantMode::kFp16) {
    std::snprintf(buf, sizeof buf, "fp16 weights");
  } else {
    std::snprintf(buf, sizeof buf, "%s %s int8 (%d-bit weights, %s), %lld nodes%s", mode.c_str(),
                  format.c_str(), q.reduce_range ? 7 : 8,
                  q.per_channel ? "per-channel" : "per-tensor",
                  static_cast<long long>(r.quantized_nodes),
                  calib ? (", " + std::to_string(r.calib_samples) + " calibration samples").c_str()
                        : "");
  }
  return buf;
}

const StepRegistrar quantize_reg(
    {"quantize", "post-training quantization: static int8 (calibrated), dynamic int8, fp16",
     {"mode", "format", "method", "percentile", "per_channel", "activations", "symmetric",
      "reduce_range", "exclude", "cle", "bias_correction", "samples", "calibration"},
     quantize_step});

}  // namespace
}  // namespace edgeopt
