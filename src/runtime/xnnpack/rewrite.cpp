// The XNNPACK provider's graph rewrite (run by the session on its own copy of the model):
//
//  1. identity_elimination, constant_folding and conv_bn_fold (passes/) so that BatchNorm is
//     folded into Conv and Constant nodes become initializers the kernel can read as weights.
//  2. Every node XNNPACK can take (see Taker) is put in a group; groups are grown along
//     producer → consumer edges in topological order, and a node joins a producer's group only
//     when no path leaves the group and comes back through another node (which would make the
//     collapsed node depend on itself).
//  3. Each group becomes one edgeopt.xnnpack.Subgraph node carrying the group's nodes.
//
// QDQ int8 models: QuantizeLinear and DequantizeLinear of activations (per tensor) are taken
// like any node; a DequantizeLinear of constant weights or biases is not a node of any group
// but is copied into every subgraph that reads it, so that the kernel sees the int8 weights and
// can run a Conv / Gemm / MatMul / pooling between DequantizeLinear and QuantizeLinear with
// XNNPACK's int8 operators (subgraph.cpp says which, and why Add stays in float).
//
// Inside a subgraph rank-4 values are NHWC (XNNPACK's layout); the kernel converts at the
// boundary, so the rest of the graph is untouched.
#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "common.h"
#include "ir/graph_util.h"
#include "quant.h"
#include "runtime/kernel.h"

namespace edgeopt::rt::xnnpack {
namespace {

bool is_f32(const Graph& g, const std::string& v) { return dtype_of_value(g, v) == DType::kF32; }

// Only the first output is used (optional outputs such as MaxPool's Indices are absent).
bool single_output(const Node& n) {
  if (n.outputs.empty() || n.outputs[0].empty()) return false;
  for (size_t i = 1; i < n.outputs.size(); ++i)
    if (!n.outputs[i].empty()) return false;
  return true;
}

bool all_ones(const std::vector<int64_t>& v) {
  return std::all_of(v.begin(), v.end(), [](int64_t x) { return x == 1; });
}

bool known_auto_pad(const Node& n) {
  const std::string a = n.attr_string("auto_pad", "NOTSET");
  return a == "NOTSET" || a == "VALID" || a == "SAME_UPPER" || a == "SAME_LOWER";
}

// Decides which nodes the Subgraph kernel can run. A DequantizeLinear of constant data (int8
// weights, int32 biases) counts as a constant of the dequantized values' shape: the kernel reads
// it as quantized weights, or dequantizes it for a float operator.
class Taker {
 public:
  Taker(const Graph& graph, int64_t opset) : g(graph), opset(opset) {
    for (const Node& n : g.nodes)
      if (n.op_type == "DequantizeLinear" && is_default_domain(n) && single_output(n) &&
          opset >= 10)
        if (auto q = static_quant(n, lookup()))
          dq_meta_.emplace(n.outputs[0], Tensor::meta(DType::kF32, q->data->shape()));
  }

  // A DequantizeLinear of constants (see static_quant): cloned into every subgraph that reads
  // it instead of grouped as a node.
  bool is_static_dq(const Node& n) const {
    return n.op_type == "DequantizeLinear" && !n.outputs.empty() && dq_meta_.count(n.outputs[0]) &&
           is_default_domain(n);
  }

  // An initializer, or the output of a static DequantizeLinear (then only its shape is known).
  const Tensor* constant(const std::string& v) const {
    if (const Tensor* t = constant_of(g, v)) return t;
    auto it = dq_meta_.find(v);
    return it == dq_meta_.end() ? nullptr : &it->second;
  }

