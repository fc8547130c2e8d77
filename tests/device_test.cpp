// Device profiles (devices/*.json) and the estimates on them (src/search/device.cpp).
//
// The check of the method: the Raspberry Pi 4 profile's speeds are derived from GoogLeNet and
// SqueezeNet 1.1 (scripts/device_speeds.py); ResNet-18 and MobileNetV2 are held out, and their
// estimates are compared here with ncnn's published Pi 4 figures (benchmark/README.md of
// Tencent/ncnn, "Raspberry Pi 4 Model B ... (1.8GHz x 4)", benchncnn, one thread).
#include "edgeopt/device.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "bench/rapl.h"
#include "cli_run.h"
#include "edgeopt/bench.h"
#include "edgeopt/data.h"
#include "edgeopt/error.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kBundled = {
    "arm64-phone-midrange", "host",       "jetson-nano", "raspberry-pi-4", "raspberry-pi-5",
    "raspberry-pi-zero-2",  "x86-mini-pc"};

fs::path scratch_dir() {
  const fs::path d =
      fs::temp_directory_path() / ("edgeopt_device_test_" + std::to_string(getpid()));
  fs::create_directories(d);
  return d;
}

BenchResult bench_profiled(const fs::path& model, int runs) {
  SessionOptions so;
  so.profile = true;
  so.threads = 1;
  BenchOptions bo;
  bo.warmup = 2;
  bo.runs = runs;
  return bench_model(model, so, bo);
}

TEST(DeviceProfile, EveryBundledProfileLoadsAndCarriesItsSources) {
  std::vector<std::string> names = bundled_device_profiles();
  EXPECT_EQ(names, kBundled);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const DeviceProfile d = load_device_profile(name);
    EXPECT_EQ(d.name, name);
    EXPECT_GE(d.cores, 1);
    EXPECT_GT(d.ram_bytes, 0);
    EXPECT_GT(d.storage_bytes, 0);
    EXPECT_GT(d.active_watts, 0);
    EXPECT_LE(d.idle_watts, d.active_watts);
    EXPECT_GE(d.parallel_fraction, 0);
    EXPECT_LE(d.parallel_fraction, 1);
    for (const char* cls : {"conv_f32", "conv_int8", "matmul_f32", "matmul_int8", "memory"})
      EXPECT_GT(d.relative_speed.at(cls), 0) << cls;
    for (const char* key : {"active_watts", "idle_watts", "parallel_fraction"})
      EXPECT_TRUE(d.sources.contains(key)) << key;
    EXPECT_EQ(d.host, name == "host");
    if (d.host) {
      for (const auto& [cls, s] : d.relative_speed) EXPECT_EQ(s, 1.0) << cls;
    } else {
      EXPECT_TRUE(d.sources.contains("relative_speed"));
      EXPECT_TRUE(d.relative_to.contains("cpu"));
      // Every device here is slower than a server core at one thread.
      EXPECT_LT(d.relative_speed.at("conv_f32"), 1.0);
    }
  }
}

// One bad profile per case: the error is invalid input and names the file and the field.
TEST(DeviceProfile, BadFilesNameTheFileAndTheField) {
  std::ifstream in(fs::path(EDGEOPT_SOURCE_DIR) / "devices" / "raspberry-pi-4.json");
  const nlohmann::json good = nlohmann::json::parse(in);
  struct Case {
    std::string field;
    std::function<void(nlohmann::json&)> edit;
  };
  const std::vector<Case> cases = {
      {"cores", [](nlohmann::json& j) { j.erase("cores"); }},
      {"cores", [](nlohmann::json& j) { j["cores"] = 2.5; }},
      {"ram_mb", [](nlohmann::json& j) { j["ram_mb"] = -1; }},
      {"relative_speed.conv_f32", [](nlohmann::json& j) { j["relative_speed"].erase("conv_f32"); }},
      {"relative_speed.conv_f32", [](nlohmann::json& j) { j["relative_speed"]["conv_f32"] = 0; }},
      {"relative_speed.gemm", [](nlohmann::json& j) { j["relative_speed"]["gemm"] = 1; }},
      {"relative_speed.conv_int8_dotprod", [](nlohmann::json& j) { j["dotprod"] = true; }},
      {"sources.idle_watts", [](nlohmann::json& j) { j["sources"].erase("idle_watts"); }},
      {"idle_watts", [](nlohmann::json& j) { j["idle_watts"] = 100; }},
      {"arch", [](nlohmann::json& j) { j["arch"] = "mips"; }},
      {"relative_to", [](nlohmann::json& j) { j.erase("relative_to"); }},
      {"colour", [](nlohmann::json& j) { j["colour"] = "red"; }},
      {"name", [](nlohmann::json& j) { j["name"] = 3; }},
  };
  const fs::path dir = scratch_dir();
  for (const Case& c : cases) {
    nlohmann::json j = good;
    c.edit(j);
    const fs::path p = dir / "bad.json";
    std::ofstream(p) << j.dump();
    try {
      load_device_profile(p.string());
      ADD_FAILURE() << "accepted a profile with a bad " << c.field;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
      const std::string msg = e.what();
      EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
      EXPECT_NE(msg.find("\"" + c.field + "\""), std::string::npos) << msg;
    }
  }
  std::ofstream(dir / "broken.json") << "{\"name\": ";
  EXPECT_THROW(load_device_profile((dir / "broken.json").string()), Error);
  EXPECT_THROW(load_device_profile("no-such-device"), Error);
  fs::remove_all(dir);
}

