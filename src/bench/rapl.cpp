#include "rapl.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace edgeopt {

namespace fs = std::filesystem;

namespace {

std::optional<uint64_t> read_u64(const fs::path& p) {
  std::ifstream f(p);
  uint64_t v = 0;
  if (!(f >> v)) return std::nullopt;
  return v;
}

}  // namespace

std::optional<std::vector<RaplZone>> read_rapl(const std::string& root) {
  std::error_code ec;
  std::vector<fs::path> packages;
  for (const fs::directory_entry& e : fs::directory_iterator(root, ec)) {
    const std::string name = e.path().filename().string();
    // "intel-rapl:0" is a package; "intel-rapl:0:0" (a core or DRAM subzone) is inside it.
    if (name.rfind("intel-rapl:", 0) == 0 && std::count(name.begin(), name.end(), ':') == 1)
      packages.push_back(e.path());
  }
  if (ec || packages.empty()) return std::nullopt;
  std::sort(packages.begin(), packages.end());
  std::vector<RaplZone> zones;
  for (const fs::path& p : packages) {
    const std::optional<uint64_t> energy = read_u64(p / "energy_uj");
    const std::optional<uint64_t> range = read_u64(p / "max_energy_range_uj");
    if (!energy || !range) return std::nullopt;
    zones.push_back({*energy, *range});
  }
  return zones;
}

double rapl_joules(const std::vector<RaplZone>& before, const std::vector<RaplZone>& after) {
  double uj = 0;
  for (size_t i = 0; i < before.size() && i < after.size(); ++i) {
    const RaplZone& a = before[i];
    const RaplZone& b = after[i];
    uj += b.energy_uj >= a.energy_uj ? double(b.energy_uj - a.energy_uj)
                                     : double(a.max_range_uj - a.energy_uj + b.energy_uj);
  }
  return uj / 1e6;
}

}  // namespace edgeopt
