// Latency statistics and process memory.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <string>

#include "edgeopt/bench.h"
#include "edgeopt/error.h"

namespace edgeopt {

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) fail_input("percentile of no samples");
  if (!(p >= 0 && p <= 100)) fail_input("percentile ", p, " outside [0, 100]");
  // rank r = p/100 · (n − 1); value = x[floor r] + (r − floor r) · (x[floor r + 1] − x[floor r])
  const double r = p / 100.0 * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(r));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = r - static_cast<double>(lo);
  return sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

LatencyStats latency_stats(const std::vector<double>& samples_ms) {
  LatencyStats s;
  if (samples_ms.empty()) return s;
  std::vector<double> v = samples_ms;
  std::sort(v.begin(), v.end());
  const double n = static_cast<double>(v.size());
  s.runs = static_cast<int64_t>(v.size());
  s.total_ms = std::accumulate(v.begin(), v.end(), 0.0);
  s.mean_ms = s.total_ms / n;
  // Sample variance: Σ (x − mean)² / (n − 1).
  double ss = 0;
  for (double x : v) ss += (x - s.mean_ms) * (x - s.mean_ms);
  s.std_ms = v.size() > 1 ? std::sqrt(ss / (n - 1)) : 0.0;
  s.min_ms = v.front();
  s.max_ms = v.back();
  s.p50_ms = percentile(v, 50);
  s.p90_ms = percentile(v, 90);
  s.p95_ms = percentile(v, 95);
  s.p99_ms = percentile(v, 99);
  return s;
}

int64_t peak_rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "NNN kB"
  return 0;
}

bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  if (!f) return false;
  f << "5";
  f.flush();
  return static_cast<bool>(f);
}

}  // namespace edgeopt
