// Whether this host has 8-bit dot-product instructions (x86 VNNI), which decides the default
// weight range: without them ONNX Runtime multiplies u8 × s8 with AVX2 vpmaddubsw, whose int16
// sum of two products saturates when both weights of a pair are large (255 · 127 · 2 > 32767);
// 7-bit weights keep every pair sum below 255 · 63 · 2 = 32130.
#include "edgeopt/quantize.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace edgeopt {

bool host_has_int8_dot_product() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512vnni")) return true;
  // AVX-VNNI (VEX-encoded, Alder Lake and later): CPUID leaf 7 sub-leaf 1, EAX bit 4. Read
  // directly because clang before 16 does not know the name "avxvnni".
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 4)) != 0;
#else
  // ARM (sdot/udot, or widening multiplies) and others: no pair saturation in ONNX Runtime.
  return true;
#endif
}

}  // namespace edgeopt
