// shape_folding: Shape (and Size) of a value whose shape is static becomes a constant.
//
// Exporters compute reshape targets at run time: Shape → Gather → Unsqueeze → Concat →
// Reshape. When ONNX shape inference (Graph::inferred) or declared value info gives a static
// shape, the Shape node is replaced by an int64 initializer, constant_folding then folds the
// Gather/Unsqueeze/Concat chain, and the Reshape gets a constant target.
// With a partly symbolic shape (dynamic batch), Gather(Shape(x), i) still becomes a constant
// when every dim it picks is static.
#include "pass_util.h"

namespace edgeopt::passes {
namespace {

class ShapeFolding final : public Pass {
 public:
  bool run(Model& model) override {
    Graph& g = model.graph;
    bool changed = false;
    // One sweep: a folded node is only marked, so later indices stay put.
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      std::optional<Tensor> v = fold(g, n);
      if (!v) continue;
      const std::string out = n.outputs[0];
      g.remove_node(static_cast<int>(i));
      if (model.ir_version < 4) {
        ValueInfo vi;
        vi.name = out;
        vi.dtype = DType::kI64;
        vi.has_shape = true;
        for (int64_t d : v->shape()) vi.dims.push_back({d, ""});
        g.inputs.push_back(vi);
      }
      g.add_initializer(out, std::move(*v));
      changed = true;
    }
    g.compact();
    return changed;
  }

 private:
  // Dims (-1 when not static) that Shape node `n` returns, or nullopt when x's rank is unknown.
  static std::optional<std::vector<int64_t>> shape_dims(const Graph& g, const Node& n) {
    std::vector<int64_t> all;
    if (const std::optional<Shape> s = static_shape_of(g, n.inputs[0])) {
      all = *s;
    } else {
      const ValueInfo* v = g.find_value_info(n.inputs[0]);
      auto it = g.inferred.find(n.inputs[0]);
      if ((!v || !v->has_shape) && it != g.inferred.end()) v = &it->second;
      if (!v || !v->has_shape) return std::nullopt;
      for (const Dim& d : v->dims) all.push_back(d.is_static() ? d.value : -1);
    }
    // Shape-15: optional [start, end) slice of the dims, negative values count from the end,
    // clamped to [0, rank].
    const int64_t rank = static_cast<int64_t>(all.size());
    auto clamp = [&](int64_t v) {
      if (v < 0) v += rank;
      return std::min(std::max<int64_t>(v, 0), rank);
    };
    const int64_t start = clamp(n.attr_int("start", 0));
    const int64_t end = clamp(n.attr_int("end", rank));
    std::vector<int64_t> dims;
    for (int64_t k = start; k < end; ++k) dims.push_back(all[k]);
    return dims;
  }

  static std::optional<Tensor> fold(const Graph& g, const Node& n) {
    if (!n.is_default_domain() || n.outputs.size() != 1 || n.input(0).empty() ||
        g.is_graph_output(n.outputs[0]))
      return std::nullopt;
    if (n.op_type == "Gather") return fold_gather(g, n);
    if (n.op_type != "Shape" && n.op_type != "Size") return std::nullopt;
    if (n.op_type == "Size") {
      const std::optional<Shape> s = static_shape_of(g, n.inputs[0]);
      if (!s) return std::nullopt;
      return Tensor::scalar<int64_t>(shape_numel(*s));
    }
    const auto dims = shape_dims(g, n);
    if (!dims) return std::nullopt;
    for (int64_t d : *dims)
      if (d < 0) return std::nullopt;
    return Tensor::from_vector<int64_t>(*dims, {static_cast<int64_t>(dims->size())});
  }

  // Gather(Shape(x), indices) with constant indices picking only static dims.
  static std::optional<Tensor> fold_gather(const Graph& g, const Node& n) {
    const Tensor* idx = constant_of(g, n.input(1));
    const int p = g.producer(n.inputs[0]);
    if (!idx || p < 0 || g.nodes[p].op_type != "Shape" ||
        (n.attr_int("axis", 0) != 0 && n.attr_int("axis", 0) != -1) || g.nodes[p].input(0).empty())
      return std::nullopt;
    const auto dims = shape_dims(g, g.nodes[p]);
    if (!dims) return std::nullopt;
    const int64_t r = static_cast<int64_t>(dims->size());
    Tensor out(DType::kI64, idx->shape());
    for (int64_t k = 0; k < idx->numel(); ++k) {
      int64_t i = idx->get_i64(k);
      if (i < 0) i += r;
      if (i < 0 || i >= r || (*dims)[i] < 0) return std::nullopt;
      out.data<int64_t>()[k] = (*dims)[i];
    }
    return out;
  }
};

EDGEOPT_REGISTER_PASS(ShapeFolding, "shape_folding", 30, 1, {"Shape", "Size"});

}  // namespace
}  // namespace edgeopt::passes
