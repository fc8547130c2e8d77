#include "shape_hints.h"

namespace edgeopt {

namespace {
KernelShapeInference& kernel_registered() {
  static KernelShapeInference fn = nullptr;
  return fn;
}
SchemaShapeInference& schema_registered() {
  static SchemaShapeInference fn = nullptr;
  return fn;
}

// Every node output has a dtype and a shape among the hints.
bool hints_complete(const Graph& g) {
  for (const Node& n : g.nodes)
    for (const std::string& o : n.outputs) {
      if (o.empty()) continue;
      auto it = g.inferred.find(o);
      if (it == g.inferred.end() || !it->second.has_shape || it->second.dtype == DType::kUndefined)
        return false;
    }
  return true;
}
}  // namespace

void set_kernel_shape_inference(KernelShapeInference fn) { kernel_registered() = fn; }
KernelShapeInference kernel_shape_inference() { return kernel_registered(); }
void set_schema_shape_inference(SchemaShapeInference fn) { schema_registered() = fn; }

void refresh_shape_hints(Model& model) {
  if (KernelShapeInference infer = kernel_shape_inference()) {
    infer(model);
    if (hints_complete(model.graph)) return;
  }
  if (SchemaShapeInference complete = schema_registered()) complete(model);
}

}  // namespace edgeopt