  bool takes_conv(const Node& n) const {
    if (!is_f32(g, n.inputs[0]) || rank_of(g, n.inputs[0]) != 4 || n.inputs.size() < 2)
      return false;
    const Tensor* w = constant(n.input(1));
    if (!w || w->dtype() != DType::kF32 || w->rank() != 4) return false;
    if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
      const Tensor* b = constant(n.inputs[2]);
      if (!b || b->dtype() != DType::kF32 || b->numel() != w->dim(0)) return false;
    }
    const int64_t group = n.attr_int("group", 1);
    if (group < 1 || w->dim(0) % group != 0) return false;
    const std::vector<int64_t> ks = n.attr_ints("kernel_shape");
    if (!ks.empty() && (ks.size() != 2 || ks[0] != w->dim(2) || ks[1] != w->dim(3))) return false;
    for (const char* a : {"strides", "dilations"}) {
      const std::vector<int64_t> v = n.attr_ints(a);
      if (!v.empty() && (v.size() != 2 || v[0] < 1 || v[1] < 1)) return false;
    }
    const std::vector<int64_t> pads = n.attr_ints("pads");
    if (!pads.empty() && pads.size() != 4) return false;
    return known_auto_pad(n);
  }

  bool takes_pool(const Node& n) const {
    if (!is_f32(g, n.inputs[0]) || rank_of(g, n.inputs[0]) != 4) return false;
    if (n.op_type == "GlobalAveragePool") return true;
    const std::vector<int64_t> ks = n.attr_ints("kernel_shape");
    // XNNPACK rejects 1x1 pooling windows (they are copies).
    if (ks.size() != 2 || ks[0] * ks[1] < 2) return false;
    if (n.attr_int("ceil_mode", 0) != 0 || !known_auto_pad(n)) return false;
    const std::vector<int64_t> strides = n.attr_ints("strides");
    if (!strides.empty() && (strides.size() != 2 || strides[0] < 1 || strides[1] < 1)) return false;
    const std::vector<int64_t> pads = n.attr_ints("pads");
    if (!pads.empty() && pads.size() != 4) return false;
    const bool padded = std::any_of(pads.begin(), pads.end(), [](int64_t p) { return p != 0; }) ||
                        n.attr_string("auto_pad", "NOTSET").rfind("SAME", 0) == 0;
    if (n.op_type == "MaxPool") {
      if (n.attr_int("storage_order", 0) != 0) return false;
      const std::vector<int64_t> d = n.attr_ints("dilations");
      return d.empty() || (d.size() == 2 && d[0] >= 1 && d[1] >= 1);
    }
    // XNNPACK's average pooling divides by the number of real (not padding) pixels: ONNX
    // count_include_pad = 0. With padding and count_include_pad = 1 it would differ at borders.
    if (!n.attr_ints("dilations").empty() && !all_ones(n.attr_ints("dilations"))) return false;
    return !(padded && n.attr_int("count_include_pad", 0) != 0);
  }

  // Gemm: Y = alpha * A * B' + beta * C with A [M, K] an activation, B constant, C constant and
  // broadcast along rows ([N], [1, N] or a scalar): a fully connected layer.
  bool takes_gemm(const Node& n) const {
    if (n.inputs.size() < 2 || !is_f32(g, n.inputs[0]) || rank_of(g, n.inputs[0]) != 2)
      return false;
    if (n.attr_int("transA", 0) != 0) return false;
    const Tensor* b = constant(n.inputs[1]);
    if (!b || b->dtype() != DType::kF32 || b->rank() != 2) return false;
    const int64_t out = n.attr_int("transB", 0) ? b->dim(0) : b->dim(1);
    if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
      const Tensor* c = constant(n.inputs[2]);
      if (!c || c->dtype() != DType::kF32) return false;
      const bool row = (c->rank() == 1 && c->dim(0) == out) ||
                       (c->rank() == 2 && c->dim(0) == 1 && c->dim(1) == out) || c->numel() == 1;
      if (!row) return false;
    }
    return true;
  }

  // MatMul with a constant [K, N] right operand and a rank-2 or rank-3 activation (rank 4 is
  // NHWC inside a subgraph, where "the last dim" would be channels instead of width).
  bool takes_matmul(const Node& n) const {
    const int r = rank_of(g, n.inputs[0]);
    if (!is_f32(g, n.inputs[0]) || (r != 2 && r != 3)) return false;
    const Tensor* b = constant(n.input(1));
    return b && b->dtype() == DType::kF32 && b->rank() == 2;
  }

