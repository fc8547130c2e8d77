// constant_folding: Constant nodes become initializers, and a node whose inputs are all
// constants is computed once (by the runtime's reference kernel, ir/node_eval.h) and replaced by
// initializers holding its outputs.
//
// Conservative by design:
//   - only deterministic ops of the default domain without subgraphs;
//   - never QuantizeLinear / DequantizeLinear (folding would turn int8 weights back into
//     float and lose the QDQ format);
//   - never a node producing a graph output (the output keeps its producer);
//   - the output must stay small: at most 1M elements, and no larger than its inputs (or 4096
//     elements), so folding never grows the model (Expand, Tile, ConstantOfShape, Range...).
//     The size is estimated before computing, from ONNX shape inference or from the inputs.
#include <cmath>
#include <unordered_set>

#include "edgeopt/error.h"
#include "ir/node_eval.h"
#include "pass_util.h"

namespace edgeopt::passes {
namespace {

constexpr int64_t kMaxElements = int64_t{1} << 20;
constexpr int64_t kSmallElements = 4096;

const std::unordered_set<std::string>& never_fold() {
  static const std::unordered_set<std::string> s = {"QuantizeLinear",
                                                    "DequantizeLinear",
                                                    "DynamicQuantizeLinear",
                                                    "If",
                                                    "Loop",
                                                    "Scan",
                                                    "RandomNormal",
                                                    "RandomNormalLike",
                                                    "RandomUniform",
                                                    "RandomUniformLike",
                                                    "Multinomial",
                                                    "Bernoulli",
                                                    "Constant",
                                                    "SequenceConstruct",
                                                    "SequenceEmpty",
                                                    "SequenceInsert",
                                                    "SequenceAt",
                                                    "SequenceErase",
                                                    "SequenceLength",
                                                    "SplitToSequence",
                                                    "ConcatFromSequence",
                                                    "Optional",
                                                    "OptionalGetElement",
                                                    "OptionalHasElement"};
  return s;
}

// Ops whose output is the broadcast of their inputs' shapes.
const std::unordered_set<std::string>& elementwise() {
  static const std::unordered_set<std::string> s = {"Add",         "Sub",
                                                    "Mul",         "Div",
                                                    "Pow",         "Max",
                                                    "Min",         "Sum",
                                                    "Mean",        "Equal",
                                                    "Less",        "Greater",
                                                    "LessOrEqual", "GreaterOrEqual",
                                                    "And",         "Or",
                                                    "Xor",         "Where",
                                                    "Mod",         "BitShift",
                                                    "Abs",         "Neg",
                                                    "Sqrt",        "Exp",
                                                    "Log",         "Reciprocal",
                                                    "Floor",       "Ceil",
                                                    "Round",       "Sign",
                                                    "Relu",        "Sigmoid",
                                                    "Tanh",        "Erf",
                                                    "Not",         "Clip",
                                                    "Cast",        "CastLike",
                                                    "Identity",    "Sin",
                                                    "Cos",         "IsNaN",
                                                    "IsInf",       "LeakyRelu",
                                                    "Softplus",    "HardSigmoid",
                                                    "Softmax",     "LogSoftmax"};
  return s;
}

// Ops whose total output is at most the size of their first input (or of all inputs).
const std::unordered_set<std::string>& shrinking() {
  static const std::unordered_set<std::string> s = {
      "Reshape",    "Flatten",  "Squeeze",   "Unsqueeze",       "Transpose",       "Slice",
      "Concat",     "Split",    "ReduceSum", "ReduceMean",      "ReduceMax",       "ReduceMin",
      "ReduceProd", "ReduceL1", "ReduceL2",  "ReduceLogSumExp", "ReduceSumSquare", "ArgMax",
      "ArgMin",     "Shape",    "Size",      "NonZero"};
  return s;
}

std::optional<Shape> broadcast(const std::vector<Shape>& shapes) {
  size_t rank = 0;
  for (const Shape& s : shapes) rank = std::max(rank, s.size());
  Shape out(rank, 1);
  for (const Shape& s : shapes) {
    for (size_t k = 0; k < s.size(); ++k) {
      int64_t& o = out[rank - s.size() + k];
      const int64_t d = s[k];
      if (d == o || d == 1) continue;
      if (o != 1) return std::nullopt;
      o = d;
    }
  }
  return out;
}

int64_t product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t d : v) {
    if (d < 0) return -1;
    if (d && p > kMaxElements * 16 / d) return kMaxElements * 16;  // saturate: too big anyway
    p *= d;
  }
  return p;
}

