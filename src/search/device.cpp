// Device profiles: loading and validating devices/*.json, the node classes, and the estimates.
//
// Latency on a device (docs/fit_devices.md):
//   share_c   = host time of the nodes of class c / host time of all profiled nodes
//   factor    = Σ_c share_c / speed_c                 (speed_c: the profile's relative_speed)
//             · amdahl_host(min(T, host cores)) / amdahl_device(min(T, device cores))
//   device_ms = host_ms · factor                      (p50 and p95 alike)
// where amdahl(n) = 1 / ((1 − p) + p / n) with p the profile's parallel_fraction. The relative
// speeds compare one thread with one thread; the Amdahl terms move both machines from one thread
// to the T threads the host was measured with (and the device runs, capped at its cores).
// Energy per inference = latency × active power. Peak RAM on the device = the host's peak RSS:
// the same runtime holds the same weights and plans the same arena there (see the docs).
#include "edgeopt/device.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "edgeopt/error.h"
#include "edgeopt/fileio.h"

namespace edgeopt {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string>& required_classes() {
  static const std::vector<std::string> c = {"conv_f32", "conv_int8", "matmul_f32", "matmul_int8",
                                             "memory"};
  return c;
}

// Classes a device with the ARM dot-product instructions may give separately.
const std::vector<std::string>& dotprod_classes() {
  static const std::vector<std::string> c = {"conv_int8_dotprod", "matmul_int8_dotprod"};
  return c;
}

// Where bundled profiles live: next to an installed binary (<prefix>/share/edgeopt/devices),
// beside a binary run from its build folder inside the source tree, or the source tree the
// build was configured from.
std::vector<fs::path> device_dirs() {
  std::vector<fs::path> dirs;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    dirs.push_back(exe.parent_path() / ".." / "share" / "edgeopt" / "devices");
    dirs.push_back(exe.parent_path() / ".." / "devices");
  }
#ifdef EDGEOPT_DEVICES_DIR
  dirs.push_back(EDGEOPT_DEVICES_DIR);
#endif
  return dirs;
}

std::optional<fs::path> find_bundled(const std::string& name) {
  for (const fs::path& d : device_dirs()) {
    const fs::path p = d / (name + ".json");
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p;
  }
  return std::nullopt;
}

// Validation of one profile file; every failure names the file and the field.
class ProfileReader {
 public:
  ProfileReader(std::string file, const nlohmann::json& j) : file_(std::move(file)), j_(j) {}

  [[noreturn]] void bad(const std::string& field, const std::string& why) const {
    fail_input("device profile ", file_, ": field \"", field, "\" ", why);
  }

  bool has(const std::string& key) const { return j_.contains(key); }

  std::string str(const std::string& key, bool required) const {
    if (!j_.contains(key)) {
      if (required) bad(key, "is missing");
      return "";
    }
    if (!j_[key].is_string() || j_[key].get<std::string>().empty())
      bad(key, "must be a non-empty string");
    return j_[key].get<std::string>();
  }

  bool boolean(const std::string& key) const {
    if (!j_.contains(key)) return false;
    if (!j_[key].is_boolean()) bad(key, "must be true or false");
    return j_[key].get<bool>();
  }

  // A number in [lo, hi]; `field` is how the error names it ("relative_speed.conv_f32").
  static double number(const ProfileReader& r, const nlohmann::json& v, const std::string& field,
                       double lo, double hi) {
    if (!v.is_number()) r.bad(field, "must be a number");
    const double x = v.get<double>();
    if (!std::isfinite(x) || x < lo || x > hi) {
      std::ostringstream os;
      os << "is " << x << ", outside [" << lo << ", " << hi << "]";
      r.bad(field, os.str());
    }
    return x;
  }

  double num(const std::string& key, double lo, double hi) const {
    if (!j_.contains(key)) bad(key, "is missing");
    return number(*this, j_[key], key, lo, hi);
  }

  const nlohmann::json& json() const { return j_; }

 private:
  std::string file_;
  const nlohmann::json& j_;
};

const std::set<std::string>& known_keys() {
  static const std::set<std::string> k = {
      "name",         "description", "arch",        "cores",          "ram_mb",
      "storage_mb",   "host",        "dotprod",     "relative_speed", "parallel_fraction",
      "active_watts", "idle_watts",  "relative_to", "sources"};
  return k;
}