TEST(DeviceProfile, NodeClassOfAnFp32Model) {
  const BenchResult r =
      bench_profiled(fs::path(EDGEOPT_SOURCE_DIR) / "models" / "fashion_resnet8.onnx", 3);
  ASSERT_FALSE(r.profile.empty());
  std::set<std::string> classes;
  for (const NodeProfile& n : r.profile) {
    classes.insert(node_class(n));
    if (n.op_type == "Conv") {
      EXPECT_EQ(node_class(n), "conv_f32");
    } else if (n.op_type == "Gemm" || n.op_type == "MatMul") {
      EXPECT_EQ(node_class(n), "matmul_f32");
    }
  }
  EXPECT_TRUE(classes.count("conv_f32"));
  EXPECT_FALSE(classes.count("conv_int8"));
  // Convolutions are most of a ResNet's time.
  const std::map<std::string, double> t = class_times_ms(r);
  double total = 0;
  for (const auto& [c, ms] : t) total += ms;
  EXPECT_GT(t.at("conv_f32"), 0.5 * total);
}

// An int8 model (PyTorch FX post-training quantization, QDQ): the fast provider runs its convs as
// int8 kernels and reports them under their fused names, which must count as int8 work.
TEST(DeviceProfile, NodeClassOfAnInt8Model) {
  const fs::path model = fs::path(EDGEOPT_BINARY_DIR) / "fixtures" / "resnet18_fxq_op13.onnx";
  if (!fs::exists(model)) GTEST_SKIP() << model << " is missing";
  const BenchResult r = bench_profiled(model, 2);
  int int8_convs = 0, fp32_convs = 0;
  for (const NodeProfile& n : r.profile) {
    const std::string c = node_class(n);
    int8_convs += c == "conv_int8";
    fp32_convs += c == "conv_f32";
  }
  EXPECT_EQ(int8_convs, 20);  // ResNet-18: 17 3x3/7x7 convs + 3 downsampling 1x1 convs
  EXPECT_EQ(fp32_convs, 0);
  const std::map<std::string, double> t = class_times_ms(r);
  double total = 0;
  for (const auto& [c, ms] : t) total += ms;
  EXPECT_GT(t.at("conv_int8"), 0.5 * total);
}

TEST(DeviceEstimate, HostProfileIsTheMeasurement) {
  const BenchResult r =
      bench_profiled(fs::path(EDGEOPT_SOURCE_DIR) / "models" / "fashion_resnet8.onnx", 5);
  const DeviceProfile host = load_device_profile("host");
  const DeviceEstimate e = estimate_on_device(host, r, 1);
  EXPECT_TRUE(e.latency_measured);
  EXPECT_EQ(e.p50_ms, r.latency.p50_ms);
  EXPECT_EQ(e.p95_ms, r.latency.p95_ms);
  EXPECT_EQ(e.peak_ram_mb, double(r.peak_rss_bytes) / (1024.0 * 1024.0));
  // Energy: measured where RAPL counters are readable (not on this project's VM), else p50 ×
  // the host's power figure.
  EXPECT_EQ(e.energy_measured, read_rapl().has_value());
  if (e.energy_measured) {
    EXPECT_EQ(e.energy_mj, r.energy_mj);
  } else {
    EXPECT_LT(r.energy_mj, 0);
    EXPECT_DOUBLE_EQ(e.energy_mj, r.latency.p50_ms * host.active_watts);
  }
}

