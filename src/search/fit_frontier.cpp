// fit: the Pareto frontier, which candidates meet the limits, the pick, and what the closest
// candidate misses when none fits.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "edgeopt/error.h"
#include "edgeopt/fit.h"

namespace edgeopt {

FitObjective parse_fit_objective(const std::string& name) {
  if (name == "accuracy") return FitObjective::kAccuracy;
  if (name == "latency") return FitObjective::kLatency;
  if (name == "size") return FitObjective::kSize;
  if (name == "energy") return FitObjective::kEnergy;
  fail_input("unknown objective '", name, "' (expected accuracy, latency, size or energy)");
}

const char* fit_objective_name(FitObjective o) {
  switch (o) {
    case FitObjective::kAccuracy:
      return "accuracy";
    case FitObjective::kLatency:
      return "latency";
    case FitObjective::kSize:
      return "size";
    case FitObjective::kEnergy:
      return "energy";
  }
  return "?";
}

FitLimits effective_limits(const FitLimits& limits, const DeviceProfile& device) {
  FitLimits l = limits;
  auto tighten = [](std::optional<double>& v, int64_t device_bytes) {
    if (device_bytes <= 0) return;
    const double mb = double(device_bytes) / 1e6;
    if (!v || *v > mb) v = mb;
  };
  tighten(l.max_ram_mb, device.ram_bytes);
  tighten(l.max_size_mb, device.storage_bytes);
  return l;
}

bool dominates(const FitCandidate& a, const FitCandidate& b, bool p95) {
  // Accuracy is better when higher; every other figure when lower. Written as "a's cost <= b's".
  const double ca[] = {-a.top1, a.device_ms(p95), double(a.size_bytes), a.device_peak_ram_mb,
                       a.energy_mj};
  const double cb[] = {-b.top1, b.device_ms(p95), double(b.size_bytes), b.device_peak_ram_mb,
                       b.energy_mj};
  bool strictly = false;
  for (int i = 0; i < 5; ++i) {
    if (ca[i] > cb[i]) return false;
    if (ca[i] < cb[i]) strictly = true;
  }
  return strictly;
}

void mark_frontier(std::vector<FitCandidate>& cs, bool p95) {
  for (FitCandidate& c : cs) {
    c.on_frontier = c.stage == "confirmed";
    if (!c.on_frontier) continue;
    for (const FitCandidate& o : cs)
      if (&o != &c && o.stage == "confirmed" && dominates(o, c, p95)) {
        c.on_frontier = false;
        break;
      }
  }
}

std::vector<LimitMiss> limit_misses(const FitCandidate& c, const FitLimits& l,
                                    double baseline_top1) {
  std::vector<LimitMiss> m;
  auto check = [&](const std::optional<double>& bound, double value, const char* flag,
                   const char* unit) {
    if (bound && value > *bound) m.push_back({flag, value, *bound, unit});
  };
  check(l.max_latency_ms, c.device_ms(l.latency_p95), "--max-latency", "ms");
  check(l.max_ram_mb, c.device_peak_ram_mb, "--max-ram", "MB");
  check(l.max_size_mb, double(c.size_bytes) / 1e6, "--max-size", "MB");
  check(l.max_energy_mj, c.energy_mj, "--max-energy", "mJ");
  check(l.max_drop_pp, (baseline_top1 - c.top1) * 100, "--max-drop", "pp");
  return m;
}

void mark_fits(std::vector<FitCandidate>& cs, const FitLimits& l, double baseline_top1) {
  for (FitCandidate& c : cs)
    c.fits = c.stage == "confirmed" && limit_misses(c, l, baseline_top1).empty();
}

namespace {

// Lexicographic choice among the candidates that fit. `primary` is a cost (lower is better);
// values within `tie` (relative) of the best count as equal, then top-1, then size decide. With
// `noisy` (a measured latency), the band widens to the spread the benchmark rounds showed for
// either candidate, so that which of two equally fast models wins does not depend on the load.
std::optional<size_t> best_by(const std::vector<FitCandidate>& cs,
                              double (*primary)(const FitCandidate&, bool), double tie, bool noisy,
                              bool p95) {
  std::optional<size_t> best;
  for (size_t i = 0; i < cs.size(); ++i)
    if (cs[i].fits && (!best || primary(cs[i], p95) < primary(cs[*best], p95))) best = i;
  if (!best) return std::nullopt;
  const double b = primary(cs[*best], p95);
  std::optional<size_t> pick;
  for (size_t i = 0; i < cs.size(); ++i) {
    const FitCandidate& c = cs[i];
    const double band =
        std::max(tie, noisy ? std::max(c.latency_noise, cs[*best].latency_noise) : 0.0);
    if (!c.fits || primary(c, p95) > b + band * std::abs(b)) continue;
    if (!pick) {
      pick = i;
      continue;
    }
    const FitCandidate& p = cs[*pick];
    if (c.top1 > p.top1 || (c.top1 == p.top1 && c.size_bytes < p.size_bytes)) pick = i;
  }
  return pick;
}

}  // namespace

std::optional<size_t> pick_candidate(const std::vector<FitCandidate>& all, FitObjective objective,
                                     bool p95) {
  // Only non-dominated candidates may be picked: the tie bands below compare one figure, and a
  // candidate tied there can still be beaten on every figure by another (same top-1 and size,
  // less RAM and energy). Whatever dominates a fitting candidate fits too, so a pick remains.
  std::vector<FitCandidate> cs = all;
  for (size_t i = 0; i < all.size(); ++i) {
    if (!all[i].fits) continue;
    for (size_t j = 0; j < all.size() && cs[i].fits; ++j)
      if (j != i && all[j].fits && dominates(all[j], all[i], p95)) cs[i].fits = false;
  }
  switch (objective) {
    case FitObjective::kLatency:
      return best_by(
          cs, [](const FitCandidate& c, bool q) { return c.device_ms(q); }, 0.05, true, p95);
    case FitObjective::kEnergy:
      return best_by(
          cs, [](const FitCandidate& c, bool) { return c.energy_mj; }, 0.05, true, p95);
    case FitObjective::kSize:
      return best_by(
          cs, [](const FitCandidate& c, bool) { return double(c.size_bytes); }, 0.0, false, p95);
    case FitObjective::kAccuracy: {
      // Highest top-1, then the fastest.
      std::optional<size_t> pick;
      for (size_t i = 0; i < cs.size(); ++i) {
        const FitCandidate& c = cs[i];
        if (!c.fits) continue;
        if (!pick || c.top1 > cs[*pick].top1 ||
            (c.top1 == cs[*pick].top1 && c.device_ms(p95) < cs[*pick].device_ms(p95)))
          pick = i;
      }
      return pick;
    }
  }
  return std::nullopt;
}

namespace {

// How far a miss is, relative to its limit (a drop limit of 0 pp counts as 1 pp).
double relative_excess(const LimitMiss& m) {
  const double scale = m.unit == std::string("pp") ? std::max(m.bound, 1.0) : m.bound;
  return scale > 0 ? m.excess() / scale : m.excess();
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf,
                std::abs(v) >= 100 ? "%.1f"
                : std::abs(v) >= 1 ? "%.2f"
                                   : "%.3g",
                v);
  return buf;
}

}  // namespace

