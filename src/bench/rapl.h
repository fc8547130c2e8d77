// RAPL energy counters through Linux powercap (/sys/class/powercap/intel-rapl:N, where AMD Zen
// packages are exposed too): the energy the CPU packages drew between two reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace edgeopt {

struct RaplZone {
  uint64_t energy_uj = 0;     // the counter
  uint64_t max_range_uj = 0;  // where it wraps to 0
};

// One read of every package zone under `root`; nullopt when there is none or one is unreadable
// (the counters are root-only on kernels since 5.10).
std::optional<std::vector<RaplZone>> read_rapl(const std::string& root = "/sys/class/powercap");

// Joules drawn between two reads of the same zones; a counter that wrapped once is unwrapped.
double rapl_joules(const std::vector<RaplZone>& before, const std::vector<RaplZone>& after);

}  // namespace edgeopt
