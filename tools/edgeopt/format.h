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

// An error message as one line: trailing whitespace dropped, control characters that a path,
// a tensor name or a file's header may carry (newline, carriage return, escape, ...) written as
// \n, \r, \t or \xHH, so that a message is always exactly one line of plain text.
inline std::string one_line(const std::string& msg) {
  size_t end = msg.size();
  while (end > 0 && (msg[end - 1] == ' ' || msg[end - 1] == '\n' || msg[end - 1] == '\r' ||
                     msg[end - 1] == '\t'))
    --end;
  std::string out;
  out.reserve(end);
  for (size_t i = 0; i < end; ++i) {
    const unsigned char c = static_cast<unsigned char>(msg[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace edgeopt::cli