// Estimated total output elements, or -1 when unknown (then the node is not folded).
int64_t estimate_output(const Graph& g, const Node& n, const std::vector<const Tensor*>& in) {
  int64_t total = 0;
  bool all_inferred = true;
  for (const std::string& o : n.outputs) {
    if (o.empty()) continue;
    auto it = g.inferred.find(o);
    auto s = it == g.inferred.end() ? std::nullopt : it->second.static_shape();
    if (!s) {
      all_inferred = false;
      break;
    }
    total += product(*s);
  }
  if (all_inferred) return total;

  int64_t in_total = 0;
  std::vector<Shape> shapes;
  for (const Tensor* t : in)
    if (t) {
      in_total += t->numel();
      shapes.push_back(t->shape());
    }
  const std::string& op = n.op_type;
  if (elementwise().count(op)) {
    auto s = broadcast(shapes);
    return s ? product(*s) : -1;
  }
  if (shrinking().count(op)) return in_total;
  if (op == "ConstantOfShape" && in[0]) return product(in[0]->to_i64_vector());
  if (op == "Expand" && in.size() > 1 && in[0] && in[1]) {
    auto s = broadcast({in[0]->shape(), in[1]->to_i64_vector()});
    return s ? product(*s) : -1;
  }
  if (op == "Tile" && in.size() > 1 && in[0] && in[1]) {
    const std::vector<int64_t> rep = in[1]->to_i64_vector();
    if (static_cast<int>(rep.size()) != in[0]->rank()) return -1;
    std::vector<int64_t> dims = in[0]->shape();
    for (size_t k = 0; k < dims.size(); ++k) dims[k] *= rep[k];
    return product(dims);
  }
  if (op == "Range" && in.size() > 2 && in[0] && in[1] && in[2] && in[2]->numel() == 1) {
    const double start = in[0]->get_f64(0), limit = in[1]->get_f64(0), delta = in[2]->get_f64(0);
    if (delta == 0) return -1;
    return std::max<int64_t>(0, static_cast<int64_t>(std::ceil((limit - start) / delta)));
  }
  if (op == "Gather" && in.size() > 1 && in[0] && in[1] && in[0]->rank() > 0) {
    int64_t axis = n.attr_int("axis", 0);
    if (axis < 0) axis += in[0]->rank();
    if (axis < 0 || axis >= in[0]->rank() || in[0]->dim(axis) == 0) return -1;
    return in[0]->numel() / in[0]->dim(axis) * in[1]->numel();
  }
  if ((op == "MatMul" || op == "Gemm") && in.size() > 1 && in[0] && in[1] && in[0]->rank() == 2 &&
      in[1]->rank() == 2) {
    const bool ta = op == "Gemm" && n.attr_int("transA", 0);
    const bool tb = op == "Gemm" && n.attr_int("transB", 0);
    return in[0]->dim(ta ? 1 : 0) * in[1]->dim(tb ? 0 : 1);
  }
  return -1;
}

// The tensor a Constant node holds, or nullopt for forms edgeopt does not fold (sparse).
std::optional<Tensor> constant_value(const Node& n) {
  for (const Attribute& a : n.attributes) {
    if (a.name == "value" && a.type == AttrType::kTensor) return a.t.tensor;
    if (a.name == "value_float") return Tensor::scalar<float>(a.f);
    if (a.name == "value_int") return Tensor::scalar<int64_t>(a.i);
    if (a.name == "value_floats")
      return Tensor::from_vector<float>(a.floats, {static_cast<int64_t>(a.floats.size())});
    if (a.name == "value_ints")
      return Tensor::from_vector<int64_t>(a.ints, {static_cast<int64_t>(a.ints.size())});
    if (a.name == "value_string" || a.name == "value_strings") {
      const bool one = a.name == "value_string";
      Tensor t(DType::kString, one ? Shape{} : Shape{static_cast<int64_t>(a.strings.size())});
      t.strings() = one ? std::vector<std::string>{a.s} : a.strings;
      return t;
    }
  }
  return std::nullopt;
}

}  // namespace

