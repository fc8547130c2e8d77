// edgeopt qat MODEL -o OUT --data SPEC --calib SPEC [--calib-samples N] [training options]
// Quantization-aware training: fake quantization (s8 per-channel weights, u8 per-tensor
// activations, scales from a min/max calibration pass, then learned), fine-tuning, and export
// as a QDQ model.
#include <memory>

#include "cli_checks.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/quantize.h"
#include "train_args.h"
#include "train_commands.h"

namespace edgeopt::cli {
namespace {

struct QatArgs {
  TrainArgs t;
  std::string calib;
  train::QatOptions q;
  bool reduce_range = false, full_range = false;
};

int run_qat(QatArgs& a) {
  check_output(a.t);
  if (a.reduce_range && a.full_range)
    fail_input("qat: --reduce-range and --full-range exclude each other");
  // The same default as `edgeopt quantize`: 7-bit weights where the int8 kernels are exact
  // only for them (x86 without VNNI).
  const bool reduce = a.reduce_range || (!a.full_range && !host_has_int8_dot_product());
  a.q.weight_qmax = reduce ? 63 : 127;
  a.t.opt.weight_qmax = a.q.weight_qmax;
  std::unique_ptr<Dataset> data = open_dataset(a.t.data);
  std::unique_ptr<Dataset> calib = open_dataset(a.calib);
  std::unique_ptr<Dataset> val = open_val(a.t);
  Model model = load_model(a.t.model);
  const int64_t quantized = train::insert_fake_quant(model, *calib, a.q);
  const int64_t calibrated = std::min(a.q.calib_samples, calib->size());
  say(a.t, "fake quantization on %lld nodes (calibrated on %lld samples, int%d weights)",
      static_cast<long long>(quantized), static_cast<long long>(calibrated), reduce ? 7 : 8);
  nlohmann::json extra = {{"calib", a.calib},
                          {"quantized_nodes", quantized},
                          {"calib_samples", calibrated},
                          {"weight_bits", reduce ? 7 : 8}};
  if (val) {
    const double before = train::evaluate_top1(model, *val, a.t.opt.val_limit, a.t.opt.threads);
    say(a.t, "val top-1 before fine-tuning (min/max scales) %.4f", before);
    extra["val_top1_before"] = before;
  }
  a.t.opt.train_quant_scales = true;
  const std::vector<train::EpochStats> epochs =
      train::train_model(model, *data, val.get(), a.t.opt);
  train::finalize_qdq(model, a.q.weight_qmax);
  if (writes_outputs()) save_model(model, a.t.out, {}, a.t.model);
  print_result(a.t, result_json("qat", a.t, epochs, extra));
  return 0;
}

const CommandRegistrar reg = register_train_command("qat", [](CLI::App& sub) {
  auto a = std::make_shared<QatArgs>();
  add_train_options(sub, a->t, 1, 0.002);
  a->t.opt.weight_decay = 0;
  sub.add_option("--calib", a->calib, "Calibration set SPEC")->required();
  sub.add_option("--calib-samples", a->q.calib_samples, "Calibration samples")
      ->check(edgeopt::cli::positive_int());
  sub.add_flag("--reduce-range", a->reduce_range,
               "7-bit weights (default on x86 without VNNI, as for `edgeopt quantize`)");
  sub.add_flag("--full-range", a->full_range, "8-bit weights (for VNNI or ARM targets)");
  return [a] { return run_qat(*a); };
});

}  // namespace
}  // namespace edgeopt::cli