  // Flatten(axis=1) of an [N, C, 1, 1] value: the same bytes in NCHW and NHWC, so a reshape.
  bool takes_flatten(const Node& n) const {
    if (!is_f32(g, n.inputs[0]) || n.attr_int("axis", 1) != 1) return false;
    const ValueInfo* vi = g.find_value_info(n.inputs[0]);
    if (!vi || !vi->has_shape) {
      auto it = g.inferred.find(n.inputs[0]);
      if (it == g.inferred.end()) return false;
      vi = &it->second;
    }
    // The batch dim may be symbolic; H and W must be 1.
    return vi->has_shape && vi->dims.size() == 4 && vi->dims[2].value == 1 &&
           vi->dims[3].value == 1;
  }

  // Add/Mul: numpy broadcasting. Non-constant operands must have the output's rank (rank-4
  // values are NHWC in the subgraph; a lower-rank activation would broadcast along the wrong
  // axes); constants of lower rank are aligned and permuted by the kernel.
  bool takes_binary(const Node& n) const {
    if (opset < 7 || n.inputs.size() != 2) return false;
    int out_rank = 0;
    for (const std::string& v : n.inputs) {
      if (v.empty() || !is_f32(g, v)) return false;
      const int r = rank_of(g, v);
      if (r < 0 || r > 4) return false;
      out_rank = std::max(out_rank, r);
    }
    bool any_value = false;
    for (const std::string& v : n.inputs) {
      if (constant(v)) continue;
      any_value = true;
      if (rank_of(g, v) != out_rank) return false;
    }
    return any_value && out_rank >= 1;
  }

  bool takes_unary(const Node& n) const {
    if (!is_f32(g, n.inputs[0]) || rank_of(g, n.inputs[0]) < 1) return false;
    if (n.op_type != "Clip" || opset < 11) return true;
    for (size_t i = 1; i < n.inputs.size(); ++i) {
      if (n.inputs[i].empty()) continue;
      const Tensor* c = constant(n.inputs[i]);
      if (!c || c->dtype() != DType::kF32 || c->numel() != 1) return false;
    }
    return true;
  }

  // True when the XNNPACK Subgraph kernel can run node n.
  bool takes(const Node& n) const {
    if (!is_default_domain(n) || n.inputs.empty() || n.inputs[0].empty() || !single_output(n))
      return false;
    const std::string& op = n.op_type;
    if (op == "Conv") return takes_conv(n);
    if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool") return takes_pool(n);
    if (op == "Gemm") return takes_gemm(n);
    if (op == "MatMul") return takes_matmul(n);
    if (op == "Flatten") return takes_flatten(n);
    if (op == "Add" || op == "Mul") return takes_binary(n);
    if (op == "QuantizeLinear") return takes_quantize(n);
    if (op == "DequantizeLinear") return takes_dequantize(n);
    if (op == "Relu" || op == "Clip" || op == "Sigmoid" || op == "HardSwish" || op == "LeakyRelu" ||
        op == "Elu")
      return opset >= 6 && takes_unary(n);
    return false;
  }

 private:
  ConstantLookup lookup() const {
    return [this](const std::string& v) { return constant_of(g, v); };
  }

  // QuantizeLinear of a float activation to 8 bits, per tensor.
  bool takes_quantize(const Node& n) const {
    const int r = rank_of(g, n.inputs[0]);
    return opset >= 10 && is_f32(g, n.inputs[0]) && r >= 1 && r <= 4 &&
           act_quant(n, lookup()).has_value();
  }

