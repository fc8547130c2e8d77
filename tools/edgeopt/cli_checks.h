// Range checks for numeric options, with messages a person reads ("--samples: must be a whole
// number >= 1, got 0") instead of CLI11's ("Value 0 not in range 0.000000 to 1.797...e308"), and
// an integer that overflows its type is refused here rather than clamped by the conversion.
#pragma once

#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <string>

namespace edgeopt::cli {

namespace detail {

inline std::string bounds(double lo, double hi, bool integer, bool open_lo) {
  std::ostringstream s;
  s << "must be " << (integer ? "a whole number " : "a number ");
  const bool has_hi = integer ? hi < static_cast<double>(std::numeric_limits<int64_t>::max())
                              : hi < std::numeric_limits<double>::max();
  if (has_hi)
    s << (open_lo ? "above " : "from ") << lo << (open_lo ? " and at most " : " to ") << hi;
  else
    s << (open_lo ? "> " : ">= ") << lo;
  return s.str();
}

}  // namespace detail

// A whole number in [lo, hi] that fits int64.
inline CLI::Validator whole(int64_t lo, int64_t hi = std::numeric_limits<int64_t>::max()) {
  const std::string rule =
      detail::bounds(static_cast<double>(lo), static_cast<double>(hi), true, false);
  return CLI::Validator(
      [lo, hi, rule](std::string& in) -> std::string {
        int64_t v = 0;
        const char* end = in.data() + in.size();
        const auto [p, ec] = std::from_chars(in.data(), end, v);
        if (ec == std::errc() && p == end && v >= lo && v <= hi) return {};
        return rule + ", got " + in;
      },
      lo == 1   ? "POSITIVE"
      : lo == 0 ? "NONNEGATIVE"
                : "",
      "");
}

inline CLI::Validator positive_int() { return whole(1); }
inline CLI::Validator non_negative_int() { return whole(0); }

// A finite real number in [lo, hi] (or (lo, hi] with open_lo).
inline CLI::Validator real(double lo, double hi = std::numeric_limits<double>::max(),
                           bool open_lo = false) {
  const std::string rule = detail::bounds(lo, hi, false, open_lo);
  return CLI::Validator(
      [lo, hi, open_lo, rule](std::string& in) -> std::string {
        char* end = nullptr;
        const double v = in.empty() ? NAN : std::strtod(in.c_str(), &end);
        if (!in.empty() && end == in.c_str() + in.size() && std::isfinite(v) &&
            (open_lo ? v > lo : v >= lo) && v <= hi)
          return {};
        return rule + ", got " + in;
      },
      "", "");
}

inline CLI::Validator positive_real() { return real(0, std::numeric_limits<double>::max(), true); }

// "1.5G", "512M", "64K" or a byte count → bytes (binary units); -1 when not a size.
inline int64_t parse_bytes(const std::string& in) {
  char* end = nullptr;
  const double v = in.empty() ? NAN : std::strtod(in.c_str(), &end);
  if (!std::isfinite(v) || v <= 0 || end == in.c_str()) return -1;
  double scale = 1;
  const std::string unit(end);
  if (unit == "K" || unit == "KB" || unit == "KiB")
    scale = 1024.0;
  else if (unit == "M" || unit == "MB" || unit == "MiB")
    scale = 1024.0 * 1024;
  else if (unit == "G" || unit == "GB" || unit == "GiB")
    scale = 1024.0 * 1024 * 1024;
  else if (unit == "T" || unit == "TB" || unit == "TiB")
    scale = 1024.0 * 1024 * 1024 * 1024;
  else if (!unit.empty())
    return -1;
  const double bytes = v * scale;
  if (bytes < 1 || bytes > 9.0e18) return -1;
  return static_cast<int64_t>(bytes);
}

inline CLI::Validator byte_size() {
  return CLI::Validator(
      [](std::string& in) -> std::string {
        return parse_bytes(in) > 0 ? "" : "must be a size such as 512M or 2G, got " + in;
      },
      "SIZE", "");
}

}  // namespace edgeopt::cli
