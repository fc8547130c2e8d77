// Shape hints: Graph::inferred, what the passes and the providers' rewrites know of each value's
// dtype and shape before anything runs (static shapes let a provider pick a blocked layout, fold
// a Reshape's target, size a constant). Hints only: the session infers the real shapes itself.
#pragma once

#include "edgeopt/ir.h"

namespace edgeopt {

// Adds what can be inferred to model.graph.inferred, never trading a known shape for an unknown
// one. Both the edgeopt tool and libedgeopt_rt run the kernels' own infer() in process, through
// the function the runtime registers below (symbolic dims kept, small values computed:
// runtime/static_shapes.cpp); the tool completes what they leave unknown with ONNX's shape
// inference in a child process (shape_inference.cpp, which registers itself as the second
// function below), libedgeopt_rt has no ONNX schemas.
void refresh_shape_hints(Model& model);

// Shape inference by the runtime's kernels: set by src/runtime at static initialization.
using KernelShapeInference = void (*)(Model& model);
void set_kernel_shape_inference(KernelShapeInference fn);
KernelShapeInference kernel_shape_inference();
// ONNX's schema-based inference, for what the kernels leave unknown: set by the tool's ONNX
// I/O (layer ir_onnx) at static initialization.
using SchemaShapeInference = void (*)(Model& model);
void set_schema_shape_inference(SchemaShapeInference fn);

}  // namespace edgeopt