  // DequantizeLinear of an 8-bit activation, per tensor. The kernel reads the int8 value with
  // the parameters it was defined with (its QuantizeLinear's, or the first reader's for a
  // subgraph input), so every DequantizeLinear of the value must use those same parameters.
  bool takes_dequantize(const Node& n) const {
    const std::string& x = n.inputs[0];
    const DType dt = dtype_of_value(g, x);
    const int r = rank_of(g, x);
    if (opset < 10 || constant_of(g, x) || (dt != DType::kU8 && dt != DType::kI8) || r < 1 || r > 4)
      return false;
    const std::optional<ActQuant> q = act_quant(n, lookup());
    if (!q || q->dtype != dt) return false;
    const int p = g.producer(x);
    if (p >= 0 && g.nodes[p].op_type == "QuantizeLinear" && is_default_domain(g.nodes[p])) {
      const std::optional<ActQuant> pq = act_quant(g.nodes[p], lookup());
      if (!pq || !(*pq == *q)) return false;
    }
    for (int r2 : g.readers(x)) {
      const Node& o = g.nodes[r2];
      if (o.op_type != "DequantizeLinear") continue;
      const std::optional<ActQuant> oq = act_quant(o, lookup());
      if (!oq || !(*oq == *q)) return false;
    }
    return true;
  }

  const Graph& g;
  const int64_t opset;
  std::unordered_map<std::string, Tensor> dq_meta_;
};

ValueInfo info_of(const Graph& g, const std::string& v) {
  if (const ValueInfo* vi = g.find_value_info(v)) return *vi;
  ValueInfo out;
  out.name = v;
  if (const Tensor* t = constant_of(g, v)) {
    out.dtype = t->dtype();
    out.has_shape = true;
    for (int64_t d : t->shape()) out.dims.push_back(Dim{d, ""});
  }
  return out;
}

