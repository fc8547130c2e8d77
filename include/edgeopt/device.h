// Device profiles and what a model costs on a device that is not this machine.
//
// A profile (JSON, bundled under devices/ or a user's own file) says what a device is (its
// architecture, cores, RAM, storage limit), how fast it runs each class of work relative to this
// host, and how much power it draws. Every number carries its source in the file. Latency on a
// device is estimated from the per-node profile measured here, scaled per node class; energy is
// latency × power. Figures on the "host" profile are measured, never estimated.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "edgeopt/bench.h"

namespace edgeopt {

struct DeviceProfile {
  std::string name;  // "raspberry-pi-4"; "host" is this machine
  std::string description;
  std::string arch;  // "aarch64" or "x86_64"
  int cores = 1;
  int64_t ram_bytes = 0;      // RAM an app may use
  int64_t storage_bytes = 0;  // storage or app-size limit for the model
  bool host = false;          // everything measured on this machine
  bool dotprod = false;       // ARM dot-product instructions (sdot/udot)
  // Time on the device = time here / speed, per node class (see node_class()).
  std::map<std::string, double> relative_speed;
  double active_watts = 0;  // while inferring
  double idle_watts = 0;
  nlohmann::json sources;  // for each number, where it comes from
  // Amdahl's parallel fraction p: n threads run 1 / ((1 - p) + p / n) times faster than one.
  double parallel_fraction = 1.0;
  nlohmann::json relative_to;  // the host the speeds were derived on ({"cpu": ...})
};

// A bundled profile by name, or a JSON file in the same format. Throws Error (invalid input)
// naming the file and the field for a missing, unknown or out-of-range value.
DeviceProfile load_device_profile(const std::string& name_or_path);
std::vector<std::string> bundled_device_profiles();

// The class a profiled node's time scales with on another device: "conv_f32", "conv_int8",
// "matmul_f32", "matmul_int8" or "memory" (everything else: element-wise, pooling, data
// movement).
std::string node_class(const NodeProfile& node);

// Host milliseconds per run spent in each node class (the per-node profile of `host`).
std::map<std::string, double> class_times_ms(const BenchResult& host);

struct DeviceEstimate {
  double p50_ms = 0, p95_ms = 0;
  double peak_ram_mb = 0;
  double energy_mj = 0;           // per inference
  bool latency_measured = false;  // true on the host profile only
  bool energy_measured = false;   // host with RAPL counters
  std::string basis;              // one line: what the figures rest on
};

// This host's speed on two fixed workloads run by edgeopt's runtime: a 3×3 convolution, 64
// channels in and out on 56×56, followed by a Relu, in fp32 and as the QDQ int8 pattern
// `edgeopt quantize` writes; the fastest of 100 runs at one thread. A profile's
// relative_to.calibration_ms holds the same figures of the host its speeds were derived on, and
// estimate_on_device scales the speeds by the ratio (int8 classes by conv_int8, the others by
// conv_f32), so that a profile derived on one host applies on another.
struct HostCalibration {
  double conv_f32_ms = 0, conv_int8_ms = 0;
  std::vector<NodeProfile> conv_f32_profile, conv_int8_profile;  // per-node: what ran where
};
HostCalibration measure_host_calibration();
const HostCalibration& host_calibration();  // measured once per process

// `host` is a bench_model result with SessionOptions::profile set (per-node times).
DeviceEstimate estimate_on_device(const DeviceProfile& device, const BenchResult& host,
                                  int threads);

// Hours a battery of `mah` at `volts` lasts at `rate_hz` inferences per second (idle between).
double battery_hours(const DeviceProfile& device, double energy_mj, double mah, double volts,
                     double rate_hz);

}  // namespace edgeopt
