// Shape hints: Graph::inferred, what the passes and the providers' rewrites know of each value's
// dtype and shape before anything runs (static shapes let a provider pick a blocked layout, fold
// a Reshape's target, size a constant). Hints only: the session infers the real shapes itself.
#pragma once

#include "edgeopt/ir.h"

namespace edgeopt {

// Adds what can be inferred to model.graph.inferred, never trading a known shape for an unknown
// one. The edgeopt tool runs ONNX's shape inference (with data propagation, symbolic dims kept)
// in a child process (shape_inference.cpp); libedgeopt_rt, which has no ONNX schemas, runs the
// kernels' own infer() through the function the runtime registers below (static shapes only).
void refresh_shape_hints(Model& model);

// Shape inference by the runtime's kernels: set by src/runtime at static initialization.
using KernelShapeInference = void (*)(Model& model);
void set_kernel_shape_inference(KernelShapeInference fn);
KernelShapeInference kernel_shape_inference();

}  // namespace edgeopt
