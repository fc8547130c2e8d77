#include "edgeopt/report_json.h"

#include <cmath>

namespace edgeopt {
namespace {

// JSON has no infinity or NaN: such a value (identical outputs give an infinite SQNR) is null.
nlohmann::json json_number(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

nlohmann::json shapes_json(const std::vector<Shape>& shapes, const std::vector<bool>& known) {
  nlohmann::json a = nlohmann::json::array();
  for (size_t i = 0; i < shapes.size(); ++i)
    a.push_back(known[i] ? nlohmann::json(shapes[i]) : nlohmann::json(nullptr));
  return a;
}

nlohmann::json model_size_json(const ModelStats& s) {
  return {{"params", s.params},
          {"macs", s.macs},
          {"file_bytes", s.file_bytes},
          {"compressed_bytes", s.compressed_bytes},
          {"sparsity", s.sparsity}};
}

}  // namespace

nlohmann::json inspect_json(const std::string& model_path, const Model& model, const ModelStats& s,
                            const ArenaPlan* arena) {
  nlohmann::json j;
  j["model"] = model_path;
  j["batch"] = s.batch;
  j["symbolic_batch"] = s.symbolic_batch;
  j["params"] = s.params;
  j["macs"] = s.macs;
  j["file_bytes"] = s.file_bytes;
  j["compressed_bytes"] = s.compressed_bytes;
  j["weight_bytes"] = s.weight_bytes;
  j["weight_bytes_by_dtype"] = s.weight_bytes_by_dtype;
  j["peak_activation_bytes"] = s.peak_activation_bytes;
  j["peak_at"] = s.peak_at;
  j["sparsity"] = s.sparsity;
  j["quantized_share"] = s.quantized_share;
  j["ops"] = s.ops;
  j["opset"] = model.opset("");
  nlohmann::json nodes = nlohmann::json::array();
  for (const NodeStats& n : s.nodes)
    nodes.push_back({{"name", n.name},
                     {"op", n.op_type},
                     {"inputs", shapes_json(n.input_shapes, n.input_known)},
                     {"outputs", shapes_json(n.output_shapes, n.output_known)},
                     {"params", n.params},
                     {"macs", n.macs},
                     {"weight_bytes", n.weight_bytes},
                     {"live_bytes", n.live_bytes},
                     {"quantized", n.quantized}});
  j["nodes"] = nodes;
  if (arena) {
    j["arena_bytes"] = arena->bytes >= 0 ? nlohmann::json(arena->bytes) : nlohmann::json(nullptr);
    if (arena->bytes >= 0) {
      j["arena_providers"] = arena->providers;
      j["arena_threads"] = arena->threads;
    } else {
      j["arena_unplanned"] = arena->why;
    }
  }
  return j;
}

nlohmann::json bench_json(const BenchResult& r, int warmup, int threads, bool profile) {
  const LatencyStats& l = r.latency;
  nlohmann::json j = {{"model", r.model},
                      {"batch", r.batch},
                      {"runs", l.runs},
                      {"warmup", warmup},
                      {"threads", threads},
                      {"load_ms", r.load_ms},
                      {"first_ms", r.first_ms},
                      {"mean_ms", l.mean_ms},
                      {"std_ms", l.std_ms},
                      {"min_ms", l.min_ms},
                      {"max_ms", l.max_ms},
                      {"p50_ms", l.p50_ms},
                      {"p90_ms", l.p90_ms},
                      {"p95_ms", l.p95_ms},
                      {"p99_ms", l.p99_ms},
                      {"throughput_ips", r.throughput_ips},
                      {"peak_rss_bytes", r.peak_rss_bytes},
                      {"arena_bytes", r.arena_bytes},
                      {"weight_bytes", r.weight_bytes},
                      {"file_bytes", r.file_bytes}};
  if (profile) {
    nlohmann::json p = nlohmann::json::array();
    for (const NodeProfile& n : r.profile)
      p.push_back({{"node", n.node},
                   {"op", n.op_type},
                   {"provider", n.provider},
                   {"total_ms", n.total_ms},
                   {"calls", n.calls}});
    j["profile"] = p;
  }
  return j;
}

BenchResult bench_from_json(const nlohmann::json& j) {
  BenchResult r;
  r.model = j.at("model").get<std::string>();
  r.batch = j.at("batch").get<int64_t>();
  LatencyStats& l = r.latency;
  l.runs = j.at("runs").get<int64_t>();
  l.mean_ms = j.at("mean_ms").get<double>();
  l.std_ms = j.at("std_ms").get<double>();
  l.min_ms = j.at("min_ms").get<double>();
  l.max_ms = j.at("max_ms").get<double>();
  l.p50_ms = j.at("p50_ms").get<double>();
  l.p90_ms = j.at("p90_ms").get<double>();
  l.p95_ms = j.at("p95_ms").get<double>();
  l.p99_ms = j.at("p99_ms").get<double>();
  r.load_ms = j.at("load_ms").get<double>();
  r.first_ms = j.at("first_ms").get<double>();
  r.throughput_ips = j.at("throughput_ips").get<double>();
  r.peak_rss_bytes = j.at("peak_rss_bytes").get<int64_t>();
  r.arena_bytes = j.at("arena_bytes").get<int64_t>();
  r.weight_bytes = j.at("weight_bytes").get<int64_t>();
  r.file_bytes = j.at("file_bytes").get<int64_t>();
  if (j.contains("profile"))
    for (const auto& n : j.at("profile"))
      r.profile.push_back({n.at("node").get<std::string>(), n.at("op").get<std::string>(),
                           n.at("provider").get<std::string>(), n.at("total_ms").get<double>(),
                           n.at("calls").get<int64_t>()});
  return r;
}

nlohmann::json pass_report_json(const std::string& model_path, const std::string& out_path,
                                const PassReport& r) {
  nlohmann::json j;
  j["model"] = model_path;
  j["output"] = out_path;
  j["rounds"] = r.rounds;
  j["converged"] = r.converged;
  j["nodes_before"] = r.nodes_before;
  j["nodes_after"] = r.nodes_after;
  j["initializers_before"] = r.initializers_before;
  j["initializers_after"] = r.initializers_after;
  nlohmann::json passes = nlohmann::json::array();
  for (const PassStats& p : r.passes)
    passes.push_back({{"name", p.name},
                      {"runs", p.runs},
                      {"changed_rounds", p.changed_rounds},
                      {"nodes_removed", p.nodes_removed},
                      {"initializers_removed", p.initializers_removed},
                      {"ms", p.ms}});
  j["passes"] = passes;
  return j;
}

nlohmann::json quantize_json(const std::string& model_path, const std::string& out_path,
                             const QuantizeOptions& o, const QuantizeReport& r, int64_t bytes_in,
                             int64_t bytes_out) {
  nlohmann::json j;
  j["model"] = model_path;
  j["output"] = out_path;
  j["mode"] = r.mode;
  if (o.mode == QuantMode::kStatic) {
    j["format"] = r.format;
    j["method"] = r.method;
    j["calibration_samples"] = r.calib_samples;
    j["calibrated_tensors"] = r.calibrated_tensors;
    j["per_channel"] = o.per_channel;
    j["activations"] = o.activations == DType::kI8 ? "int8" : "uint8";
    j["cle_pairs"] = r.cle_pairs;
    j["bias_corrected"] = r.bias_corrected;
  }
  if (o.mode != QuantMode::kFp16) j["weight_bits"] = o.reduce_range ? 7 : 8;
  j["quantized_nodes"] = r.quantized_nodes;
  j["peak_rss_bytes"] = peak_rss_bytes();
  j["bytes_in"] = bytes_in;
  j["bytes_out"] = bytes_out;
  j["size_ratio"] = double(bytes_out) / double(bytes_in);
  if (r.guard) {
    j["top1_fp32"] = r.top1_fp32;
    j["top1_quantized"] = r.top1_quant;
    j["eval_count"] = r.eval_count;
    j["max_drop_pp"] = o.max_drop_pp;
    j["target_met"] = r.target_met;
    j["fallback"] = r.fallback;
  }
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerSqnr& l : r.layers)
    layers.push_back({{"node", l.node},
                      {"op", l.op_type},
                      {"output", l.output},
                      {"sqnr_db", json_number(l.sqnr_db)},
                      {"fp32", l.fp32}});
  if (!r.layers.empty()) j["layers"] = layers;
  return j;
}

nlohmann::json unstructured_prune_json(const std::string& model_path, const std::string& out_path,
                                       const PruneReport& r, const ModelStats& before,
                                       const ModelStats& after) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerSparsity& l : r.layers)
    layers.push_back({{"node", l.node},
                      {"op", l.op_type},
                      {"tensor", l.tensor},
                      {"shape", l.shape},
                      {"numel", l.numel},
                      {"zeros", l.zeros},
                      {"sparsity", l.numel ? static_cast<double>(l.zeros) / l.numel : 0.0},
                      {"skipped", l.skipped}});
  return {{"model", model_path},
          {"output", out_path},
          {"layers", layers},
          {"pruned_sparsity", r.numel ? static_cast<double>(r.zeros) / r.numel : 0.0},
          {"before", model_size_json(before)},
          {"after", model_size_json(after)}};
}

