#include "shape_hints.h"

namespace edgeopt {

namespace {
KernelShapeInference& registered() {
  static KernelShapeInference fn = nullptr;
  return fn;
}
}  // namespace

void set_kernel_shape_inference(KernelShapeInference fn) { registered() = fn; }
KernelShapeInference kernel_shape_inference() { return registered(); }

}  // namespace edgeopt
