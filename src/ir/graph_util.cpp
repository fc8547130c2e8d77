#include "ir/graph_util.h"

#include <algorithm>

#include "ir/shape_hints.h"

namespace edgeopt {

const Tensor* constant_of(const Graph& g, const std::string& name) {
  if (name.empty()) return nullptr;
  const NamedTensor* t = g.find_initializer(name);
  if (!t || g.is_graph_input(name) || !t->tensor.has_data()) return nullptr;
  return &t->tensor;
}

std::optional<Shape> static_shape_of(const Graph& g, const std::string& name) {
  if (const NamedTensor* t = g.find_initializer(name)) return t->tensor.shape();
  if (const ValueInfo* v = g.find_value_info(name)) {
    if (auto s = v->static_shape()) return s;
  }
  // value_info may list a name without a shape while inference found one.
  auto it = g.inferred.find(name);
  if (it != g.inferred.end()) return it->second.static_shape();
  return std::nullopt;
}

DType dtype_of_value(const Graph& g, const std::string& name) {
  if (const NamedTensor* t = g.find_initializer(name)) return t->tensor.dtype();
  if (const ValueInfo* v = g.find_value_info(name))
    if (v->dtype != DType::kUndefined) return v->dtype;
  auto it = g.inferred.find(name);
  return it == g.inferred.end() ? DType::kUndefined : it->second.dtype;
}

int rank_of(const Graph& g, const std::string& name) {
  if (const NamedTensor* t = g.find_initializer(name)) return t->tensor.rank();
  if (const ValueInfo* v = g.find_value_info(name))
    if (v->has_shape) return static_cast<int>(v->dims.size());
  auto it = g.inferred.find(name);
  if (it != g.inferred.end() && it->second.has_shape)
    return static_cast<int>(it->second.dims.size());
  return -1;
}

std::vector<Dim> known_dims(const Graph& g, const std::string& name) {
  const ValueInfo* vi = g.find_value_info(name);
  if (!vi || !vi->has_shape) {
    auto it = g.inferred.find(name);
    if (it == g.inferred.end() || !it->second.has_shape) return {};
    vi = &it->second;
  }
  for (const Dim& d : vi->dims)
    if (!d.is_static() && d.param.empty()) return {};
  return vi->dims;
}

bool has_subgraph(const Node& n) {
  for (const Attribute& a : n.attributes)
    if (a.g || !a.graphs.empty()) return true;
  return false;
}

void subgraph_reads(const Node& n, std::unordered_set<std::string>& out) {
  for (std::string& s : n.outer_reads()) out.insert(std::move(s));
}

void forget_values(Graph& g, const std::unordered_set<std::string>& gone) {
  if (gone.empty()) return;
  std::erase_if(g.value_info, [&](const ValueInfo& v) { return gone.count(v.name) > 0; });
}

bool bypass_node(Graph& g, int index, std::string x, std::string y,
                 std::unordered_set<std::string>& gone) {
  if (x.empty() || y.empty() || x == y) return false;
  if (!g.is_graph_output(y)) {
    g.replace_uses(y, x);
    g.remove_node(index);
    gone.insert(y);
    return true;
  }
  // y must keep its name: make x's producer write y directly. Not possible when x is itself
  // a graph input, an initializer or another graph output (both names must survive).
  const int p = g.producer(x);
  if (p < 0 || g.is_graph_output(x) || g.is_graph_input(x) || g.find_initializer(x)) return false;
  const std::vector<std::string> outs = g.nodes[p].outputs;
  for (size_t k = 0; k < outs.size(); ++k)
    if (outs[k] == x) g.set_output(p, k, y);
  g.remove_node(index);
  g.replace_uses(x, y);
  gone.insert(x);
  auto it = g.inferred.find(x);
  if (it != g.inferred.end() && !g.inferred.count(y)) {
    ValueInfo vi = it->second;
    vi.name = y;
    g.inferred[y] = vi;
  }
  return true;
}

void add_named_constant(Model& m, const std::string& name, Tensor t) {
  if (m.ir_version < 4) {
    ValueInfo vi;
    vi.name = name;
    vi.dtype = t.dtype();
    vi.has_shape = true;
    for (int64_t d : t.shape()) vi.dims.push_back({d, ""});
    m.graph.inputs.push_back(vi);
  }
  m.graph.add_initializer(name, std::move(t));
}

std::string add_constant(Model& m, const std::string& prefix, Tensor t) {
  const std::string name = m.graph.unique_name(prefix);
  add_named_constant(m, name, std::move(t));
  return name;
}

std::string replace_constant(Model& m, const std::string& name, int reader, Tensor t) {
  Graph& g = m.graph;
  const std::vector<int> r = g.readers(name);
  if (r.size() == 1 && r[0] == reader && !g.is_graph_output(name)) {
    NamedTensor* nt = g.find_initializer(name);
    if (m.ir_version < 4 && nt->tensor.shape() != t.shape()) {
      for (ValueInfo& v : g.inputs)
        if (v.name == name) {
          v.dims.clear();
          for (int64_t d : t.shape()) v.dims.push_back({d, ""});
        }
    }
    nt->tensor = std::move(t);
    return name;
  }
  return add_constant(m, name, std::move(t));
}

bool is_private_intermediate(const Graph& g, const std::string& name) {
  if (name.empty() || g.is_graph_output(name) || g.is_graph_input(name) || g.find_initializer(name))
    return false;
  return g.readers(name).size() == 1;
}

bool is_real(DType t) {
  return t == DType::kF32 || t == DType::kF64 || t == DType::kF16 || t == DType::kBF16;
}

std::vector<double> to_doubles(const Tensor& t) {
  std::vector<double> v(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.get_f64(i);
  return v;
}

Tensor from_doubles(const std::vector<double>& v, DType dtype, const Shape& shape) {
  Tensor t(dtype, shape);
  for (size_t i = 0; i < v.size() && static_cast<int64_t>(i) < t.numel(); ++i) {
    switch (dtype) {
      case DType::kF32:
        t.data<float>()[i] = static_cast<float>(v[i]);
        break;
      case DType::kF64:
        t.data<double>()[i] = v[i];
        break;
      case DType::kF16:
        t.data<uint16_t>()[i] = f32_to_f16(static_cast<float>(v[i]));
        break;
      case DType::kBF16:
        t.data<uint16_t>()[i] = f32_to_bf16(static_cast<float>(v[i]));
        break;
      default:
        break;
    }
  }
  return t;
}

void refresh_shapes(Model& model) { refresh_shape_hints(model); }

}  // namespace edgeopt
