// Timing repeated Session::run.
#include "edgeopt/bench.h"

#include <onnx/defs/schema.h>

#include <chrono>
#include <random>

#include "edgeopt/error.h"
#include "edgeopt/onnx_io.h"
#include "rapl.h"

namespace edgeopt {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

}  // namespace

std::vector<Tensor> random_inputs(const std::vector<ValueInfo>& inputs, int64_t batch,
                                  uint64_t seed) {
  if (batch <= 0) fail_input("batch must be positive, got ", batch);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  std::vector<Tensor> out;
  for (const ValueInfo& v : inputs) {
    if (!v.has_shape)
      fail_unsupported("input '", v.name, "' has no shape; cannot make random data for it");
    if (v.dtype == DType::kUndefined || v.dtype == DType::kString)
      fail_unsupported("input '", v.name, "' of type ", dtype_name(v.dtype),
                       ": cannot make random data for it");
    Shape shape;
    for (size_t d = 0; d < v.dims.size(); ++d)
      shape.push_back(v.dims[d].is_static() ? v.dims[d].value : (d == 0 ? batch : 1));
    Tensor t(v.dtype, shape);
    for (int64_t i = 0; i < t.numel(); ++i) {
      switch (v.dtype) {
        case DType::kF32:
          t.data<float>()[i] = uni(rng);
          break;
        case DType::kF64:
          t.data<double>()[i] = uni(rng);
          break;
        case DType::kF16:
          t.data<uint16_t>()[i] = f32_to_f16(uni(rng));
          break;
        case DType::kBF16:
          t.data<uint16_t>()[i] = f32_to_bf16(uni(rng));
          break;
        default:
          break;  // integers and bools stay 0: valid as indices and masks
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

BenchResult bench_model(const fs::path& model_path, const SessionOptions& session_options,
                        const BenchOptions& options) {
  if (options.runs <= 0) fail_input("runs must be positive, got ", options.runs);
  if (options.warmup < 0) fail_input("warm-up runs must not be negative, got ", options.warmup);
  BenchResult r;
  r.model = model_path.string();
  std::error_code ec;
  r.file_bytes = static_cast<int64_t>(fs::file_size(model_path, ec));
  if (ec) fail_input(model_path.string(), ": no such file");
  // save_model writes external data next to the model as "<file>.data".
  const fs::path side = model_path.string() + ".data";
  if (fs::is_regular_file(side, ec)) r.file_bytes += static_cast<int64_t>(fs::file_size(side));
  reset_peak_rss();
  // The first model loaded in a process also pays for ONNX's one-time operator schema
  // registration (~80 ms); do it up front so that load_ms compares across models.
  onnx::OpSchemaRegistry::Schema("Relu", "");

  auto t0 = Clock::now();
  Model model = load_model(model_path);
  set_input_shapes(model, options.shapes);
  std::map<std::string, Tensor> given;
  if (options.given_inputs) {
    std::vector<std::string> names;
    for (const ValueInfo* v : model.graph.real_inputs()) names.push_back(v->name);
    given = options.given_inputs(names);
    std::vector<InputShape> fixed;
    for (const auto& [name, t] : given) fixed.push_back({name, t.shape()});
    set_input_shapes(model, fixed);
  }
  // Random inputs of a made-up size would time something else than the user's model runs.
  require_static_dims(model);
  // Timed at one batch size: fixed in the model too, so that the session knows no other shapes
  // come (kernels then keep no plain weights beside their prepacked ones).
  for (ValueInfo& in : model.graph.inputs)
    if (!in.dims.empty() && !in.dims[0].is_static() && !model.graph.find_initializer(in.name))
      in.dims[0] = Dim{options.batch, ""};
  Session session(std::move(model), session_options);
  r.load_ms = ms_since(t0);

  // The given inputs as they are; random data only for the others (none made and dropped:
  // it would count in the peak RSS).
  std::vector<ValueInfo> to_make;
  for (const ValueInfo& v : session.inputs())
    if (!given.count(v.name)) to_make.push_back(v);
  const std::vector<Tensor> made = random_inputs(to_make, options.batch);
  std::vector<Tensor> inputs;
  for (size_t i = 0, k = 0; i < session.inputs().size(); ++i) {
    auto it = given.find(session.inputs()[i].name);
    inputs.push_back(it != given.end() ? it->second : made[k++]);
  }
  r.batch = inputs.empty() || inputs[0].rank() == 0 ? 1 : inputs[0].dim(0);
  t0 = Clock::now();
  session.run(inputs);
  r.first_ms = ms_since(t0);

  const int64_t total = options.warmup + options.runs;
  for (int i = 0; i < options.warmup; ++i) {
    session.run(inputs);
    if (options.progress) options.progress(i + 1, total);
  }
  session.reset_profile();
  std::vector<double> samples;
  samples.reserve(options.runs);
  const std::optional<std::vector<RaplZone>> energy_before = read_rapl();
  for (int i = 0; i < options.runs; ++i) {
    t0 = Clock::now();
    session.run(inputs);
    samples.push_back(ms_since(t0));
    if (options.progress) options.progress(options.warmup + i + 1, total);
  }
  const std::optional<std::vector<RaplZone>> energy_after = read_rapl();
  if (energy_before && energy_after)
    r.energy_mj = rapl_joules(*energy_before, *energy_after) * 1000.0 / options.runs;
  r.latency = latency_stats(samples);
  // Throughput = samples processed / wall time of the measured runs.
  r.throughput_ips = r.latency.total_ms > 0
                         ? double(r.batch) * double(options.runs) / (r.latency.total_ms / 1000.0)
                         : 0.0;
  r.peak_rss_bytes = peak_rss_bytes();
  r.arena_bytes = static_cast<int64_t>(session.arena_bytes());
  r.weight_bytes = static_cast<int64_t>(session.weight_bytes());
  if (session_options.profile) r.profile = session.profile();
  return r;
}

}  // namespace edgeopt