TEST(DeviceEstimate, NeedsPerNodeTimes) {
  BenchResult r;
  r.model = "m.onnx";
  r.latency.p50_ms = 1;
  try {
    estimate_on_device(load_device_profile("raspberry-pi-4"), r, 1);
    ADD_FAILURE() << "estimated without a profile";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("m.onnx"), std::string::npos);
  }
}

// The held-out check: estimates against ncnn's published Pi 4 times (one thread). The profile
// never saw these networks (its speeds come from GoogLeNet and SqueezeNet 1.1); agreement within
// a factor of 2 is what docs/fit_devices.md states for the dense fp32 CNNs it was checked on.
//
// The estimate is the estimator's own device/host factor, from the node-class shares of a
// profile measured here now, applied to the network's time on the host the speeds were derived
// on (relative_to.host_min_ms_1_thread: measured there with the derivation networks, not used to
// derive anything). The profile's calibration is left out, so the speeds stay relative to that
// host (HostCalibration.ScalesTheEstimate checks the calibration). A time measured now would tie
// the check to the load of this shared machine, which stretches a 15 ms run by 2-3x at times.
double pi4_estimate(const std::string& fixture, const std::string& network) {
  const fs::path model = fs::path(EDGEOPT_BINARY_DIR) / "fixtures" / (fixture + ".onnx");
  if (!fs::exists(model)) return -1;
  std::ifstream in(fs::path(EDGEOPT_SOURCE_DIR) / "devices" / "raspberry-pi-4.json");
  nlohmann::json j = nlohmann::json::parse(in);
  const double host_ms = j["relative_to"]["host_min_ms_1_thread"][network].get<double>();
  j["relative_to"].erase("calibration_ms");
  const fs::path dir = scratch_dir();
  std::ofstream(dir / "pi4.json") << j.dump();
  const DeviceProfile pi4 = load_device_profile((dir / "pi4.json").string());
  fs::remove_all(dir);
  const BenchResult r = bench_profiled(model, 10);
  const DeviceEstimate e = estimate_on_device(pi4, r, 1);
  EXPECT_FALSE(e.latency_measured);
  EXPECT_NE(e.basis.find("estimated"), std::string::npos) << e.basis;
  EXPECT_DOUBLE_EQ(e.energy_mj, e.p50_ms * pi4.active_watts);
  const double factor = e.p50_ms / r.latency.p50_ms;
  EXPECT_DOUBLE_EQ(e.p95_ms, r.latency.p95_ms * factor);
  std::printf("%s: derivation host %.2f ms x factor %.2f = Pi 4 estimate %.1f ms (%s)\n",
              fixture.c_str(), host_ms, factor, host_ms * factor, e.basis.c_str());
  return host_ms * factor;
}

// The estimate for `network` within [published / below, published * 2] of ncnn's figure on a
// Pi 4 (1.8 GHz, 1 thread); skipped without the fixture.
void expect_near_ncnn(const std::string& network, double published, double below) {
  const double ms = pi4_estimate(network + "_op13", network);
  if (ms < 0) GTEST_SKIP() << network << "_op13.onnx fixture is missing";
  EXPECT_GT(ms, published / below) << "estimate " << ms << " ms";
  EXPECT_LT(ms, published * 2) << "estimate " << ms << " ms";
}

TEST(DeviceEstimate, RaspberryPi4ResNet18WithinAFactorOfTwoOfNcnn) {
  expect_near_ncnn("resnet18", 191.10, 2);  // ncnn resnet18
}

// MobileNetV2's depthwise convolutions are memory-bound work that oneDNN does relatively faster
// on this host than ncnn on a Cortex-A72, and a node profile cannot tell them from dense convs:
// the estimate runs fast, hence the wider bound (docs/fit_devices.md).
TEST(DeviceEstimate, RaspberryPi4MobileNetV2WithinAFactorOf2_5OfNcnn) {
  expect_near_ncnn("mobilenet_v2", 93.48, 2.5);  // ncnn mobilenet_v2
}