int64_t host_ram_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  int64_t kb = 0;
  std::string unit;
  while (f >> key >> kb >> unit)
    if (key == "MemTotal:") return kb * 1024;
  return 0;
}

int64_t host_free_storage_bytes() {
  struct statvfs s {};
  if (statvfs(".", &s) != 0) return 0;
  return static_cast<int64_t>(s.f_bavail) * static_cast<int64_t>(s.f_frsize);
}

std::string host_arch() {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#else
  return "unknown";
#endif
}

// The fields every profile has; the host's hardware fields come from this machine.
DeviceProfile parse_profile(const std::string& file, const nlohmann::json& j) {
  if (!j.is_object()) fail_input("device profile ", file, ": expected a JSON object");
  ProfileReader r(file, j);
  for (const auto& [key, value] : j.items())
    if (!known_keys().count(key)) r.bad(key, "is not a profile field");
  DeviceProfile d;
  d.name = r.str("name", true);
  d.description = r.str("description", false);
  d.host = r.boolean("host");
  d.dotprod = r.boolean("dotprod");
  if (!j.contains("sources") || !j["sources"].is_object()) r.bad("sources", "must be an object");
  d.sources = j["sources"];
  // Every number a profile states carries its source.
  auto sourced = [&](const std::string& key) {
    if (!d.sources.contains(key) || !d.sources[key].is_string() ||
        d.sources[key].get<std::string>().empty())
      r.bad("sources." + key, "is missing: every number in a profile says where it comes from");
  };
  d.active_watts = r.num("active_watts", 0.01, 10000);
  d.idle_watts = r.num("idle_watts", 0, d.active_watts);
  sourced("active_watts");
  sourced("idle_watts");
  d.parallel_fraction = r.num("parallel_fraction", 0, 1);
  sourced("parallel_fraction");
  if (d.host) {
    // Measured here: no speeds to state (they are 1), no hardware figures to copy.
    for (const char* k : {"relative_speed", "cores", "ram_mb", "storage_mb", "arch"})
      if (r.has(k)) r.bad(k, "is measured on the host profile and must not be given");
    d.arch = host_arch();
    d.cores = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
    d.ram_bytes = host_ram_bytes();
    d.storage_bytes = host_free_storage_bytes();
    for (const std::string& c : required_classes()) d.relative_speed[c] = 1.0;
    for (const std::string& c : dotprod_classes()) d.relative_speed[c] = 1.0;
    return d;
  }
  d.arch = r.str("arch", true);
  if (d.arch != "aarch64" && d.arch != "x86_64" && d.arch != "armv7")
    r.bad("arch", "must be aarch64, armv7 or x86_64");
  d.cores = static_cast<int>(r.num("cores", 1, 1024));
  if (j["cores"].get<double>() != d.cores) r.bad("cores", "must be a whole number");
  d.ram_bytes = static_cast<int64_t>(r.num("ram_mb", 1, 1e7) * 1024 * 1024);
  d.storage_bytes = static_cast<int64_t>(r.num("storage_mb", 1, 1e9) * 1024 * 1024);
  for (const char* k : {"cores", "ram_mb", "storage_mb", "relative_speed"}) sourced(k);
  if (!j.contains("relative_speed") || !j["relative_speed"].is_object())
    r.bad("relative_speed", "must be an object of node class -> speed relative to the host");
  std::set<std::string> allowed(required_classes().begin(), required_classes().end());
  allowed.insert(dotprod_classes().begin(), dotprod_classes().end());
  for (const auto& [cls, v] : j["relative_speed"].items()) {
    if (!allowed.count(cls)) r.bad("relative_speed." + cls, "is not a node class");
    d.relative_speed[cls] = ProfileReader::number(r, v, "relative_speed." + cls, 1e-6, 1e6);
  }
  for (const std::string& c : required_classes())
    if (!d.relative_speed.count(c)) r.bad("relative_speed." + c, "is missing");
  if (d.dotprod)
    for (const std::string& c : dotprod_classes())
      if (!d.relative_speed.count(c))
        r.bad("relative_speed." + c, "is missing (the profile says dotprod: true)");
  if (!j.contains("relative_to") || !j["relative_to"].is_object() ||
      !j["relative_to"].contains("cpu") || !j["relative_to"]["cpu"].is_string())
    r.bad("relative_to", "must say which host the speeds are relative to ({\"cpu\": ...})");
  d.relative_to = j["relative_to"];
  if (d.relative_to.contains("calibration_ms")) {
    const nlohmann::json& c = d.relative_to["calibration_ms"];
    for (const char* k : {"conv_f32", "conv_int8"}) {
      const std::string field = std::string("relative_to.calibration_ms.") + k;
      if (!c.is_object() || !c.contains(k)) r.bad(field, "is missing");
      ProfileReader::number(r, c[k], field, 1e-6, 1e6);
    }
  }
  return d;
}

