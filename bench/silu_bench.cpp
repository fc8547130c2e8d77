// Times edgeopt's SiLU pass (src/runtime/onednn/silu.cpp) on one thread with each instruction set
// this CPU has, alternating the paths for several rounds over buffers the size of EfficientNet-B0's
// SiLU outputs; prints each path's median time per call and the ratio to the AVX2 path. The data
// behind the AVX-512 path in silu.cpp.
//
// Usage: silu_bench [rounds] [calls]  (default 9 50)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "runtime/onednn/common.h"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 9;
  const int calls = argc > 2 ? std::atoi(argv[2]) : 50;
  // 96x112x112 (block 2's expand), 144x56x56, 240x28x28, 480x14x14, 1152x7x7.
  const std::vector<long> sizes = {1204224, 451584, 188160, 94080, 56448};
  std::printf("%10s %12s %12s %12s %10s\n", "floats", "scalar ms", "AVX2 ms", "AVX-512 ms",
              "512/AVX2");
  for (long n : sizes) {
    std::vector<float> src(n), buf(n);
    for (long i = 0; i < n; ++i) src[i] = static_cast<float>(i % 2001 - 1000) * 0.01f;
    std::vector<double> t[3];
    for (int r = 0; r < rounds; ++r) {
      for (int isa = 0; isa < 3; ++isa) {
        double total = 0;
        for (int c = 0; c < calls; ++c) {
          std::copy(src.begin(), src.end(), buf.begin());  // the same input every call
          const auto t0 = std::chrono::steady_clock::now();
          edgeopt::rt::onednn::silu_inplace_isa(buf.data(), n, isa);
          total += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                       .count();
        }
        t[isa].push_back(total / calls);
      }
    }
    std::printf("%10ld %12.4f %12.4f %12.4f %10.2f\n", n, median(t[0]), median(t[1]), median(t[2]),
                median(t[2]) / median(t[1]));
  }
  return 0;
}
