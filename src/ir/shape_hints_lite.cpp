// libedgeopt_rt's shape hints (shape_hints.h): no ONNX schemas here, so the runtime's kernels
// infer what they can.
#include "shape_hints.h"

namespace edgeopt {

void refresh_shape_hints(Model& model) {
  if (KernelShapeInference infer = kernel_shape_inference()) infer(model);
}

}  // namespace edgeopt
