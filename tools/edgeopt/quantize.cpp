// edgeopt quantize MODEL -o OUT [--mode static|dynamic|fp16] [--calib SPEC] [--samples N]
//   [--method minmax|percentile|entropy|mse] [--percentile P] [--per-tensor]
//   [--activations uint8|int8] [--symmetric] [--reduce-range | --full-range]
//   [--format qdq|qoperator] [--exclude NODE...] [--cle] [--bias-correction]
//   [--eval SPEC --max-drop PP [--eval-limit N]] [--shape NAME:DIMS]... [--report] [--json]
//
// Weights are 7-bit (--reduce-range) by default when this host has no int8 dot-product
// instructions (x86 without VNNI), where ONNX Runtime computes 8-bit weights inexactly, and
// 8-bit (--full-range) otherwise; either flag overrides the detection.
//
// Exit codes: 0 written; 2 bad input; 3 written, but the accuracy guard could not meet
// --max-drop (the best model found is written and a warning says so).
#include "edgeopt/quantize.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli_checks.h"
#include "command.h"
#include "edgeopt/bench.h"
#include "edgeopt/data.h"
#include "edgeopt/error.h"
#include "edgeopt/fileio.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/report_json.h"
#include "format.h"
#include "shape_option.h"

namespace edgeopt::cli {
namespace {

struct QuantArgs {
  std::string model, out, mode = "static", calib, method = "minmax", activations = "uint8",
                          format = "qdq", eval;
  int64_t samples = 1000, batch = 32, eval_limit = 0;
  double percentile = 99.99, max_drop = -1;
  bool per_tensor = false, symmetric = false, reduce_range = false, full_range = false, cle = false,
       bias_correction = false, report = false, json = false;
  std::vector<std::string> exclude, shapes;
};

int run_quantize(const QuantArgs& a) {
  QuantizeOptions o;
  o.mode = parse_quant_mode(a.mode);
  o.format = parse_quant_format(a.format);
  o.activations = parse_activation_type(a.activations);
  o.method = parse_calib_method(a.method);
  o.percentile = a.percentile;
  if (!(a.percentile > 0 && a.percentile <= 100)) fail_input("--percentile must be in (0, 100]");
  o.per_channel = !a.per_tensor;
  o.symmetric = a.symmetric;
  if (a.reduce_range && a.full_range)
    fail_input("--reduce-range and --full-range exclude each other");
  o.reduce_range = a.reduce_range || (!a.full_range && !host_has_int8_dot_product());
  o.exclude = a.exclude;
  o.cle = a.cle;
  o.bias_correction = a.bias_correction;
  o.samples = a.samples;
  o.batch = a.batch;
  o.max_drop_pp = a.max_drop;
  o.eval_limit = a.eval_limit;
  o.layer_report = a.report;
  if (a.max_drop >= 0 && a.eval.empty()) fail_input("--max-drop needs --eval SPEC");
  if (o.mode == QuantMode::kStatic && a.calib.empty())
    fail_input("static quantization needs --calib SPEC (e.g. fashion-mnist:train)");
  refuse_same_file(a.model, a.out);

  // One progress bar per stage, drawn only when stderr is a terminal.
  std::string stage_now;
  std::function<void(int64_t, int64_t)> bar;
  o.progress = [&](const std::string& stage, int64_t done, int64_t total) {
    if (stage != stage_now) stage_now = stage, bar = terminal_progress(stage);
    if (bar) bar(done, total);
  };

#if defined(__GLIBC__)
  // Calibration allocates and frees a batch of large activation tensors per step. glibc raises
  // its mmap threshold each time such a block is freed, after which the blocks come from the
  // heap and fragment it: peak RSS then grows with the number of batches (measured 1.9x from 100
  // to 1000 samples on fashion_mobilenet). A fixed threshold keeps large blocks in mmap, so
  // memory stays flat however many samples are calibrated.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
  const Model model = with_shapes(load_model(a.model), a.shapes);
  std::unique_ptr<Dataset> calib, eval;
  if (!a.calib.empty() && o.mode == QuantMode::kStatic) calib = open_dataset(a.calib);
  if (!a.eval.empty()) eval = open_dataset(a.eval);
  QuantizeReport r;
  const Model q = quantize_model(model, o, calib.get(), eval.get(), &r);
  for (const std::string& note : r.notes) std::fprintf(stderr, "quantize: %s\n", note.c_str());
  save_model(q, a.out, {}, a.model);
  const auto in_bytes = std::filesystem::file_size(a.model);
  const auto out_bytes = std::filesystem::file_size(a.out);
  const bool failed_target = r.guard && !r.target_met;

  if (a.json) {
    std::cout << quantize_json(a.model, a.out, o, r, in_bytes, out_bytes).dump(2) << "\n";
  } else {
    std::printf("model      %s (%s)\n", a.model.c_str(), human_bytes(double(in_bytes)).c_str());
    std::printf("output     %s (%s, %.3fx)\n", a.out.c_str(),
                human_bytes(double(out_bytes)).c_str(), double(out_bytes) / double(in_bytes));
    std::printf("mode       %s\n", r.mode.c_str());
    if (o.mode == QuantMode::kDynamic)
      std::printf("weights    int%d %s\n", o.reduce_range ? 7 : 8,
                  o.per_channel ? "per-channel" : "per-tensor");
    if (o.mode == QuantMode::kStatic) {
      std::printf("format     %s, weights int%d %s, activations %s %s\n", r.format.c_str(),
                  o.reduce_range ? 7 : 8, o.per_channel ? "per-channel" : "per-tensor",
                  a.activations.c_str(), o.symmetric ? "symmetric" : "asymmetric");
      std::printf("calibrate  %s, %lld samples, %lld tensors\n", r.method.c_str(),
                  static_cast<long long>(r.calib_samples),
                  static_cast<long long>(r.calibrated_tensors));
      if (o.cle)
        std::printf("CLE        %lld conv pairs equalized\n", static_cast<long long>(r.cle_pairs));
      if (o.bias_correction)
        std::printf("bias corr. %lld layers\n", static_cast<long long>(r.bias_corrected));
    }
    std::printf("quantized  %lld nodes\n", static_cast<long long>(r.quantized_nodes));
    if (r.guard) {
      std::printf(
          "top-1      fp32 %.4f, quantized %.4f (drop %.2f pp, target <= %.2f pp, %lld images)\n",
          r.top1_fp32, r.top1_quant, (r.top1_fp32 - r.top1_quant) * 100, o.max_drop_pp,
          static_cast<long long>(r.eval_count));
      if (!r.fallback.empty()) {
        std::printf("fp32 again");
        for (const std::string& f : r.fallback) std::printf(" %s", f.c_str());
        std::printf("\n");
      }
    }
    if (!r.layers.empty()) {
      std::printf("\nper-layer SQNR (fp32 vs quantized output, calibration data):\n");
      std::printf("  %-40s %-8s %10s\n", "node", "op", "SQNR dB");
      for (const LayerSqnr& l : r.layers)
        std::printf("  %-40s %-8s %10.2f%s\n", l.node.c_str(), l.op_type.c_str(), l.sqnr_db,
                    l.fp32 ? "  (fp32)" : "");
    }
  }
  if (failed_target) {
    std::fprintf(stderr,
                 "warning: top-1 drop %.2f pp is above --max-drop %.2f pp even with %zu layers in "
                 "fp32; wrote the best model found\n",
                 (r.top1_fp32 - r.top1_quant) * 100, o.max_drop_pp, r.fallback.size());
    return 3;
  }
  return 0;
}

CommandRegistrar reg(
    60, "quantize", "Post-training quantization: static int8 (QDQ/QOperator), dynamic, fp16",
    [](CLI::App& sub) {
      auto a = std::make_shared<QuantArgs>();
      sub.add_option("model", a->model, "ONNX model")->required();
      sub.add_option("-o,--output", a->out, "Output ONNX file")->required();
      add_shape_option(sub, a->shapes);
      sub.add_option("--mode", a->mode, "static (default), dynamic or fp16");
      sub.add_option("--calib", a->calib,
                     "Calibration dataset SPEC (static mode), e.g. "
                     "fashion-mnist:train");
      sub.add_option("--samples", a->samples, "Calibration samples (default 1000)")
          ->check(edgeopt::cli::positive_int());
      sub.add_option("--batch", a->batch, "Calibration batch (default 32)")
          ->check(edgeopt::cli::positive_int());
      sub.add_option("--method", a->method,
                     "Calibration: minmax (default), percentile, entropy or mse");
      sub.add_option("--percentile", a->percentile,
                     "Percentile for --method percentile (default 99.99)");
      sub.add_flag("--per-tensor", a->per_tensor,
                   "One weight scale per tensor (default: per output channel)");
      sub.add_option("--activations", a->activations, "uint8 (default) or int8");
      sub.add_flag("--symmetric", a->symmetric, "Symmetric activations (zero point 0 / 128)");
      sub.add_flag("--reduce-range", a->reduce_range,
                   "7-bit weights (default on x86 without VNNI, where ONNX Runtime's AVX2 u8s8 "
                   "kernels saturate int16 pair sums of 8-bit weights)");
      sub.add_flag("--full-range", a->full_range,
                   "8-bit weights (default on hosts with VNNI or off x86; for such targets)");
      sub.add_option("--format", a->format, "qdq (default) or qoperator");
      sub.add_option("--exclude", a->exclude, "Node names to keep in fp32");
      sub.add_flag("--cle", a->cle, "Cross-layer equalization of Conv-Relu-Conv pairs");
      sub.add_flag("--bias-correction", a->bias_correction,
                   "Correct conv biases by the mean output error on calibration data");
      sub.add_option("--eval", a->eval, "Dataset SPEC for the accuracy guard");
      sub.add_option("--max-drop", a->max_drop,
                     "Largest top-1 drop in percentage points; worst layers go back to fp32 "
                     "until met (exit 3, best model still written, if it cannot be)");
      sub.add_option("--eval-limit", a->eval_limit, "Evaluate the first N samples")
          ->check(edgeopt::cli::positive_int());
      sub.add_flag("--report", a->report, "Print the per-layer SQNR table");
      sub.add_flag("--json", a->json, "Print one JSON object");
      return [a] { return run_quantize(*a); };
    });

}  // namespace
}  // namespace edgeopt::cli
