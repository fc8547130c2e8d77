#include "node_eval.h"

namespace edgeopt {

namespace {
NodeEvaluator& registered() {
  static NodeEvaluator fn = nullptr;
  return fn;
}
}  // namespace

void set_node_evaluator(NodeEvaluator fn) { registered() = fn; }
NodeEvaluator node_evaluator() { return registered(); }

}  // namespace edgeopt