void rewrite(Model& m, int /*threads*/) {
  Graph& g = m.graph;
  const int64_t opset = m.opset("");
  const size_t n_nodes = g.nodes.size();
  const Taker taker(g, opset);

  std::unordered_map<std::string, int> producer;
  for (size_t i = 0; i < n_nodes; ++i)
    for (const std::string& o : g.nodes[i].outputs)
      if (!o.empty()) producer[o] = static_cast<int>(i);

  // Node i's producers: direct inputs and outer values read from inside subgraphs.
  auto producers_of = [&](const Node& n) {
    std::unordered_set<std::string> reads(n.inputs.begin(), n.inputs.end());
    if (has_subgraph(n)) subgraph_reads(n, reads);
    std::vector<int> p;
    for (const std::string& v : reads) {
      auto it = producer.find(v);
      if (!v.empty() && it != producer.end()) p.push_back(it->second);
    }
    std::sort(p.begin(), p.end());
    return p;
  };

  std::vector<int> group(n_nodes, -1);
  std::vector<std::set<int>> deps(n_nodes);  // groups node i depends on, its own included
  int n_groups = 0;
  for (size_t i = 0; i < n_nodes; ++i) {
    const Node& n = g.nodes[i];
    const std::vector<int> prods = producers_of(n);
    std::set<int> d;
    for (int p : prods) d.insert(deps[p].begin(), deps[p].end());
    if (taker.takes(n)) {
      for (int p : prods) {
        const int cand = group[p];
        if (cand < 0) continue;
        // Joining `cand` is safe when no other producer depends on `cand`: otherwise a path
        // cand → (outside) → n would become a cycle through the collapsed node.
        bool safe = true;
        for (int q : prods)
          if (group[q] != cand && deps[q].count(cand)) safe = false;
        if (safe) {
          group[i] = cand;
          break;
        }
      }
      if (group[i] < 0) group[i] = n_groups++;
      d.insert(group[i]);
    }
    deps[i] = std::move(d);
  }
  if (n_groups == 0) return;

  // Values read outside each group (by nodes of other groups, ungrouped nodes, or as graph
  // outputs) become the collapsed node's outputs.
  std::unordered_map<std::string, std::set<int>> read_by;  // value → reader groups (-1 outside)
  for (size_t i = 0; i < n_nodes; ++i) {
    const Node& n = g.nodes[i];
    std::unordered_set<std::string> reads(n.inputs.begin(), n.inputs.end());
    if (has_subgraph(n)) subgraph_reads(n, reads);
    for (const std::string& v : reads)
      if (!v.empty()) read_by[v].insert(group[i] >= 0 ? group[i] : -1 - static_cast<int>(i));
  }

  std::vector<char> static_dq_node(n_nodes);
  for (size_t i = 0; i < n_nodes; ++i) static_dq_node[i] = taker.is_static_dq(g.nodes[i]);
  std::vector<Node> out_nodes;
  std::vector<char> emitted(n_groups, 0);
  for (size_t i = 0; i < n_nodes; ++i) {
    const int gi = group[i];
    if (gi < 0) {
      if (!static_dq_node[i]) {
        out_nodes.push_back(std::move(g.nodes[i]));
        continue;
      }
      // Static DequantizeLinear nodes are copied into the groups that read them; the graph
      // keeps one only for other readers. Never moved: a later group may still copy it.
      const std::string& o = g.nodes[i].outputs[0];
      bool outside = g.is_graph_output(o);
      for (int r : read_by[o]) outside |= r < 0;
      if (outside) out_nodes.push_back(g.nodes[i]);
      continue;
    }
    if (emitted[gi]) continue;
    emitted[gi] = 1;
    auto body = std::make_shared<Graph>();
    body->name = "xnnpack_subgraph_" + std::to_string(gi);
    std::unordered_set<std::string> produced;
    std::vector<std::string> ext_in, ext_out;
    std::set<int> static_dq;  // the static DequantizeLinear nodes the group reads
    for (size_t k = i; k < n_nodes; ++k)
      if (group[k] == gi)
        for (const std::string& v : g.nodes[k].inputs) {
          auto p = producer.find(v);
          if (!v.empty() && p != producer.end() && static_dq_node[p->second])
            static_dq.insert(p->second);
        }
    for (int k : static_dq) {
      for (const std::string& v : g.nodes[k].inputs)
        if (!v.empty() && std::find(ext_in.begin(), ext_in.end(), v) == ext_in.end())
          ext_in.push_back(v);
      produced.insert(g.nodes[k].outputs[0]);
      body->nodes.push_back(g.nodes[k]);
    }
    for (size_t k = i; k < n_nodes; ++k) {
      if (group[k] != gi) continue;
      const Node& n = g.nodes[k];
      for (const std::string& v : n.inputs)
        if (!v.empty() && !produced.count(v) &&
            std::find(ext_in.begin(), ext_in.end(), v) == ext_in.end())
          ext_in.push_back(v);
      for (const std::string& o : n.outputs) {
        if (o.empty()) continue;
        produced.insert(o);
        bool outside = g.is_graph_output(o);
        for (int r : read_by[o]) outside |= r != gi;
        if (outside) ext_out.push_back(o);
      }
    }
    for (size_t k = i; k < n_nodes; ++k)
      if (group[k] == gi) body->nodes.push_back(g.nodes[k]);
    for (const std::string& v : ext_in) body->inputs.push_back(info_of(g, v));
    for (const std::string& v : ext_out) body->outputs.push_back(info_of(g, v));
    Node sub;
    sub.name = g.unique_name("xnnpack_subgraph_" + std::to_string(gi));
    sub.op_type = "Subgraph";
    sub.domain = kDomain;
    sub.inputs = ext_in;
    sub.outputs = ext_out;
    sub.set_attr_int(kOpsetAttr, opset);
    Attribute a;
    a.name = kBodyAttr;
    a.type = AttrType::kGraph;
    a.g = body;
    sub.attributes.push_back(std::move(a));
    out_nodes.push_back(std::move(sub));
  }
  g.nodes = std::move(out_nodes);
  g.invalidate_index();
  bool have = false;
  for (const OpsetImport& o : m.opset_imports) have |= o.domain == kDomain;
  if (!have) m.opset_imports.push_back({kDomain, 1});
  g.topological_sort();
}

GraphRewriteRegistrar registrar(GraphRewrite{kProvider, "xnnpack_partition", rewrite});

// The ARM/portable fast provider: the default on every platform where no faster one is built.
EDGEOPT_REGISTER_PROVIDER(kProvider, /*priority=*/1, /*default_here=*/true, /*fallback=*/false,
                          {"identity_elimination", "constant_folding", "conv_bn_fold"});

}  // namespace
}  // namespace edgeopt::rt::xnnpack
