// Benchmarking: latency statistics of repeated Session::run, memory and sizes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "edgeopt/input_shapes.h"
#include "edgeopt/session.h"
#include "edgeopt/tensor.h"

namespace edgeopt {

// p-th percentile (0..100) of `sorted` (ascending) by linear interpolation between closest
// ranks, as numpy.percentile's default: rank = p/100 · (n − 1). Throws on an empty input.
double percentile(const std::vector<double>& sorted, double p);

struct LatencyStats {
  int64_t runs = 0;
  double total_ms = 0;
  double mean_ms = 0;
  double std_ms = 0;  // sample standard deviation (n − 1); 0 for one run
  double min_ms = 0, max_ms = 0;
  double p50_ms = 0, p90_ms = 0, p95_ms = 0, p99_ms = 0;
};

// Statistics of per-run latencies in milliseconds.
LatencyStats latency_stats(const std::vector<double>& samples_ms);

// Peak resident set size of this process (VmHWM of /proc/self/status), 0 if unavailable.
int64_t peak_rss_bytes();
// Resets the peak RSS to the current RSS (writes 5 to /proc/self/clear_refs); false if the
// kernel refuses, in which case peak_rss_bytes() covers the whole process lifetime.
bool reset_peak_rss();

// Deterministic inputs for a session: symbolic or unknown dims become `batch` for the first
// dim and 1 elsewhere (a static first dim is kept). Floats are uniform in [0, 1), integers 0,
// bools false.
std::vector<Tensor> random_inputs(const std::vector<ValueInfo>& inputs, int64_t batch,
                                  uint64_t seed = 0);

struct BenchOptions {
  int warmup = 5;  // runs after the first, not measured
  int runs = 50;   // measured runs
  int64_t batch = 1;
  // Input dims to fix (--shape); a symbolic input dim other than the batch must be fixed here.
  std::vector<InputShape> shapes;
  // Called after each warm-up and measured run with (done, warmup + runs).
  std::function<void(int64_t, int64_t)> progress;
  // Inputs to time on instead of random data (a model whose branches or indices depend on its
  // inputs): called once with the model's input names, returns tensors by name; inputs it
  // leaves out get random data. Their shapes fix the model's dims as `shapes` would.
  std::function<std::map<std::string, Tensor>(const std::vector<std::string>& input_names)>
      given_inputs;
};

struct BenchResult {
  std::string model;          // path
  int64_t batch = 1;          // samples per run (leading dim of the first input)
  double load_ms = 0;         // load_model + Session construction
  double first_ms = 0;        // first run (includes planning)
  LatencyStats latency;       // measured runs
  double throughput_ips = 0;  // batch · runs / total seconds
  int64_t peak_rss_bytes = 0;
  int64_t arena_bytes = 0;
  int64_t weight_bytes = 0;
  int64_t file_bytes = 0;  // model file plus its external data file, if any
  // Energy per run drawn by the CPU packages over the measured runs, from RAPL counters
  // (/sys/class/powercap); < 0 when the host has none or they are unreadable. The whole
  // package: other processes' work on a shared host counts too.
  double energy_mj = -1;
  std::vector<NodeProfile> profile;  // when SessionOptions::profile
};

// A progress callback drawing "label [#####.....] done/total" on stderr, or an empty function
// when stderr is not a terminal (logs and pipes get no bar).
std::function<void(int64_t, int64_t)> terminal_progress(const std::string& label);

// Loads the model, runs it once, warms up, then times `runs` runs of the same inputs.
// The peak RSS is reset first when the kernel allows it, so it covers this model only.
BenchResult bench_model(const std::filesystem::path& model, const SessionOptions& session,
                        const BenchOptions& options);

}  // namespace edgeopt
