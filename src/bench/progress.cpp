// A progress bar for long evaluations and benchmarks, shown only on a terminal.
#include <unistd.h>

#include <cstdio>

#include "edgeopt/bench.h"

namespace edgeopt {

std::function<void(int64_t, int64_t)> terminal_progress(const std::string& label) {
  if (!::isatty(STDERR_FILENO)) return {};
  return [label, last = int64_t{-1}](int64_t done, int64_t total) mutable {
    constexpr int kWidth = 30;
    const int64_t filled = total > 0 ? done * kWidth / total : kWidth;
    // Redraw only when the bar changes, and at the end.
    if (filled == last && done != total) return;
    last = filled;
    std::fprintf(stderr, "\r%s [%s%s] %lld/%lld", label.c_str(),
                 std::string(static_cast<size_t>(filled), '#').c_str(),
                 std::string(static_cast<size_t>(kWidth - filled), '.').c_str(),
                 static_cast<long long>(done), static_cast<long long>(total));
    // Erase the bar once complete so the report starts on a clean line.
    if (done >= total) std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  };
}

}  // namespace edgeopt
