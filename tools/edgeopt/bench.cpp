// edgeopt bench MODEL [MODEL2] [--threads N] [--warmup W] [--runs R] [--batch B] [--json]
//                     [--provider P] [--profile] [--shape NAME:DIMS]... [--input FILE]...
//                     [--device PROFILE]
#include "edgeopt/bench.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli_checks.h"
#include "command.h"
#include "edgeopt/device.h"
#include "edgeopt/error.h"
#include "edgeopt/report_json.h"
#include "format.h"
#include "input_files.h"
#include "session_options.h"
#include "shape_option.h"

namespace edgeopt::cli {
namespace {

struct BenchArgs {
  std::vector<std::string> models, shapes, inputs;
  std::string provider, device;
  int threads = 1, warmup = 5, runs = 50;
  int64_t batch = 1;
  bool json = false, profile = false;
};

// One row of the report: label, JSON key, value getter, whether it is a byte count.
struct Metric {
  const char* label;
  const char* key;
  double (*get)(const BenchResult&);
  bool bytes;
};

const std::vector<Metric>& metrics() {
  static const std::vector<Metric> m = {
      {"load", "load_ms", [](const BenchResult& r) { return r.load_ms; }, false},
      {"first run", "first_ms", [](const BenchResult& r) { return r.first_ms; }, false},
      {"mean", "mean_ms", [](const BenchResult& r) { return r.latency.mean_ms; }, false},
      {"std", "std_ms", [](const BenchResult& r) { return r.latency.std_ms; }, false},
      {"min", "min_ms", [](const BenchResult& r) { return r.latency.min_ms; }, false},
      {"p50", "p50_ms", [](const BenchResult& r) { return r.latency.p50_ms; }, false},
      {"p90", "p90_ms", [](const BenchResult& r) { return r.latency.p90_ms; }, false},
      {"p95", "p95_ms", [](const BenchResult& r) { return r.latency.p95_ms; }, false},
      {"p99", "p99_ms", [](const BenchResult& r) { return r.latency.p99_ms; }, false},
      {"throughput", "throughput_ips", [](const BenchResult& r) { return r.throughput_ips; },
       false},
      {"peak RSS", "peak_rss_bytes", [](const BenchResult& r) { return double(r.peak_rss_bytes); },
       true},
      {"arena", "arena_bytes", [](const BenchResult& r) { return double(r.arena_bytes); }, true},
      {"weights", "weight_bytes", [](const BenchResult& r) { return double(r.weight_bytes); },
       true},
      {"file", "file_bytes", [](const BenchResult& r) { return double(r.file_bytes); }, true},
  };
  return m;
}

std::string cell(const Metric& m, const BenchResult& r) {
  const double v = m.get(r);
  if (m.bytes) return human_bytes(v);
  char buf[48];
  if (std::string(m.key) == "throughput_ips")
    std::snprintf(buf, sizeof buf, "%.1f inf/s", v);
  else
    std::snprintf(buf, sizeof buf, "%.3f ms", v);
  return buf;
}

nlohmann::json device_json(const DeviceProfile& d, const BenchResult& r, int threads) {
  const DeviceEstimate e = estimate_on_device(d, r, threads);
  nlohmann::json classes;
  for (const auto& [cls, ms] : class_times_ms(r)) classes[cls] = ms;
  return {{"name", d.name},
          {"p50_ms", e.p50_ms},
          {"p95_ms", e.p95_ms},
          {"peak_ram_mb", e.peak_ram_mb},
          {"energy_mj", e.energy_mj},
          {"latency", e.latency_measured ? "measured" : "estimated"},
          {"energy", e.energy_measured ? "measured" : "estimated"},
          {"basis", e.basis},
          {"host_class_ms", classes},
          {"host_calibration_ms",
           {{"conv_f32", host_calibration().conv_f32_ms},
            {"conv_int8", host_calibration().conv_int8_ms}}}};
}

void print_device(const DeviceProfile& d, const BenchResult& r, int threads) {
  const DeviceEstimate e = estimate_on_device(d, r, threads);
  const char* lat = e.latency_measured ? "measured" : "estimated";
  std::printf("\non %s (%s):\n", d.name.c_str(), lat);
  std::printf("  %-10s %.3f ms (%s)\n", "p50", e.p50_ms, lat);
  std::printf("  %-10s %.3f ms (%s)\n", "p95", e.p95_ms, lat);
  std::printf("  %-10s %.1f MiB (host peak RSS; same runtime and arena)\n", "peak RAM",
              e.peak_ram_mb);
  std::printf("  %-10s %.2f mJ per inference (%s)\n", "energy", e.energy_mj,
              e.energy_measured ? "measured" : "estimated");
  std::printf("  %-10s %s\n", "basis", e.basis.c_str());
}

nlohmann::json to_json(const BenchResult& r, const BenchArgs& a,
                       const std::optional<DeviceProfile>& device) {
  nlohmann::json j = bench_json(r, a.warmup, a.threads, a.profile);
  if (device) j["device"] = device_json(*device, r, a.threads);
  return j;
}

void print_profile(const BenchResult& r) {
  std::vector<NodeProfile> p = r.profile;
  std::stable_sort(p.begin(), p.end(), [](const NodeProfile& a, const NodeProfile& b) {
    return a.total_ms > b.total_ms;
  });
  double total = 0;
  for (const NodeProfile& n : p) total += n.total_ms;
  std::printf("\nprofile of %s (%lld measured runs):\n", r.model.c_str(),
              static_cast<long long>(r.latency.runs));
  std::printf("  %-32s %-18s %-10s %12s %12s %7s\n", "node", "op", "provider", "total ms", "ms/run",
              "share");
  for (const NodeProfile& n : p) {
    // The end of a long name says most (a subgraph's nodes: "If_0/then_branch/.../LSTM").
    const std::string name =
        n.node.size() > 31 ? "..." + n.node.substr(n.node.size() - 28) : n.node;
    std::printf("  %-32s %-18s %-10s %12.3f %12.4f %6.1f%%\n", name.c_str(), n.op_type.c_str(),
                n.provider.c_str(), n.total_ms,
                r.latency.runs ? n.total_ms / double(r.latency.runs) : 0.0,
                total > 0 ? 100.0 * n.total_ms / total : 0.0);
  }
}

int run_bench(const BenchArgs& a) {
  if (a.models.size() > 2) fail_input("bench takes one or two models, got ", a.models.size());
  // Load the profile first: a bad one is reported before minutes of benchmarking.
  std::optional<DeviceProfile> device;
  if (!a.device.empty()) device = load_device_profile(a.device);
  SessionOptions so = session_options(a.provider, a.threads);
  so.profile = a.profile || device;  // the estimate scales the per-node times
  std::vector<BenchResult> results;
  for (const std::string& m : a.models) {
    BenchOptions bo;
    bo.warmup = a.warmup;
    bo.runs = a.runs;
    bo.batch = a.batch;
    for (const std::string& s : a.shapes) bo.shapes.push_back(parse_input_shape(s));
    bo.progress = terminal_progress("bench " + m);
    if (!a.inputs.empty())
      bo.given_inputs = [&a](const std::vector<std::string>& names) {
        return read_input_files(names, a.inputs, /*all_required=*/false);
      };
    results.push_back(bench_model(m, so, bo));
  }
  if (a.json) {
    if (results.size() == 1) {
      std::cout << to_json(results[0], a, device).dump(2) << "\n";
    } else {
      nlohmann::json j;
      j["models"] = {to_json(results[0], a, device), to_json(results[1], a, device)};
      nlohmann::json ratio;
      for (const Metric& m : metrics()) {
        const double x = m.get(results[0]), y = m.get(results[1]);
        ratio[m.key] = x != 0 ? nlohmann::json(y / x) : nlohmann::json(nullptr);
      }
      j["ratio_b_over_a"] = ratio;
      std::cout << j.dump(2) << "\n";
    }
    return 0;
  }
  std::printf("threads %d, batch %lld, %d warm-up + %d measured runs\n", a.threads,
              static_cast<long long>(results[0].batch), a.warmup, a.runs);
  if (results.size() == 1) {
    std::printf("model        %s\n", results[0].model.c_str());
    for (const Metric& m : metrics())
      std::printf("%-12s %s\n", m.label, cell(m, results[0]).c_str());
  } else {
    std::printf("A = %s\nB = %s\n\n", results[0].model.c_str(), results[1].model.c_str());
    std::printf("%-12s %16s %16s %9s\n", "", "A", "B", "B/A");
    for (const Metric& m : metrics()) {
      const double x = m.get(results[0]), y = m.get(results[1]);
      char ratio[24] = "-";
      if (x != 0) std::snprintf(ratio, sizeof ratio, "%.3f", y / x);
      std::printf("%-12s %16s %16s %9s\n", m.label, cell(m, results[0]).c_str(),
                  cell(m, results[1]).c_str(), ratio);
    }
  }
  if (a.profile)
    for (const BenchResult& r : results) print_profile(r);
  if (device)
    for (const BenchResult& r : results) {
      if (results.size() > 1) std::printf("\n%s", r.model.c_str());
      print_device(*device, r, a.threads);
    }
  return 0;
}

CommandRegistrar reg(
    50, "bench", "Latency (mean, percentiles), throughput, memory and size of one or two models",
    [](CLI::App& sub) {
      auto a = std::make_shared<BenchArgs>();
      sub.add_option("models", a->models, "ONNX model, and optionally a second to compare")
          ->required()
          ->expected(1, 2);
      sub.add_option("--threads", a->threads, "Threads")->check(edgeopt::cli::whole(1, 1024));
      sub.add_option("--warmup", a->warmup, "Warm-up runs after the first (not measured)")
          ->check(edgeopt::cli::non_negative_int());
      sub.add_option("--runs", a->runs, "Measured runs")->check(edgeopt::cli::positive_int());
      sub.add_option("--batch", a->batch, "Batch size for a symbolic leading input dim")
          ->check(edgeopt::cli::positive_int());
      add_shape_option(sub, a->shapes);
      sub.add_option("--input,-i", a->inputs,
                     "Time on this data, not random data: x.npy (by position), NAME=x.npy, or "
                     "an .npz of named arrays; inputs not given are random")
          ->allow_extra_args(false);
      sub.add_flag("--json", a->json, "Print one JSON object");
      sub.add_option("--provider", a->provider,
                     "Providers, comma-separated, best first; reference runs the rest");
      sub.add_flag("--profile", a->profile, "Per-node time and provider");
      sub.add_option("--device", a->device,
                     "Also estimate latency, RAM and energy on a device profile (a bundled "
                     "name, e.g. raspberry-pi-4, or a .json file; docs/fit_devices.md)");
      return [a] { return run_bench(*a); };
    });

}  // namespace
}  // namespace edgeopt::cli