nlohmann::json structured_prune_json(const std::string& model_path, const std::string& out_path,
                                     const StructuredPruneReport& r, const ModelStats& before,
                                     const ModelStats& after) {
  nlohmann::json groups = nlohmann::json::array();
  for (const ChannelGroup& g : r.groups)
    groups.push_back({{"producers", g.producers},
                      {"channels", g.channels},
                      {"kept", g.kept},
                      {"blocked", g.blocked}});
  return {{"model", model_path},
          {"output", out_path},
          {"groups", groups},
          {"folded_bn", r.folded_bn},
          {"before", model_size_json(before)},
          {"after", model_size_json(after)}};
}

nlohmann::json lowrank_json(const std::string& model_path, const std::string& out_path,
                            const LowRankReport& r, const ModelStats& before,
                            const ModelStats& after) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LowRankLayer& l : r.layers)
    layers.push_back({{"node", l.node},
                      {"op", l.op_type},
                      {"rows", l.rows},
                      {"cols", l.cols},
                      {"rank", l.rank},
                      {"full_rank", l.full_rank},
                      {"macs_before", l.macs_before},
                      {"macs_after", l.macs_after},
                      {"rel_error", l.rel_error},
                      {"applied", l.applied},
                      {"skipped", l.skipped}});
  return {
      {"model", model_path},         {"output", out_path},       {"layers", layers},
      {"macs_before", before.macs},  {"macs_after", after.macs}, {"params_before", before.params},
      {"params_after", after.params}};
}

nlohmann::json eval_json(const std::string& model_path, const std::string& data_spec,
                         const std::string& reference_path, const EvalResult& r) {
  const ClassificationMetrics& m = r.metrics;
  nlohmann::json j;
  j["model"] = model_path;
  j["data"] = data_spec;
  j["batch"] = r.batch;
  j["count"] = m.count;
  j["top1"] = m.top1();
  j["top5"] = m.top5();
  nlohmann::json per = nlohmann::json::array();
  for (size_t c = 0; c < r.class_names.size(); ++c)
    per.push_back({{"label", c},
                   {"name", r.class_names[c]},
                   {"count", m.class_count(static_cast<int64_t>(c))},
                   {"accuracy", m.class_accuracy(static_cast<int64_t>(c))}});
  j["per_class"] = per;
  j["confusion"] = m.confusion;
  if (r.fidelity) {
    j["reference"] = reference_path;
    j["agreement"] = r.fidelity->agreement;
    j["cosine"] = r.fidelity->cosine;
    j["sqnr_db"] = json_number(r.fidelity->sqnr_db);
  }
  return j;
}

}  // namespace edgeopt
