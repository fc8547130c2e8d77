// plan_arena (edgeopt/inspect.h): inspect's activation arena, from the runtime's own planner.
#include <string>
#include <vector>

#include "edgeopt/error.h"
#include "edgeopt/inspect.h"

namespace edgeopt {

ArenaPlan plan_arena(const Model& model, int64_t batch, const SessionOptions& options) {
  ArenaPlan a;
  a.threads = options.threads;
  std::vector<Tensor> inputs;
  for (const ValueInfo* v : model.graph.real_inputs()) {
    if (!v->has_shape || v->dtype == DType::kUndefined) {
      a.why = "input '" + v->name + "' has no known dtype and shape";
      return a;
    }
    Shape shape;
    for (size_t d = 0; d < v->dims.size(); ++d) {
      if (v->dims[d].is_static()) {
        shape.push_back(v->dims[d].value);
      } else if (d == 0) {
        shape.push_back(batch);
      } else {
        a.why = "input '" + v->name + "' has a symbolic dim " + std::to_string(d) +
                " (--shape fixes it)";
        return a;
      }
    }
    inputs.push_back(Tensor::meta(v->dtype, shape));
  }
  try {
    Session session(model, options);
    a.bytes = static_cast<int64_t>(session.plan(inputs));
    std::vector<std::string> providers =
        options.providers.empty() ? default_providers() : options.providers;
    for (const std::string& p : providers) a.providers += (a.providers.empty() ? "" : ",") + p;
  } catch (const Error& e) {
    a.why = e.what();
  }
  return a;
}

}  // namespace edgeopt
