#include "subgraph.h"

#include <algorithm>
#include <cstring>

#include "shape_common.h"

namespace edgeopt::rt::ref {

Subgraph::Subgraph(const KernelInit& init, const std::string& attr)
    : node_(init.node), attr_(attr) {
  const Attribute* a = init.node.attr(attr);
  if (!a || !a->g)
    fail_input("node ", init.node.describe(), ": graph attribute '", attr, "' is missing");
  const Graph& body = *a->g;
  Model m;
  m.opset_imports = init.opset_imports;
  m.graph = body;
  // Shapes of loop-carried values may change from one iteration to the next: the nested
  // session checks only the declared dtypes (which also tell providers what they would take).
  for (ValueInfo& v : m.graph.inputs) {
    v.has_shape = false;
    v.dims.clear();
  }
  num_formal_ = body.inputs.size();
  num_outputs_ = body.outputs.size();
  const size_t own = init.node.inputs.size();
  for (const std::string& name : body.outer_reads()) {
    const auto it = std::find(init.outer_inputs.begin(), init.outer_inputs.end(), name);
    if (it == init.outer_inputs.end())
      throw Error(ErrorKind::kInternal, "node " + init.node.describe() + ": outer value '" + name +
                                            "' not passed to the kernel");
    const size_t at = own + static_cast<size_t>(it - init.outer_inputs.begin());
    // A constant of the outer graph (weights an If branch or a Loop body reads) is one of the
    // body too: the nested session then folds what depends on it once, not on every run.
    if (at < init.constants.size() && init.constants[at]) {
      m.graph.add_initializer(name, *init.constants[at]);
      continue;
    }
    outer_at_.push_back(at);
    ValueInfo v;
    v.name = name;
    v.dtype = init.input_dtypes[at];
    m.graph.inputs.push_back(v);
  }
  SessionOptions o;
  o.providers = init.providers;
  o.threads = init.threads;
  o.winograd = init.winograd;
  o.reference_fallback = false;
  o.profile = init.profile;
  session_ = std::make_unique<Session>(std::move(m), o);
}

void Subgraph::append_profile(std::vector<NodeProfile>& out) const {
  for (NodeProfile& p : session_->profile()) {
    p.node = attr_ + "/" + p.node;
    out.push_back(std::move(p));
  }
}

std::vector<Tensor> Subgraph::run(std::vector<Tensor> formal,
                                  const std::vector<const Tensor*>& node_inputs) {
  if (formal.size() != num_formal_)
    fail_input("node ", node_.describe(), ": subgraph takes ", num_formal_, " input(s), got ",
               formal.size());
  for (size_t k : outer_at_) {
    if (k >= node_inputs.size() || !node_inputs[k] || !node_inputs[k]->defined())
      fail_input("node ", node_.describe(), ": a value its subgraph reads is not defined");
    formal.push_back(*node_inputs[k]);
  }
  return session_->run(formal);
}

std::vector<Tensor> Subgraph::planned_outputs(const std::vector<Tensor>& formal,
                                              const std::vector<const Tensor*>& node_inputs) {
  std::vector<Tensor> in;
  for (const Tensor& t : formal) in.push_back(Tensor::meta(t.dtype(), t.shape()));
  for (size_t k : outer_at_) {
    if (k >= node_inputs.size() || !node_inputs[k] || !node_inputs[k]->defined()) return {};
    in.push_back(Tensor::meta(node_inputs[k]->dtype(), node_inputs[k]->shape()));
  }
  return session_->planned_outputs(in);
}

std::vector<const Tensor*> input_values(const InferContext& ctx) {
  std::vector<const Tensor*> v;
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    v.push_back(ctx.has_input(i) ? &ctx.value(i) : nullptr);
  return v;
}

void copy_tensor(const Tensor& src, Tensor& dst) {
  if (src.dtype() == DType::kString) {
    dst.strings() = src.strings();
    return;
  }
  if (src.nbytes()) std::memcpy(dst.raw(), src.raw(), src.nbytes());
}

Tensor slice_axis(const Tensor& t, int64_t axis, int64_t i) {
  const Shape& s = t.shape();
  Shape out = s;
  out.erase(out.begin() + axis);
  Tensor r(t.dtype(), out);
  const int64_t outer = dims_product(s, 0, axis);
  const int64_t n = s[axis];
  const int64_t inner = dims_product(s, axis + 1, s.size());
  if (t.dtype() == DType::kString) {
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < inner; ++k)
        r.strings()[o * inner + k] = t.strings()[(o * n + i) * inner + k];
    return r;
  }
  const size_t es = dtype_size(t.dtype());
  const auto* src = static_cast<const uint8_t*>(t.raw());
  auto* dst = static_cast<uint8_t*>(r.raw());
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(dst + o * inner * es, src + (o * n + i) * inner * es, inner * es);
  return r;
}

Tensor stack_axis(const std::vector<Tensor>& parts, int64_t axis, DType dtype,
                  const Shape& part_shape) {
  Shape out = part_shape;
  const int64_t n = static_cast<int64_t>(parts.size());
  out.insert(out.begin() + axis, n);
  Tensor r(dtype, out);
  const int64_t outer = dims_product(part_shape, 0, axis);
  const int64_t inner = dims_product(part_shape, axis, part_shape.size());
  for (int64_t i = 0; i < n; ++i) {
    if (dtype == DType::kString) {
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t k = 0; k < inner; ++k)
          r.strings()[(o * n + i) * inner + k] = parts[i].strings()[o * inner + k];
      continue;
    }
    const size_t es = dtype_size(dtype);
    const auto* src = static_cast<const uint8_t*>(parts[i].raw());
    auto* dst = static_cast<uint8_t*>(r.raw());
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(dst + (o * n + i) * inner * es, src + o * inner * es, inner * es);
  }
  return r;
}

void ControlFlowKernel::infer(InferContext& ctx) {
  const std::vector<Tensor> out = execute(input_values(ctx));
  for (size_t o = 0; o < out.size(); ++o) ctx.set_output_value(o, out[o]);
}

void ControlFlowKernel::run(RunContext& ctx) {
  const std::vector<Tensor> out = execute(ctx.in);
  for (size_t o = 0; o < out.size(); ++o)
    if (ctx.out[o]) copy_tensor(out[o], ctx.output(o));
}

}  // namespace edgeopt::rt::ref
