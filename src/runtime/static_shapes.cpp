// Shape hints from the kernels' own infer(): the shape inference of libedgeopt_rt, which has no
// ONNX schemas (ir/shape_hints.h). The graph is walked in order with meta tensors: a graph input
// with static dims, an initializer with its data, each node's outputs as the reference provider's
// kernel infers them. A small output of a node whose inputs are all known values (Shape → Gather →
// Concat feeding a Reshape) is computed, so that later nodes see a constant, as ONNX's data
// propagation does. A node the reference provider lacks (a provider's fused op) passes on the
// hints its outputs already have. Symbolic dims: the graph is walked twice, each symbol of the
// inputs' dims set to a different value in each walk; a dim equal in both is static, one that
// follows a symbol's values carries its name (as ONNX's inference does for the batch), any other
// a name made of its two values (equal dims, equal names).
#include <exception>
#include <map>
#include <unordered_map>

#include "ir/graph_util.h"
#include "ir/shape_hints.h"
#include "kernel.h"
#include "node_traits.h"

namespace edgeopt::rt {

namespace {

// Outputs computed while inferring: shape-like tensors only, never activations.
constexpr size_t kMaxComputedBytes = 4096;

// Symbolic dims are given a value for a pass: two passes with different values tell the dims
// that follow a symbol (the batch through every layer) from those that stay static.
using Substitution = std::map<std::string, int64_t>;

std::optional<Tensor> hint_tensor(const Graph& g, const std::string& name,
                                  const Substitution& sub) {
  const ValueInfo* v = g.find_value_info(name);
  if (!v || v->dtype == DType::kUndefined || !v->has_shape) return std::nullopt;
  Shape shape;
  for (const Dim& d : v->dims) {
    if (d.is_static()) {
      shape.push_back(d.value);
      continue;
    }
    auto it = sub.find(d.param);
    if (d.param.empty() || it == sub.end()) return std::nullopt;
    shape.push_back(it->second);
  }
  return Tensor::meta(v->dtype, shape);
}

// The node's outputs as its reference kernel gives them; empty when it cannot say.
std::vector<Tensor> infer_node(const Model& model, const Node& n,
                               const std::vector<const Tensor*>& in) {
  KernelInit init{n, model.opset(n.domain), {}, {}, 1, {fallback_provider()}, model.opset_imports,
                  {}};
  for (const Tensor* t : in) {
    init.constants.push_back(t && t->has_data() ? t : nullptr);
    init.input_dtypes.push_back(t ? t->dtype() : DType::kUndefined);
  }
  const KernelDef* def = KernelRegistry::global().find(fallback_provider(), init);
  if (!def) return {};
  try {
    std::unique_ptr<Kernel> kernel = def->make(init);
    InferContext ctx(n, in, n.outputs.size());
    kernel->infer(ctx);
    std::vector<Tensor> out = ctx.outputs();
    bool given = true, all_values = !is_nondeterministic(n);
    size_t bytes = 0;
    for (size_t o = 0; o < out.size(); ++o) {
      if (n.outputs[o].empty()) continue;
      if (!out[o].defined()) return {};
      given = given && out[o].has_data();
      bytes += out[o].nbytes();
    }
    for (const Tensor* t : in) all_values = all_values && (!t || t->has_data());
    if (given || !all_values || bytes > kMaxComputedBytes) return out;
    // Every input is a known value and the outputs are small: compute them.
    RunContext rc;
    rc.in = in;
    std::vector<Tensor> values;
    values.reserve(out.size());
    for (const Tensor& t : out) values.push_back(t.defined() ? Tensor(t.dtype(), t.shape()) : t);
    for (Tensor& t : values) rc.out.push_back(&t);
    std::vector<char> scratch(ctx.scratch_bytes());
    rc.scratch = scratch.data();
    kernel->run(rc);
    return values;
  } catch (const NeedValue&) {
    return {};
  } catch (const std::exception&) {
    return {};  // a hint only: the session reports the error when it plans the node
  }
}

// One pass over the graph with symbolic dims set as `sub` says: what each value is (meta or, for
// small computed ones, with data).
std::unordered_map<std::string, Tensor> infer_pass(const Model& model, const Substitution& sub) {
  const Graph& g = model.graph;
  std::unordered_map<std::string, Tensor> known;
  for (const NamedTensor& t : g.initializers) known[t.name] = t.tensor;
  for (const ValueInfo* v : g.real_inputs())
    if (std::optional<Tensor> t = hint_tensor(g, v->name, sub)) known[v->name] = *t;
  for (const Node& n : g.nodes) {
    std::vector<const Tensor*> in;
    bool complete = !has_subgraph(n);  // If, Loop, Scan: no hint
    for (const std::string& name : n.inputs) {
      if (!complete) break;
      if (name.empty()) {
        in.push_back(nullptr);
        continue;
      }
      auto it = known.find(name);
      if (it == known.end())
        complete = false;
      else
        in.push_back(&it->second);
    }
    std::vector<Tensor> out;
    if (complete) out = infer_node(model, n, in);
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      const std::string& name = n.outputs[o];
      if (name.empty()) continue;
      if (o < out.size() && out[o].defined())
        known[name] = out[o];
      else if (std::optional<Tensor> t = hint_tensor(g, name, sub))
        known[name] = *t;
    }
  }
  return known;
}

void infer_static_shapes(Model& model) {
  Graph& g = model.graph;
  // The symbols of the inputs' dims (a dim with no name gets one here, and is unknown after).
  Substitution first, second;
  std::map<std::pair<int64_t, int64_t>, std::string> symbol_of;
  int k = 0;
  std::vector<ValueInfo> inputs;
  for (const ValueInfo* v : g.real_inputs()) {
    for (const Dim& d : v->dims) {
      if (d.is_static() || first.count(d.param)) continue;
      const std::string name = d.param.empty() ? "?" + std::to_string(k) : d.param;
      // Values no model would have as a static dim, different in the two passes, apart between
      // symbols (H and W stay apart after a few strided layers), and multiples of 64 (feature
      // pyramids downsample and upsample back to sizes that must match).
      first[name] = 64 * (17 + 2 * k);
      second[name] = 64 * (67 + 2 * k);
      if (!d.param.empty()) symbol_of[{first[name], second[name]}] = name;
      ++k;
    }
  }
  const auto a = infer_pass(model, first);
  const auto b = k == 0 ? a : infer_pass(model, second);
  for (const Node& n : g.nodes)
    for (const std::string& name : n.outputs) {
      auto ia = a.find(name), ib = b.find(name);
      if (name.empty() || ia == a.end() || ib == b.end()) continue;
      const Tensor& ta = ia->second;
      const Tensor& tb = ib->second;
      if (ta.dtype() != tb.dtype() || ta.rank() != tb.rank()) continue;
      ValueInfo v;
      v.name = name;
      v.dtype = ta.dtype();
      v.has_shape = true;
      for (int d = 0; d < ta.rank(); ++d) {
        const int64_t x = ta.shape()[d], y = tb.shape()[d];
        Dim dim;
        if (x == y) {
          dim.value = x;
        } else if (auto it = symbol_of.find({x, y}); it != symbol_of.end()) {
          dim.param = it->second;
        } else {
          // A dim computed from the symbols (H/2 after a strided conv): named after its values
          // in the two passes, so that dims computed alike compare equal, as ONNX's unk__N
          // names let them.
          dim.param = "edgeopt.dim(" + std::to_string(x) + "," + std::to_string(y) + ")";
        }
        v.dims.push_back(std::move(dim));
      }
      g.inferred[name] = std::move(v);
    }
}

[[maybe_unused]] const bool registered = (set_kernel_shape_inference(&infer_static_shapes), true);

}  // namespace

}  // namespace edgeopt::rt