// A model quantized by `edgeopt quantize` (static QDQ): what bench --profile reports for it is
// the fused int8 kernels, and they count as int8 work.
TEST(DeviceProfile, NodeClassOfAModelFromEdgeoptQuantize) {
  if (!fs::exists(kFashionMnistDir)) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  const fs::path dir = scratch_dir();
  const std::string model = fs::path(EDGEOPT_SOURCE_DIR) / "models" / "fashion_resnet8.onnx";
  const fs::path int8 = dir / "resnet8_int8.onnx";
  const testing::CliResult q = testing::run_edgeopt(
      "quantize " + model + " -o " + int8.string() + " --calib fashion-mnist:train --samples 64",
      dir);
  ASSERT_EQ(q.exit_code, 0) << q.err;
  const BenchResult r = bench_profiled(int8, 3);
  int convs = 0, int8_convs = 0;
  for (const NodeProfile& n : r.profile) {
    convs += n.op_type == "Conv" || n.op_type == "QConv";
    int8_convs += node_class(n) == "conv_int8";
  }
  EXPECT_GT(convs, 0);
  EXPECT_EQ(int8_convs, convs);  // every conv ran as an int8 kernel and is classed so
  fs::remove_all(dir);
}

// Threads: both machines move from one thread by Amdahl's law, the device capped at its cores.
TEST(DeviceEstimate, ThreadsScaleByAmdahl) {
  const BenchResult r =
      bench_profiled(fs::path(EDGEOPT_SOURCE_DIR) / "models" / "fashion_resnet8.onnx", 3);
  std::ifstream in(fs::path(EDGEOPT_SOURCE_DIR) / "devices" / "raspberry-pi-4.json");
  nlohmann::json j = nlohmann::json::parse(in);
  j["parallel_fraction"] = 1.0;  // perfectly parallel: n threads, n times faster
  j["cores"] = 4;
  const fs::path dir = scratch_dir();
  std::ofstream(dir / "dev.json") << j.dump();
  const DeviceProfile dev = load_device_profile((dir / "dev.json").string());
  fs::remove_all(dir);
  const DeviceProfile host = load_device_profile("host");
  const double p = host.parallel_fraction;
  auto host_speedup = [&](int n) { return 1 / ((1 - p) + p / std::min(n, host.cores)); };
  const double one = estimate_on_device(dev, r, 1).p50_ms / r.latency.p50_ms;
  // The same host measurement read as taken at 4 threads: the device runs 4 threads, 4x faster
  // than one, and the host's 4-thread time was host_speedup(4) faster than its one-thread time.
  EXPECT_NEAR(estimate_on_device(dev, r, 4).p50_ms / r.latency.p50_ms, one * host_speedup(4) / 4,
              1e-9 * one);
  // 8 threads on a 4-core device: still 4.
  EXPECT_NEAR(estimate_on_device(dev, r, 8).p50_ms / r.latency.p50_ms, one * host_speedup(8) / 4,
              1e-9 * one);
}

TEST(DeviceEstimate, BatteryHours) {
  const DeviceProfile pi4 = load_device_profile("raspberry-pi-4");
  // 100 ms at 6.4 W = 640 mJ; at 1 inference/s the board infers 10% of the time:
  // 0.1 · 6.4 W + 0.9 · 2.7 W = 3.07 W from a 10 Ah, 5 V battery (50 Wh): 16.29 h.
  EXPECT_NEAR(battery_hours(pi4, 640, 10000, 5, 1), 50.0 / 3.07, 1e-9);
  // Idle all the time in the limit of a tiny model.
  EXPECT_NEAR(battery_hours(pi4, 1e-9, 10000, 5, 1), 50.0 / 2.7, 1e-6);
  EXPECT_THROW(battery_hours(pi4, 640, 10000, 5, 20), Error);  // 20 × 100 ms > 1 s
  EXPECT_THROW(battery_hours(pi4, 640, 0, 5, 1), Error);
}

// The calibration workloads run on the fast provider as the kernels models run on: the fp32
// conv as a Conv, the QDQ conv as one fused int8 QConv (no fp32 Conv left).
TEST(HostCalibration, RunsTheKernelsModelsRunOn) {
  const HostCalibration c = measure_host_calibration();
  EXPECT_GT(c.conv_f32_ms, 0);
  EXPECT_GT(c.conv_int8_ms, 0);
  auto count = [](const std::vector<NodeProfile>& p, const std::string& op) {
    int n = 0;
    for (const NodeProfile& x : p) n += x.op_type == op && x.provider != "reference";
    return n;
  };
  EXPECT_EQ(count(c.conv_f32_profile, "Conv"), 1);
#if defined(__x86_64__)
  EXPECT_EQ(count(c.conv_int8_profile, "QConv"), 1);
  EXPECT_EQ(count(c.conv_int8_profile, "Conv"), 0);
#endif
}

