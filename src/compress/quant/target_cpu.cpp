// Whether this host has 8-bit dot-product instructions (x86 VNNI), which decides the default
// weight range: without them ONNX Runtime multiplies u8 × s8 with AVX2 vpmaddubsw, whose int16
// sum of two products saturates when both weights of a pair are large (255 · 127 · 2 > 32767);
// 7-bit weights keep every pair sum below 255 · 63 · 2 = 32130.
#include "edgeopt/quantize.h"

namespace edgeopt {

bool host_has_int8_dot_product() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vnni") || __builtin_cpu_supports("avxvnni");
#else
  // ARM (sdot/udot, or widening multiplies) and others: no pair saturation in ONNX Runtime.
  return true;
#endif
}

}  // namespace edgeopt
