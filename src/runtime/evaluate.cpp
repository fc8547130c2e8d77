// The runtime's narrow entry point for the graph passes (ir/node_eval.h): one node computed by
// the fallback (reference) provider's kernel, without a Session (no model copy, no provider
// rewrites, no memory plan). Constant folding evaluates the nodes whose inputs are all constants
// with it.
#include <cstdint>

#include "edgeopt/error.h"
#include "ir/node_eval.h"
#include "kernel.h"
#include "run_fresh.h"

namespace edgeopt::rt {
namespace {

std::vector<Tensor> evaluate_node(const Node& node, int64_t opset,
                                  const std::vector<const Tensor*>& inputs) {
  KernelInit init{node, opset, inputs, {}, 1, {fallback_provider()}, {}, {}, WinogradMode::kAuto};
  for (const Tensor* t : inputs) init.input_dtypes.push_back(t ? t->dtype() : DType::kUndefined);
  const KernelDef* def = KernelRegistry::global().find(fallback_provider(), init);
  if (!def)
    fail_unsupported(
        "no provider can run these ops: ", (node.domain.empty() ? "" : node.domain + "."),
        node.op_type, "-", opset, " (node '", node.name, "')");
  std::unique_ptr<Kernel> kernel = def->make(init);
  InferContext ictx(node, inputs, node.outputs.size());
  kernel->infer(ictx);
  std::vector<bool> wanted;
  bool given = true;  // infer already gave every output's value (Shape, Size)
  for (size_t o = 0; o < node.outputs.size(); ++o) {
    wanted.push_back(!node.outputs[o].empty());
    if (wanted[o]) given = given && ictx.outputs()[o].has_data();
  }
  if (!given) return run_into_fresh_outputs(*kernel, node, ictx, inputs, wanted, 1);
  std::vector<Tensor> outs(node.outputs.size());
  for (size_t o = 0; o < outs.size(); ++o)
    if (wanted[o]) outs[o] = ictx.outputs()[o].clone();  // may view an input
  return outs;
}

[[maybe_unused]] const bool registered = (set_node_evaluator(&evaluate_node), true);

}  // namespace
}  // namespace edgeopt::rt
