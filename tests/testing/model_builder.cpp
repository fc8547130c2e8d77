#include "testing/model_builder.h"

#include <filesystem>
#include <random>

#include "edgeopt/onnx_io.h"

namespace edgeopt::test {

ModelBuilder::ModelBuilder(int64_t opset, const std::string& name) {
  m_.opset_imports = {{"", opset}};
  m_.producer_name = "edgeopt-tests";
  m_.graph.name = name;
}

ModelBuilder& ModelBuilder::opset(const std::string& domain, int64_t version) {
  for (OpsetImport& o : m_.opset_imports)
    if (o.domain == domain) {
      o.version = version;
      return *this;
    }
  m_.opset_imports.push_back({domain, version});
  return *this;
}

ModelBuilder& ModelBuilder::input(const std::string& name, const Shape& shape, DType dtype) {
  std::vector<Dim> dims;
  for (int64_t d : shape) dims.push_back(Dim{d, ""});
  return input_dims(name, dims, dtype);
}

ModelBuilder& ModelBuilder::input_dims(const std::string& name, const std::vector<Dim>& dims,
                                       DType dtype) {
  ValueInfo v;
  v.name = name;
  v.dtype = dtype;
  v.has_shape = true;
  v.dims = dims;
  m_.graph.inputs.push_back(std::move(v));
  return *this;
}

ModelBuilder& ModelBuilder::constant(const std::string& name, Tensor value) {
  m_.graph.add_initializer(name, std::move(value));
  return *this;
}

Node& ModelBuilder::node(const std::string& op_type, std::vector<std::string> inputs,
                         std::vector<std::string> outputs, const std::string& domain) {
  Node n;
  n.op_type = op_type;
  n.domain = domain;
  n.name = op_type + "_" + std::to_string(m_.graph.nodes.size());
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  return m_.graph.nodes[m_.graph.add_node(std::move(n))];
}

ModelBuilder& ModelBuilder::output(const std::string& name, DType dtype, int rank) {
  ValueInfo v;
  v.name = name;
  v.dtype = dtype;
  v.has_shape = rank >= 0;
  if (rank > 0) v.dims.assign(rank, Dim{});
  m_.graph.outputs.push_back(std::move(v));
  return *this;
}

Model ModelBuilder::build(bool check) const {
  return parse_model(serialize_model(m_), std::filesystem::current_path(),
                     LoadOptions{check, true});
}

namespace {
Attribute named_attr(const std::string& name, AttrType type) {
  Attribute a;
  a.name = name;
  a.type = type;
  return a;
}
}  // namespace

Model relu_model(const std::vector<int64_t>& dims, DType dtype) {
  Model m;
  m.graph.name = "relu";
  m.opset_imports.push_back({"", 13});
  ValueInfo in;
  in.name = "x";
  in.dtype = dtype;
  in.has_shape = true;
  for (int64_t d : dims) {
    Dim dim;
    if (d >= 0)
      dim.value = d;
    else
      dim.param = "N";
    in.dims.push_back(dim);
  }
  ValueInfo out = in;
  out.name = "y";
  m.graph.inputs.push_back(in);
  m.graph.outputs.push_back(out);
  m.graph.nodes.push_back(make_node("relu", "Relu", {"x"}, {"y"}));
  return m;
}

Node make_node(const std::string& name, const std::string& op_type, std::vector<std::string> inputs,
               std::vector<std::string> outputs) {
  Node n;
  n.name = name;
  n.op_type = op_type;
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  return n;
}

Attribute int_attr(const std::string& name, int64_t value) {
  Attribute a = named_attr(name, AttrType::kInt);
  a.i = value;
  return a;
}

Attribute ints_attr(const std::string& name, std::vector<int64_t> values) {
  Attribute a = named_attr(name, AttrType::kInts);
  a.ints = std::move(values);
  return a;
}

Attribute float_attr(const std::string& name, float value) {
  Attribute a = named_attr(name, AttrType::kFloat);
  a.f = value;
  return a;
}

ValueInfo value_info(const std::string& name, const Shape& shape, DType dtype) {
  ValueInfo v;
  v.name = name;
  v.dtype = dtype;
  v.has_shape = true;
  for (int64_t d : shape) v.dims.push_back(Dim{d, ""});
  return v;
}

std::pair<std::string, std::string> add_int8_weights(ModelBuilder& b, const std::string& name,
                                                     const Shape& shape, float sx, uint32_t seed,
                                                     int64_t axis, int bias_max) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> wd(-63, 63), bd(-bias_max, bias_max);
  std::uniform_real_distribution<float> sd(0.002f, 0.01f);
  const int64_t channels = shape[axis];
  Tensor w(DType::kI8, shape), sw(DType::kF32, {channels}), sb(DType::kF32, {channels});
  Tensor bias(DType::kI32, {channels});
  for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = static_cast<int8_t>(wd(gen));
  for (int64_t m = 0; m < channels; ++m) {
    sw.data<float>()[m] = sd(gen);
    sb.data<float>()[m] = sx * sw.data<float>()[m];
    bias.data<int32_t>()[m] = bd(gen);
  }
  b.constant(name + "_w", w).constant(name + "_sw", sw);
  b.constant(name + "_b", bias).constant(name + "_sb", sb);
  b.node("DequantizeLinear", {name + "_w", name + "_sw"}, {name + "_wdq"})
      .set_attr_int("axis", axis);
  b.node("DequantizeLinear", {name + "_b", name + "_sb"}, {name + "_bdq"}).set_attr_int("axis", 0);
  return {name + "_wdq", name + "_bdq"};
}

}  // namespace edgeopt::test
