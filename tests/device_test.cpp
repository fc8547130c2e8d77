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
#include <set>

#include "cli_run.h"
#include "edgeopt/bench.h"
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
  EXPECT_FALSE(e.energy_measured);  // no RAPL counters here
  EXPECT_EQ(e.p50_ms, r.latency.p50_ms);
  EXPECT_EQ(e.p95_ms, r.latency.p95_ms);
  EXPECT_EQ(e.peak_ram_mb, double(r.peak_rss_bytes) / (1024.0 * 1024.0));
  EXPECT_DOUBLE_EQ(e.energy_mj, r.latency.p50_ms * host.active_watts);
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

// The held-out check: estimates from this host's per-node profile against ncnn's published Pi 4
// times (one thread). The profile never saw these networks (its speeds come from GoogLeNet and
// SqueezeNet 1.1); agreement within a factor of 2 is what docs/fit_devices.md states for the
// dense fp32 CNNs it was checked on.
//
// This host is shared by several builds, which stretch any time measured here by 2-3x at
// times. So the host time is normalized to the host the profile was derived on: SqueezeNet 1.1,
// whose time there the profile records (relative_to.host_min_ms_1_thread), is benchmarked
// alongside in each round, and its slowdown divides the model's time; the median over rounds
// is kept. The device/host factor applied is the estimator's own.
double pi4_estimate(const std::string& fixture) {
  const fs::path dir = fs::path(EDGEOPT_BINARY_DIR) / "fixtures";
  const fs::path model = dir / (fixture + ".onnx"), calib = dir / "squeezenet1_1_op13.onnx";
  if (!fs::exists(model) || !fs::exists(calib)) return -1;
  const DeviceProfile pi4 = load_device_profile("raspberry-pi-4");
  const double calib_ref_ms = pi4.relative_to["host_min_ms_1_thread"]["squeezenet"].get<double>();
  std::vector<double> estimates;
  for (int round = 0; round < 5; ++round) {
    const double slowdown = bench_profiled(calib, 10).latency.min_ms / calib_ref_ms;
    const BenchResult r = bench_profiled(model, 10);
    const DeviceEstimate e = estimate_on_device(pi4, r, 1);
    EXPECT_FALSE(e.latency_measured);
    EXPECT_NE(e.basis.find("estimated"), std::string::npos) << e.basis;
    EXPECT_DOUBLE_EQ(e.energy_mj, e.p50_ms * pi4.active_watts);
    const double factor = e.p50_ms / r.latency.p50_ms;
    EXPECT_DOUBLE_EQ(e.p95_ms, r.latency.p95_ms * factor);
    estimates.push_back(factor * r.latency.min_ms / slowdown);
    std::printf("%s: host %.2f ms, slowdown %.2f, Pi 4 estimate %.1f ms (%s)\n", fixture.c_str(),
                r.latency.min_ms, slowdown, estimates.back(), e.basis.c_str());
  }
  std::sort(estimates.begin(), estimates.end());
  return estimates[estimates.size() / 2];
}

TEST(DeviceEstimate, RaspberryPi4ResNet18WithinAFactorOfTwoOfNcnn) {
  const double ms = pi4_estimate("resnet18_op13");
  if (ms < 0) GTEST_SKIP() << "resnet18_op13.onnx fixture is missing";
  const double published = 191.10;  // ncnn resnet18, Pi 4 (1.8 GHz), 1 thread
  EXPECT_GT(ms, published / 2) << "estimate " << ms << " ms";
  EXPECT_LT(ms, published * 2) << "estimate " << ms << " ms";
}

// MobileNetV2's depthwise convolutions are memory-bound work that oneDNN does relatively faster
// on this host than ncnn on a Cortex-A72, and a node profile cannot tell them from dense convs:
// the estimate runs fast, hence the wider bound (docs/fit_devices.md).
TEST(DeviceEstimate, RaspberryPi4MobileNetV2WithinAFactorOf2_5OfNcnn) {
  const double ms = pi4_estimate("mobilenet_v2_op13");
  if (ms < 0) GTEST_SKIP() << "mobilenet_v2_op13.onnx fixture is missing";
  const double published = 93.48;  // ncnn mobilenet_v2, Pi 4 (1.8 GHz), 1 thread
  EXPECT_GT(ms, published / 2.5) << "estimate " << ms << " ms";
  EXPECT_LT(ms, published * 2) << "estimate " << ms << " ms";
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
