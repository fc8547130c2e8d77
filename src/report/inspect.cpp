#include "edgeopt/inspect.h"

#include <onnx/onnx_pb.h>
#include <zlib.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "edgeopt/error.h"
#include "edgeopt/fileio.h"
#include "edgeopt/input_shapes.h"
#include "ir/onnx_proto_utils.h"

namespace edgeopt {

namespace {

ValueInfo info_from_proto(const onnx::ValueInfoProto& vp) {
  ValueInfo v;
  v.name = vp.name();
  if (!vp.type().has_tensor_type()) return v;
  const auto& tt = vp.type().tensor_type();
  v.dtype = dtype_known(tt.elem_type()) ? static_cast<DType>(tt.elem_type()) : DType::kUndefined;
  if (!tt.has_shape()) return v;
  v.has_shape = true;
  for (const auto& d : tt.shape().dim()) {
    Dim dim;
    if (d.has_dim_value() && d.dim_value() >= 0)
      dim.value = d.dim_value();
    else if (d.has_dim_param())
      dim.param = d.dim_param();
    v.dims.push_back(dim);
  }
  return v;
}

int64_t deflated_size(const std::string& bytes) {
  uLongf bound = compressBound(bytes.size());
  std::string out(bound, '\0');
  if (compress2(reinterpret_cast<Bytef*>(out.data()), &bound,
                reinterpret_cast<const Bytef*>(bytes.data()), bytes.size(), 6) != Z_OK)
    return 0;
  return static_cast<int64_t>(bound);
}

// Product of a weight's dims after the first: (Cin/group) × kernel area of a Conv weight
// [Cout, Cin/g, k...], (Cout/group) × kernel area of a ConvTranspose weight [Cin, Cout/g, k...].
int64_t per_element(const Shape& w) {
  int64_t per = 1;
  for (size_t d = 1; d < w.size(); ++d) per *= w[d];
  return per;
}

// Conv with its weight at input `w`: out elements × (Cin/group) × kernel area.
int64_t conv_macs(const NodeStats& ns, size_t w) {
  if (ns.output_known.empty() || !ns.output_known[0] || ns.input_known.size() <= w ||
      !ns.input_known[w])
    return 0;
  return shape_numel(ns.output_shapes[0]) * per_element(ns.input_shapes[w]);
}

// ConvTranspose: in elements × (Cout/group) × kernel area.
int64_t conv_transpose_macs(const NodeStats& ns) {
  if (ns.input_known.size() <= 1 || !ns.input_known[0] || !ns.input_known[1]) return 0;
  return shape_numel(ns.input_shapes[0]) * per_element(ns.input_shapes[1]);
}

// Gemm / MatMul with B at input `w`: M × N × K (× batch), i.e. out elements × K, K the last
// dim of A (its first with Gemm's transA).
int64_t matmul_macs(const Node& n, const NodeStats& ns, size_t w) {
  if (ns.input_known.size() <= w || !ns.input_known[0] || !ns.input_known[w] ||
      ns.output_known.empty() || !ns.output_known[0])
    return 0;
  const Shape& as = ns.input_shapes[0];
  int64_t k = as.empty() ? 1 : as.back();
  if (n.op_type == "Gemm" && n.attr_int("transA", 0) && as.size() == 2) k = as[0];
  return shape_numel(ns.output_shapes[0]) * k;
}

// The cost of an op type: its MACs from the node's input and output shapes (0 when a shape it
// needs is unknown), and whether it runs on integers whatever its inputs. An op not listed
// counts no MACs.
struct OpCost {
  int64_t (*macs)(const Node& n, const NodeStats& ns);
  bool integer;
};

const std::map<std::string, OpCost>& op_costs() {
  static const std::map<std::string, OpCost> kCosts = {
      {"Conv", {[](const Node&, const NodeStats& ns) { return conv_macs(ns, 1); }, false}},
      {"ConvInteger", {[](const Node&, const NodeStats& ns) { return conv_macs(ns, 1); }, true}},
      {"QLinearConv", {[](const Node&, const NodeStats& ns) { return conv_macs(ns, 3); }, true}},
      {"ConvTranspose",
       {[](const Node&, const NodeStats& ns) { return conv_transpose_macs(ns); }, false}},
      {"Gemm", {[](const Node& n, const NodeStats& ns) { return matmul_macs(n, ns, 1); }, false}},
      {"MatMul", {[](const Node& n, const NodeStats& ns) { return matmul_macs(n, ns, 1); }, false}},
      {"MatMulInteger",
       {[](const Node& n, const NodeStats& ns) { return matmul_macs(n, ns, 1); }, true}},
      {"QLinearMatMul",
       {[](const Node& n, const NodeStats& ns) { return matmul_macs(n, ns, 3); }, true}},
  };
  return kCosts;
}

}  // namespace

std::map<std::string, ValueInfo> infer_shapes_for_batch(const Model& model, int64_t batch) {
  // A symbolic spatial or sequence dim changes every figure: the user gives it (--shape) rather
  // than getting numbers for a made-up size.
  require_static_dims(model);
  onnx::ModelProto mp = model_to_proto_for_inference(model);
  mp.clear_functions();
  auto* g = mp.mutable_graph();
  std::unordered_set<std::string> inits;
  for (const auto& t : g->initializer()) inits.insert(t.name());
  for (auto& in : *g->mutable_input()) {
    if (inits.count(in.name()) || !in.type().has_tensor_type()) continue;
    auto* shape = in.mutable_type()->mutable_tensor_type()->mutable_shape();
    if (shape->dim_size() == 0) continue;
    auto* d0 = shape->mutable_dim(0);
    if (!d0->has_dim_value() || batch != 1) d0->set_dim_value(batch);
  }
  // Declared intermediate and output shapes may carry the exported batch: let inference redo them.
  g->clear_value_info();
  for (auto& out : *g->mutable_output())
    if (out.type().has_tensor_type()) out.mutable_type()->mutable_tensor_type()->clear_shape();
  std::string error;
  if (!infer_shapes_isolated(mp, &error)) fail_input("shape inference failed: ", error);
  std::map<std::string, ValueInfo> shapes;
  for (const auto& v : g->input()) shapes[v.name()] = info_from_proto(v);
  for (const auto& v : g->value_info()) shapes[v.name()] = info_from_proto(v);
  for (const auto& v : g->output()) shapes[v.name()] = info_from_proto(v);
  for (const NamedTensor& t : model.graph.initializers) {
    ValueInfo v;
    v.name = t.name;
    v.dtype = t.tensor.dtype();
    v.has_shape = true;
    for (int64_t d : t.tensor.shape()) v.dims.push_back({d, ""});
    shapes[t.name] = v;
  }
  return shapes;
}

namespace {

// Elements equal to zero; for floats -0.0 too (only the sign bit set).
template <class Bits>
int64_t count_zero_bits(const Bits* p, int64_t n, Bits ignore) {
  int64_t zeros = 0;
  for (int64_t i = 0; i < n; ++i) zeros += (p[i] & ~ignore) == 0;
  return zeros;
}

int64_t count_zeros(const Tensor& t) {
  const bool is_float = dtype_is_float(t.dtype());
  switch (dtype_size(t.dtype())) {
    case 1:
      return count_zero_bits<uint8_t>(t.data<uint8_t>(), t.numel(), 0);
    case 2:
      return count_zero_bits<uint16_t>(t.data<uint16_t>(), t.numel(), is_float ? 0x8000 : 0);
    case 4:
      return count_zero_bits<uint32_t>(t.data<uint32_t>(), t.numel(), is_float ? 0x80000000u : 0);
    case 8:
      return count_zero_bits<uint64_t>(t.data<uint64_t>(), t.numel(),
                                       is_float ? uint64_t{1} << 63 : 0);
    default: {
      int64_t zeros = 0;
      for (int64_t i = 0; i < t.numel(); ++i) zeros += t.get_f64(i) == 0.0;
      return zeros;
    }
  }
}

}  // namespace

ModelStats inspect_model(const Model& model, int64_t batch, const std::filesystem::path& file) {
  if (batch < 1) fail_input("--batch must be at least 1");
  ModelStats s;
  s.batch = batch;
  s.symbolic_batch = symbolic_batch_inputs(model);
  if (!file.empty()) {
    const std::string bytes = read_file(file);
    s.file_bytes = static_cast<int64_t>(bytes.size());
    s.compressed_bytes = deflated_size(bytes);
  }
  const Graph& g = model.graph;
  const auto shapes = infer_shapes_for_batch(model, batch);
  auto static_shape = [&](const std::string& name, Shape& out) {
    auto it = shapes.find(name);
    if (it == shapes.end()) return false;
    auto s = it->second.static_shape();
    if (!s) return false;
    out = *s;
    return true;
  };
  auto value_bytes = [&](const std::string& name) -> int64_t {
    auto it = shapes.find(name);
    Shape sh;
    if (it == shapes.end() || !static_shape(name, sh)) return 0;
    return shape_numel(sh) * static_cast<int64_t>(dtype_size(it->second.dtype));
  };

  // Weights: initializers and the tensors of Constant nodes (older exporters and TF converters
  // keep weights there), by the name nodes read them under.
  std::unordered_map<std::string, const Tensor*> inits;
  for (const NamedTensor& t : g.initializers) inits[t.name] = &t.tensor;
  std::unordered_set<std::string> constant_outputs;
  for (const Node& n : g.nodes) {
    const Attribute* value = n.attr("value");
    if (n.op_type != "Constant" || !n.domain.empty() || n.outputs.size() != 1 || !value ||
        value->type != AttrType::kTensor)
      continue;
    inits[n.outputs[0]] = &value->t.tensor;
    constant_outputs.insert(n.outputs[0]);
  }
  int64_t zeros = 0, weight_elems = 0;
  for (const auto& [name, t] : inits) {
    s.weight_bytes += static_cast<int64_t>(t->nbytes());
    s.weight_bytes_by_dtype[dtype_name(t->dtype())] += static_cast<int64_t>(t->nbytes());
    if (t->rank() >= 2 && t->dtype() != DType::kString) {
      zeros += count_zeros(*t);
      weight_elems += t->numel();
    }
  }
  s.sparsity = weight_elems ? static_cast<double>(zeros) / static_cast<double>(weight_elems) : 0;
  // Parameters as frameworks count them: every weight tensor a node reads, including copies
  // of a shared initializer made by Identity (PyTorch's exporter deduplicates equal tensors
  // that way), but not int64 shape constants nor BatchNormalization running statistics
  // (buffers, not parameters).
  std::unordered_map<std::string, const Tensor*> weight_alias = inits;
  for (const Node& n : g.nodes)
    if (n.op_type == "Identity" && inits.count(n.input(0)) && !n.outputs.empty())
      weight_alias[n.outputs[0]] = inits[n.input(0)];
  std::unordered_set<std::string> bn_stats;
  for (const Node& n : g.nodes)
    if (n.op_type == "BatchNormalization")
      for (size_t k = 3; k < 5 && k < n.inputs.size(); ++k) bn_stats.insert(n.inputs[k]);
  s.params = 0;
  for (const auto& [name, t] : weight_alias)
    if (t->dtype() != DType::kI64 && !bn_stats.count(name)) s.params += t->numel();

  // Last node index reading each value; graph outputs live to the end.
  std::unordered_map<std::string, size_t> last_use;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const std::string& in : g.nodes[i].inputs)
      if (!in.empty()) last_use[in] = i;
  for (const ValueInfo& o : g.outputs) last_use[o.name] = g.nodes.size();

