// Small formatting helpers shared by the CLI commands.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace edgeopt::cli {

inline std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.2f %s" : "%.0f %s", b, units[u]);
  return buf;
}

inline std::string human_count(double n) {
  const char* units[] = {"", "K", "M", "G", "T"};
  int u = 0;
  while (n >= 1000 && u < 4) n /= 1000, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.3f%s" : "%.0f%s", n, units[u]);
  return buf;
}

}  // namespace edgeopt::cli
