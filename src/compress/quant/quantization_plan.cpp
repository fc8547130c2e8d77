// What static int8 quantization would do with each node, without calibrating: the same
// preparation (prepare_for_quantization) and selection (select_nodes) quantize_model runs, with
// the reason a node stays in float.
#include <map>
#include <set>

#include "edgeopt/quantize.h"
#include "ir/graph_util.h"
#include "quant_internal.h"

namespace edgeopt {
namespace {

// Why a Conv/Gemm/MatMul is not a weighted op for the quantizer (is_weighted_op is false).
std::string why_not_weighted(const Node& n, const Graph& g) {
  if (n.inputs.size() < 2 || n.input(1).empty()) return "no weight input";
  if (n.inputs[0].empty() || g.find_initializer(n.inputs[0])) return "input is a constant";
  const NamedTensor* w = g.find_initializer(n.inputs[1]);
  if (!w) return "weight is computed at run time, not an initializer";
  if (w->tensor.dtype() != DType::kF32)
    return "weight is " + std::string(dtype_name(w->tensor.dtype())) + ", not float";
  if (n.op_type == "Gemm") return "Gemm with transA, alpha or beta the quantizer does not map";
  return "weight rank not supported";
}

std::string float_reason(const Node& n, const Graph& g, const std::set<std::string>& excluded) {
  if (excluded.count(n.name)) return "excluded (--exclude)";
  if (!n.domain.empty() && n.domain != "ai.onnx")
    return "op in domain '" + n.domain + "' has no int8 form";
  if (n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul")
    return why_not_weighted(n, g);
  if (n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear")
    return "already a quantization op";
  return "op has no int8 form (runs in float on dequantized tensors)";
}

}  // namespace

std::vector<QuantPlanEntry> static_quantization_plan(const Model& model,
                                                     const QuantizeOptions& options) {
  const std::set<std::string> excluded(options.exclude.begin(), options.exclude.end());
  Model prepared = model;
  quant::prepare_for_quantization(prepared);
  const Graph& g = prepared.graph;
  const std::set<std::string> selected = quant::select_nodes(prepared, excluded);
  std::map<std::string, const Node*> kept;  // by name (passes keep the names of what they keep)
  for (const Node& n : g.nodes) kept[n.name] = &n;

  std::vector<QuantPlanEntry> plan;
  for (const Node& original : model.graph.nodes) {
    QuantPlanEntry e{original.name, original.op_type, false, ""};
    auto it = kept.find(original.name);
    const Node* n =
        it == kept.end() || it->second->op_type != original.op_type ? nullptr : it->second;
    if (!n) {
      e.reason = "removed before quantization (folded into another node or constant)";
    } else if (!selected.count(n->name)) {
      e.reason = float_reason(*n, g, excluded);
    } else if (const DType dt = dtype_of_value(g, n->input(0));
               !n->input(0).empty() && dt != DType::kF32 && dt != DType::kUndefined) {
      // Calibration only records float tensors: an op on integers keeps them.
      e.reason = "input is " + std::string(dtype_name(dt)) + ", not float";
    } else {
      e.int8 = true;
      e.reason = quant::is_weighted_op(*n, g)
                     ? std::string("int8 weights (") +
                           (options.per_channel ? "per-channel" : "per-tensor") +
                           "), quantized activations"
                     : "runs on the quantized activations";
    }
    plan.push_back(std::move(e));
  }
  return plan;
}

}  // namespace edgeopt