// Moves Constant nodes (not producing graph outputs) into initializers of the same name.
// Shared with pytorch_quant_cleanup.
bool constants_to_initializers(Model& model) {
  Graph& g = model.graph;
  bool changed = false;
  // One sweep: a moved Constant is only marked, so later indices stay put.
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.op_type != "Constant" || !n.is_default_domain() || n.outputs.size() != 1 ||
        g.is_graph_output(n.outputs[0]) || g.find_initializer(n.outputs[0]))
      continue;
    std::optional<Tensor> v = constant_value(n);
    if (!v || !v->has_data()) continue;
    const std::string out = n.outputs[0];
    g.remove_node(static_cast<int>(i));
    add_named_constant(model, out, std::move(*v));
    changed = true;
  }
  g.compact();
  return changed;
}

namespace {

class ConstantFolding final : public Pass {
 public:
  bool run(Model& model) override {
    bool changed = constants_to_initializers(model);
    Graph& g = model.graph;
    // One sweep in topological order: a folded node becomes initializers that later nodes
    // fold from; it is only marked, so later indices stay put.
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      std::optional<std::vector<Tensor>> out = try_fold(model, g.nodes[i]);
      if (!out) continue;
      const std::vector<std::string> outputs = g.nodes[i].outputs;
      g.remove_node(static_cast<int>(i));
      for (size_t o = 0; o < outputs.size(); ++o)
        if (!outputs[o].empty()) add_named_constant(model, outputs[o], (*out)[o]);
      changed = true;
    }
    g.compact();
    return changed;
  }

 private:
  // Ops the reference provider failed on: not retried in later rounds.
  std::unordered_set<std::string> failed_;

  std::optional<std::vector<Tensor>> try_fold(const Model& model, const Node& n) {
    const Graph& g = model.graph;
    if (!n.is_default_domain() || never_fold().count(n.op_type) || has_subgraph(n) ||
        n.outputs.empty() || failed_.count(n.op_type))
      return std::nullopt;
    for (const std::string& o : n.outputs)
      if (!o.empty() && (g.is_graph_output(o) || g.find_initializer(o))) return std::nullopt;
    std::vector<const Tensor*> in;
    int64_t in_total = 0;
    for (const std::string& s : n.inputs) {
      if (s.empty()) {
        in.push_back(nullptr);
        continue;
      }
      const Tensor* t = constant_of(g, s);
      if (!t || t->dtype() == DType::kString) return std::nullopt;
      in.push_back(t);
      in_total += t->numel();
    }
    const int64_t est = estimate_output(g, n, in);
    if (est < 0 || est > kMaxElements || est > std::max(in_total, kSmallElements))
      return std::nullopt;

    const NodeEvaluator evaluate = node_evaluator();
    if (!evaluate) return std::nullopt;  // a program without the runtime
    std::vector<Tensor> result;
    try {
      result = evaluate(n, model.opset(n.domain), in);
    } catch (const Error& e) {
      // No reference kernel (or it rejects the node): leave the node to the runtime.
      if (std::string(e.what()).find("no provider can run") != std::string::npos)
        failed_.insert(n.op_type);
      return std::nullopt;
    } catch (const std::exception&) {
      return std::nullopt;
    }
    int64_t total = 0;
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      if (n.outputs[o].empty()) continue;
      if (!result[o].has_data()) return std::nullopt;
      total += result[o].numel();
    }
    if (total > kMaxElements || total > std::max(in_total, kSmallElements)) return std::nullopt;
    return result;
  }
};

EDGEOPT_REGISTER_PASS(ConstantFolding, "constant_folding", 40, 1);

}  // namespace
}  // namespace edgeopt::passes