double amdahl(double p, int n) { return 1.0 / ((1.0 - p) + p / std::max(1, n)); }

double mb(int64_t bytes) { return double(bytes) / (1024.0 * 1024.0); }

}  // namespace

DeviceProfile load_device_profile(const std::string& name_or_path) {
  fs::path path;
  const bool looks_like_path =
      name_or_path.find('/') != std::string::npos ||
      (name_or_path.size() > 5 && name_or_path.compare(name_or_path.size() - 5, 5, ".json") == 0);
  if (looks_like_path) {
    path = name_or_path;
  } else {
    const std::optional<fs::path> p = find_bundled(name_or_path);
    if (!p) {
      std::string names;
      for (const std::string& n : bundled_device_profiles())
        names += (names.empty() ? "" : ", ") + n;
      fail_input("device profile \"", name_or_path, "\" is neither a bundled profile (",
                 names.empty() ? "none found" : names, ") nor a .json file");
    }
    path = *p;
  }
  const std::string text = read_file(path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    fail_input("device profile ", path.string(), ": not valid JSON (", e.what(), ")");
  }
  return parse_profile(path.string(), j);
}

std::vector<std::string> bundled_device_profiles() {
  std::set<std::string> names;
  for (const fs::path& d : device_dirs()) {
    std::error_code ec;
    if (!fs::is_directory(d, ec)) continue;
    for (const fs::directory_entry& e : fs::directory_iterator(d, ec))
      if (e.path().extension() == ".json") names.insert(e.path().stem().string());
    if (!names.empty()) break;  // the first folder that has profiles is the one used
  }
  return {names.begin(), names.end()};
}

std::string node_class(const NodeProfile& node) {
  static const std::set<std::string> conv_int8 = {"QConv", "QLinearConv", "ConvInteger",
                                                  "QConvTranspose"};
  static const std::set<std::string> matmul_int8 = {"QGemm", "QLinearMatMul", "MatMulInteger",
                                                    "QMatMul"};
  static const std::set<std::string> conv_f32 = {"Conv", "ConvTranspose"};
  static const std::set<std::string> matmul_f32 = {"MatMul", "Gemm"};
  const std::string& op = node.op_type;
  if (conv_int8.count(op)) return "conv_int8";
  if (matmul_int8.count(op)) return "matmul_int8";
  if (conv_f32.count(op)) return "conv_f32";
  if (matmul_f32.count(op)) return "matmul_f32";
  return "memory";
}

std::map<std::string, double> class_times_ms(const BenchResult& host) {
  std::map<std::string, double> t;
  const double runs = host.latency.runs > 0 ? double(host.latency.runs) : 1.0;
  for (const NodeProfile& n : host.profile) t[node_class(n)] += n.total_ms / runs;
  return t;
}

namespace {

bool is_int8(const std::string& cls) { return cls == "conv_int8" || cls == "matmul_int8"; }

// This host's time on the calibration workloads over the derivation host's (1 when the profile
// records none): > 1 when this host is slower, and then so is every time measured here.
struct HostRatio {
  double f32 = 1, int8 = 1;
  bool calibrated = false;
};

HostRatio host_ratio(const DeviceProfile& device) {
  HostRatio h;
  if (!device.relative_to.contains("calibration_ms")) return h;
  const nlohmann::json& ref = device.relative_to["calibration_ms"];
  const HostCalibration& here = host_calibration();
  h.f32 = here.conv_f32_ms / ref["conv_f32"].get<double>();
  h.int8 = here.conv_int8_ms / ref["conv_int8"].get<double>();
  h.calibrated = true;
  return h;
}

// The device's speed for a class relative to this host: the profile's, derived on the host of
// relative_to, times how much slower this host is than that one.
double device_speed(const DeviceProfile& device, const std::string& cls, const HostRatio& h) {
  std::string key = cls;
  if (device.dotprod && is_int8(cls)) key = cls + "_dotprod";
  auto it = device.relative_speed.find(key);
  if (it == device.relative_speed.end())
    fail_input("device profile ", device.name, ": relative_speed.", key, " is missing");
  return it->second * (is_int8(cls) ? h.int8 : h.f32);
}

}  // namespace