std::optional<size_t> closest_candidate(const std::vector<FitCandidate>& cs, const FitLimits& l,
                                        double baseline_top1) {
  std::optional<size_t> best;
  double best_excess = 0;
  for (size_t i = 0; i < cs.size(); ++i) {
    if (cs[i].stage != "confirmed") continue;
    double excess = 0;
    for (const LimitMiss& m : limit_misses(cs[i], l, baseline_top1)) excess += relative_excess(m);
    if (!best || excess < best_excess) {
      best = i;
      best_excess = excess;
    }
  }
  return best;
}

std::vector<std::string> closest_miss_lines(const std::vector<FitCandidate>& cs, const FitLimits& l,
                                            double baseline_top1) {
  std::vector<std::string> lines;
  const std::optional<size_t> closest = closest_candidate(cs, l, baseline_top1);
  if (!closest) return lines;
  for (const LimitMiss& m : limit_misses(cs[*closest], l, baseline_top1)) {
    std::string line = m.limit + " " + number(m.bound) + " " + m.unit +
                       ": the closest candidate '" + cs[*closest].name + "' misses it by " +
                       number(m.excess()) + " " + m.unit + " (" + number(m.value) + " " + m.unit +
                       ")";
    // The candidate nearest to this limit alone, when it is another one.
    std::optional<size_t> nearest;
    double nearest_value = 0;
    for (size_t i = 0; i < cs.size(); ++i) {
      if (cs[i].stage != "confirmed") continue;
      for (const LimitMiss& x : limit_misses(cs[i], l, baseline_top1))
        if (x.limit == m.limit && (!nearest || x.value < nearest_value)) {
          nearest = i;
          nearest_value = x.value;
        }
      bool meets = true;
      for (const LimitMiss& x : limit_misses(cs[i], l, baseline_top1))
        if (x.limit == m.limit) meets = false;
      if (meets) {
        nearest = i;
        nearest_value = -1;  // meets this limit, misses others
        break;
      }
    }
    if (nearest && *nearest != *closest) {
      if (nearest_value < 0)
        line += "; '" + cs[*nearest].name + "' meets it but misses another limit";
      else
        line += "; nearest on this limit alone: '" + cs[*nearest].name + "' at " +
                number(nearest_value) + " " + m.unit;
    }
    lines.push_back(line);
  }
  return lines;
}

}  // namespace edgeopt
