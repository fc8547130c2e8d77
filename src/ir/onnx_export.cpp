// edgeopt IR → ONNX protobuf, and atomic saving with optional external data.
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cstring>

#include "edgeopt/error.h"
#include "edgeopt/fileio.h"
#include "edgeopt/onnx_io.h"
#include "onnx_proto_utils.h"

namespace edgeopt {

namespace fs = std::filesystem;

void tensor_to_proto(const Tensor& t, onnx::TensorProto* tp) {
  tp->set_data_type(static_cast<int32_t>(t.dtype()));
  for (int64_t d : t.shape()) tp->add_dims(d);
  if (t.dtype() == DType::kString) {
    for (const std::string& s : t.strings()) tp->add_string_data(s);
    return;
  }
  if (t.nbytes())
    tp->set_raw_data(t.raw(), t.nbytes());
  else
    tp->set_raw_data("");
}

namespace {

void named_tensor_to_proto(const NamedTensor& nt, onnx::TensorProto* tp) {
  tensor_to_proto(nt.tensor, tp);
  if (!nt.name.empty()) tp->set_name(nt.name);
  if (!nt.doc_string.empty()) tp->set_doc_string(nt.doc_string);
}

}  // namespace

void value_info_to_proto(const ValueInfo& v, onnx::ValueInfoProto* vp) {
  vp->set_name(v.name);
  if (!v.doc_string.empty()) vp->set_doc_string(v.doc_string);
  if (!v.raw_type.empty()) {
    if (!vp->mutable_type()->ParseFromString(v.raw_type))
      throw Error(ErrorKind::kInternal, "corrupt stored type of value " + v.name);
    return;
  }
  if (v.dtype == DType::kUndefined && !v.has_shape) return;
  auto* tt = vp->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(static_cast<int32_t>(v.dtype));
  if (!v.has_shape) return;
  auto* shape = tt->mutable_shape();
  for (const Dim& d : v.dims) {
    auto* dp = shape->add_dim();
    if (d.is_static())
      dp->set_dim_value(d.value);
    else if (!d.param.empty())
      dp->set_dim_param(d.param);
  }
}

namespace {

void graph_to_proto(const Graph& g, onnx::GraphProto* gp);

void attribute_to_proto(const Attribute& a, onnx::AttributeProto* ap) {
  if (!a.raw.empty()) {
    if (!ap->ParseFromString(a.raw))
      throw Error(ErrorKind::kInternal, "corrupt stored attribute " + a.name);
    return;
  }
  ap->set_name(a.name);
  if (!a.doc_string.empty()) ap->set_doc_string(a.doc_string);
  if (!a.ref_attr_name.empty()) ap->set_ref_attr_name(a.ref_attr_name);
  ap->set_type(static_cast<onnx::AttributeProto::AttributeType>(a.type));
  switch (a.type) {
    case AttrType::kFloat:
      ap->set_f(a.f);
      break;
    case AttrType::kInt:
      ap->set_i(a.i);
      break;
    case AttrType::kString:
      ap->set_s(a.s);
      break;
    case AttrType::kTensor:
      named_tensor_to_proto(a.t, ap->mutable_t());
      break;
    case AttrType::kGraph:
      graph_to_proto(*a.g, ap->mutable_g());
      break;
    case AttrType::kFloats:
      for (float f : a.floats) ap->add_floats(f);
      break;
    case AttrType::kInts:
      for (int64_t i : a.ints) ap->add_ints(i);
      break;
    case AttrType::kStrings:
      for (const auto& s : a.strings) ap->add_strings(s);
      break;
    case AttrType::kTensors:
      for (const auto& t : a.tensors) named_tensor_to_proto(t, ap->add_tensors());
      break;
    case AttrType::kGraphs:
      for (const auto& g : a.graphs) graph_to_proto(*g, ap->add_graphs());
      break;
    default:
      break;
  }
}

void graph_to_proto(const Graph& g, onnx::GraphProto* gp) {
  if (!g.name.empty()) gp->set_name(g.name);
  if (!g.doc_string.empty()) gp->set_doc_string(g.doc_string);
  for (const Node& n : g.nodes) {
    auto* np = gp->add_node();
    for (const auto& s : n.inputs) np->add_input(s);
    for (const auto& s : n.outputs) np->add_output(s);
    if (!n.name.empty()) np->set_name(n.name);
    np->set_op_type(n.op_type);
    if (!n.domain.empty()) np->set_domain(n.domain);
    if (!n.doc_string.empty()) np->set_doc_string(n.doc_string);
    for (const Attribute& a : n.attributes) attribute_to_proto(a, np->add_attribute());
  }
  for (const NamedTensor& t : g.initializers) named_tensor_to_proto(t, gp->add_initializer());
  for (const auto& s : g.sparse_initializers_raw) gp->add_sparse_initializer()->ParseFromString(s);
  for (const ValueInfo& v : g.inputs) value_info_to_proto(v, gp->add_input());
  for (const ValueInfo& v : g.outputs) value_info_to_proto(v, gp->add_output());
  for (const ValueInfo& v : g.value_info) value_info_to_proto(v, gp->add_value_info());
  for (const auto& s : g.quantization_annotation_raw)
    gp->add_quantization_annotation()->ParseFromString(s);
}

}  // namespace

onnx::ModelProto model_to_proto(const Model& m) {
  onnx::ModelProto mp;
  mp.set_ir_version(m.ir_version);
  for (const OpsetImport& o : m.opset_imports) {
    auto* op = mp.add_opset_import();
    op->set_domain(o.domain);
    op->set_version(o.version);
  }
  if (!m.producer_name.empty()) mp.set_producer_name(m.producer_name);
  if (!m.producer_version.empty()) mp.set_producer_version(m.producer_version);
  if (!m.domain.empty()) mp.set_domain(m.domain);
  if (m.model_version) mp.set_model_version(m.model_version);
  if (!m.doc_string.empty()) mp.set_doc_string(m.doc_string);
  for (const auto& [k, v] : m.metadata_props) {
    auto* p = mp.add_metadata_props();
    p->set_key(k);
    p->set_value(v);
  }
  graph_to_proto(m.graph, mp.mutable_graph());
  for (const auto& s : m.training_info_raw) mp.add_training_info()->ParseFromString(s);
  for (const auto& s : m.functions_raw) mp.add_functions()->ParseFromString(s);
  return mp;
}

onnx::ModelProto model_to_proto_for_inference(const Model& m, size_t max_data_bytes) {
  // The model without its large initializers, which then go in with dtype and dims only: the
  // weights are not copied (a 2 GiB initializer would be, twice, by a whole-model conversion).
  Model shadow;
  shadow.ir_version = m.ir_version;
  shadow.opset_imports = m.opset_imports;
  shadow.graph.nodes = m.graph.nodes;
  shadow.graph.inputs = m.graph.inputs;
  shadow.graph.outputs = m.graph.outputs;
  shadow.graph.value_info = m.graph.value_info;
  shadow.graph.sparse_initializers_raw = m.graph.sparse_initializers_raw;
  shadow.functions_raw = m.functions_raw;
  std::vector<const NamedTensor*> big;
  for (const NamedTensor& t : m.graph.initializers) {
    if (t.tensor.dtype() != DType::kString && t.tensor.nbytes() > max_data_bytes)
      big.push_back(&t);
    else
      shadow.graph.initializers.push_back(t);
  }
  onnx::ModelProto mp = model_to_proto(shadow);
  for (const NamedTensor* t : big) {
    onnx::TensorProto* tp = mp.mutable_graph()->add_initializer();
    tp->set_name(t->name);
    tp->set_data_type(static_cast<int32_t>(t->tensor.dtype()));
    for (int64_t d : t->tensor.shape()) tp->add_dims(d);
  }
  return mp;
}

std::string serialize_model(const Model& model) {
  return model_to_proto(model).SerializeAsString();
}

void save_model(const Model& model, const fs::path& path, const SaveOptions& options,
                const fs::path& protect) {
  if (!protect.empty()) refuse_same_file(protect, path);
  onnx::ModelProto mp = model_to_proto(model);
  if (options.check) {
    try {
      onnx::checker::check_model(mp);
    } catch (const std::exception& e) {
      std::string msg = e.what();
      throw Error(ErrorKind::kInternal,
                  "refusing to write an invalid model: " + msg.substr(0, msg.find('\n')));
    }
  }
  // Protobuf cannot serialize more than 2 GB: move weights out when near that.
  const bool external =
      options.external_data || mp.ByteSizeLong() > (size_t{1} << 31) - (64u << 20);
  std::string data_bytes;
  const std::string data_name = path.filename().string() + ".data";
  if (external) {
    for (auto& t : *mp.mutable_graph()->mutable_initializer()) {
      if (t.raw_data().size() < options.external_threshold) continue;
      // Align each tensor to 64 bytes so the file can be memory-mapped and used in place.
      data_bytes.resize((data_bytes.size() + 63) / 64 * 64, '\0');
      const size_t offset = data_bytes.size();
      data_bytes += t.raw_data();
      t.clear_raw_data();
      t.set_data_location(onnx::TensorProto::EXTERNAL);
      auto add = [&](const char* k, const std::string& v) {
        auto* e = t.add_external_data();
        e->set_key(k);
        e->set_value(v);
      };
      add("location", data_name);
      add("offset", std::to_string(offset));
      add("length", std::to_string(data_bytes.size() - offset));
    }
  }
  std::string bytes;
  if (!mp.SerializeToString(&bytes)) throw Error(ErrorKind::kInternal, "cannot serialize model");
  if (external) write_file_atomic(path.parent_path() / data_name, data_bytes);
  write_file_atomic(path, bytes);
}

Tensor load_tensor_pb(const fs::path& path) {
  const std::string bytes = read_file(path);
  onnx::TensorProto tp;
  if (!tp.ParseFromString(bytes)) fail_input(path.string(), ": not a TensorProto");
  return tensor_from_proto(tp, path.parent_path());
}

void save_tensor_pb(const Tensor& t, const fs::path& path) {
  onnx::TensorProto tp;
  tensor_to_proto(t, &tp);
  write_file_atomic(path, tp.SerializeAsString());
}

}  // namespace edgeopt