DeviceEstimate estimate_on_device(const DeviceProfile& device, const BenchResult& host,
                                  int threads) {
  if (threads < 1) fail_input("estimate on ", device.name, ": threads must be at least 1");
  DeviceEstimate e;
  e.peak_ram_mb = mb(host.peak_rss_bytes);
  if (device.host) {
    e.p50_ms = host.latency.p50_ms;
    e.p95_ms = host.latency.p95_ms;
    e.latency_measured = true;
    char buf[200];
    if (host.energy_mj >= 0) {
      e.energy_mj = host.energy_mj;
      e.energy_measured = true;
      std::snprintf(buf, sizeof buf,
                    "measured on this host (%d thread%s); energy measured by the RAPL counters "
                    "(whole CPU package, mean over the measured runs)",
                    threads, threads == 1 ? "" : "s");
    } else {
      e.energy_mj = e.p50_ms * device.active_watts;  // ms × W = mJ
      std::snprintf(buf, sizeof buf,
                    "measured on this host (%d thread%s); energy estimated: p50 × %.1f W (no "
                    "readable RAPL counters)",
                    threads, threads == 1 ? "" : "s", device.active_watts);
    }
    e.basis = buf;
    return e;
  }
  if (host.profile.empty())
    fail_input("estimate on ", device.name, ": ", host.model,
               " has no per-node times (bench it with the profile on: bench --profile)");
  const std::map<std::string, double> t = class_times_ms(host);
  double total = 0;
  for (const auto& [cls, ms] : t) total += ms;
  if (!(total > 0))
    fail_input("estimate on ", device.name, ": the per-node times of ", host.model, " sum to 0");
  const HostRatio h = host_ratio(device);
  double factor = 0;
  for (const auto& [cls, ms] : t) factor += (ms / total) / device_speed(device, cls, h);
  const DeviceProfile here = load_device_profile("host");
  const int host_threads = std::min(threads, here.cores);
  const int device_threads = std::min(threads, device.cores);
  factor *= amdahl(here.parallel_fraction, host_threads) /
            amdahl(device.parallel_fraction, device_threads);
  e.p50_ms = host.latency.p50_ms * factor;
  e.p95_ms = host.latency.p95_ms * factor;
  e.energy_mj = e.p50_ms * device.active_watts;
  std::ostringstream os;
  os.precision(3);
  os << "estimated: host p50 " << host.latency.p50_ms << " ms ×" << factor << " (";
  bool first = true;
  for (const auto& [cls, ms] : t) {
    if (ms / total < 0.005) continue;
    os << (first ? "" : ", ") << cls << " " << std::lround(100 * ms / total) << "% at "
       << device_speed(device, cls, h) << "×";
    first = false;
  }
  os << "; " << device_threads << " of " << device.cores << " cores) from speeds relative to "
     << device.relative_to.value("cpu", std::string("?"));
  if (h.calibrated)
    os << "; this host runs the calibration convs at " << 1 / h.f32 << "× (fp32) and " << 1 / h.int8
       << "× (int8) that host's speed";
  os << "; energy = p50 × " << device.active_watts << " W";
  e.basis = os.str();
  return e;
}

double battery_hours(const DeviceProfile& device, double energy_mj, double mah, double volts,
                     double rate_hz) {
  if (!(mah > 0) || !(volts > 0) || !(rate_hz > 0) || !(energy_mj >= 0))
    fail_input("battery life on ", device.name,
               ": capacity, voltage and inference rate must be positive");
  // Duty cycle: the share of each second spent inferring (energy_mj = latency × active power).
  const double latency_s = energy_mj / 1000.0 / device.active_watts;
  const double duty = rate_hz * latency_s;
  if (duty > 1)
    fail_input("battery life on ", device.name, ": ", rate_hz,
               " inferences/s cannot be sustained, one takes ", latency_s * 1000, " ms");
  // Average power = active power while inferring + idle power in between.
  const double watts = duty * device.active_watts + (1 - duty) * device.idle_watts;
  const double battery_wh = mah / 1000.0 * volts;
  if (!(watts > 0)) fail_input("battery life on ", device.name, ": the device draws no power");
  return battery_wh / watts;
}

}  // namespace edgeopt