  // Which values come out of DequantizeLinear of an integer initializer (QDQ weights).
  std::unordered_set<std::string> int_weight_values;
  for (const Node& n : g.nodes)
    if (n.op_type == "DequantizeLinear" && inits.count(n.input(0)) &&
        !dtype_is_float(inits[n.input(0)]->dtype()))
      int_weight_values.insert(n.outputs[0]);

  int64_t live = 0;
  for (const ValueInfo* in : g.real_inputs()) live += value_bytes(in->name);
  s.peak_activation_bytes = live;
  int64_t quantized_macs = 0;
  std::unordered_set<std::string> counted_inits;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    NodeStats ns;
    ns.name = n.name;
    ns.op_type = n.op_type;
    s.ops[n.domain.empty() ? n.op_type : n.domain + "." + n.op_type]++;
    for (const std::string& in : n.inputs) {
      Shape sh;
      const bool known = !in.empty() && static_shape(in, sh);
      ns.input_shapes.push_back(sh);
      ns.input_known.push_back(known);
      auto it = weight_alias.find(in);
      if (it != weight_alias.end() && n.op_type != "Identity") {
        ns.weight_bytes += static_cast<int64_t>(it->second->nbytes());
        if (it->second->dtype() != DType::kI64 && !bn_stats.count(in))
          ns.params += it->second->numel();
      }
    }
    for (const std::string& out : n.outputs) {
      Shape sh;
      const bool known = !out.empty() && static_shape(out, sh);
      ns.output_shapes.push_back(sh);
      ns.output_known.push_back(known);
    }
    // MACs from the op's cost entry; a float op reading a DequantizeLinear of an integer
    // weight (QDQ) counts as quantized.
    if (auto cost = op_costs().find(n.op_type); cost != op_costs().end()) {
      ns.macs = cost->second.macs(n, ns);
      ns.quantized = cost->second.integer || int_weight_values.count(n.input(1)) > 0;
      if (ns.quantized) quantized_macs += ns.macs;
    }
    // Activation memory: outputs are allocated, then inputs whose last reader this is are freed.
    for (const std::string& out : n.outputs)
      if (!out.empty() && !constant_outputs.count(out)) live += value_bytes(out);
    ns.live_bytes = live;
    if (live > s.peak_activation_bytes) {
      s.peak_activation_bytes = live;
      s.peak_at = n.name.empty() ? n.op_type : n.name;
    }
    std::unordered_set<std::string> freed;
    for (const std::string& in : n.inputs)
      if (!in.empty() && !inits.count(in) && last_use[in] == i && freed.insert(in).second)
        live -= value_bytes(in);
    for (const std::string& out : n.outputs)  // outputs nobody reads die at once
      if (!out.empty() && !last_use.count(out)) live -= value_bytes(out);
    s.macs += ns.macs;
    s.nodes.push_back(std::move(ns));
  }
  s.quantized_share =
      s.macs ? static_cast<double>(quantized_macs) / static_cast<double>(s.macs) : 0;
  return s;
}

}  // namespace edgeopt