// A profile derived on a host twice as fast as this one (its calibration convs took half the
// time) credits the device with twice the speed relative to this host: the estimate halves.
TEST(HostCalibration, ScalesTheEstimate) {
  const BenchResult r =
      bench_profiled(fs::path(EDGEOPT_SOURCE_DIR) / "models" / "fashion_resnet8.onnx", 3);
  const fs::path dir = scratch_dir();
  std::ifstream in(fs::path(EDGEOPT_SOURCE_DIR) / "devices" / "raspberry-pi-4.json");
  nlohmann::json j = nlohmann::json::parse(in);
  const HostCalibration& here = host_calibration();
  j["relative_to"]["calibration_ms"] = {{"conv_f32", here.conv_f32_ms},
                                        {"conv_int8", here.conv_int8_ms}};
  std::ofstream(dir / "same.json") << j.dump();
  j["relative_to"]["calibration_ms"] = {{"conv_f32", here.conv_f32_ms / 2},
                                        {"conv_int8", here.conv_int8_ms / 2}};
  std::ofstream(dir / "faster.json") << j.dump();
  j["relative_to"].erase("calibration_ms");
  std::ofstream(dir / "none.json") << j.dump();
  const double same =
      estimate_on_device(load_device_profile((dir / "same.json").string()), r, 1).p50_ms;
  const double faster =
      estimate_on_device(load_device_profile((dir / "faster.json").string()), r, 1).p50_ms;
  const double none =
      estimate_on_device(load_device_profile((dir / "none.json").string()), r, 1).p50_ms;
  EXPECT_NEAR(same, none, 1e-9 * none);
  EXPECT_NEAR(faster, none / 2, 1e-9 * none);
  fs::remove_all(dir);
}

// A powercap tree as Linux lays it out: packages intel-rapl:N, their subzones intel-rapl:N:M
// (not counted again), counters in microjoules that wrap at max_energy_range_uj.
TEST(Rapl, ReadsPackagesAndUnwrapsTheCounter) {
  const fs::path root = scratch_dir() / "powercap";
  auto zone = [&](const std::string& name, uint64_t energy, uint64_t range) {
    fs::create_directories(root / name);
    std::ofstream(root / name / "energy_uj") << energy << "\n";
    std::ofstream(root / name / "max_energy_range_uj") << range << "\n";
  };
  EXPECT_FALSE(read_rapl(root.string()).has_value());  // no tree: no measurement
  zone("intel-rapl:0", 1000, 10000);
  zone("intel-rapl:0:0", 500, 10000);
  zone("intel-rapl:1", 9000, 10000);
  const std::optional<std::vector<RaplZone>> before = read_rapl(root.string());
  ASSERT_TRUE(before.has_value());
  ASSERT_EQ(before->size(), 2u);
  zone("intel-rapl:0", 4000, 10000);  // +3000 uJ
  zone("intel-rapl:1", 500, 10000);   // wrapped: +1000 + 500 uJ
  const std::optional<std::vector<RaplZone>> after = read_rapl(root.string());
  ASSERT_TRUE(after.has_value());
  EXPECT_DOUBLE_EQ(rapl_joules(*before, *after), 4500e-6);
  fs::remove(root / "intel-rapl:1" / "energy_uj");  // unreadable: no measurement
  EXPECT_FALSE(read_rapl(root.string()).has_value());
  fs::remove_all(root.parent_path());
}

TEST(DeviceCli, BenchWithDeviceAddsLabelledEstimates) {
  const fs::path dir = scratch_dir();
  const std::string model = (fs::path(EDGEOPT_SOURCE_DIR) / "models" / "fashion_resnet8.onnx");
  testing::CliResult r =
      testing::run_edgeopt("bench " + model + " --runs 3 --device raspberry-pi-4 --json", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.contains("device"));
  EXPECT_EQ(j["device"]["name"], "raspberry-pi-4");
  EXPECT_EQ(j["device"]["latency"], "estimated");
  EXPECT_GT(j["device"]["p50_ms"].get<double>(), j["p50_ms"].get<double>());
  EXPECT_FALSE(j.contains("profile"));  // per-node times only with --profile
  r = testing::run_edgeopt("bench " + model + " --runs 3 --device raspberry-pi-4", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("on raspberry-pi-4 (estimated)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("basis"), std::string::npos) << r.out;
  std::ofstream(dir / "bad.json") << "{\"name\": \"x\", \"sources\": {}}";
  r = testing::run_edgeopt("bench " + model + " --device " + (dir / "bad.json").string(), dir);
  EXPECT_TRUE(r.one_line_input_error()) << r.exit_code << " " << r.err;
  EXPECT_NE(r.err.find("bad.json"), std::string::npos) << r.err;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace edgeopt
