// ONNX protobuf → edgeopt IR, with the validation a loader of untrusted files needs. Built twice
// (CMakeLists.txt): for the edgeopt tool against libonnx, with ONNX's checker and shape
// inference; for libedgeopt_rt (EDGEOPT_ONNX_LITE) against protobuf-lite code generated from
// onnx.proto, where the session's own checks stand for the checker and the kernels infer the
// shape hints (shape_hints.h).
#include <fcntl.h>
#ifndef EDGEOPT_ONNX_LITE
#include <onnx/checker.h>
#endif
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <limits>

#include "edgeopt/error.h"
#include "edgeopt/fileio.h"
#include "edgeopt/onnx_io.h"
#include "onnx_proto_utils.h"
#include "shape_hints.h"
#include "tensor_alloc.h"

namespace edgeopt {

namespace fs = std::filesystem;

namespace {

std::string first_line(const std::string& s) {
  std::string line = s.substr(0, s.find('\n'));
  return line.size() > 300 ? line.substr(0, 300) + "..." : line;
}

// Resolves an external-data location inside `base_dir`; refuses anything that escapes it.
fs::path resolve_external(const std::string& location, const fs::path& base_dir,
                          const std::string& tensor) {
  const fs::path loc(location);
  if (location.empty()) fail_input("tensor '", tensor, "': external data has no location");
  if (loc.is_absolute())
    fail_input("tensor '", tensor, "': external data location '", location,
               "' is absolute; it must stay inside the model's folder");
  for (const fs::path& part : loc)
    if (part == "..")
      fail_input("tensor '", tensor, "': external data location '", location,
                 "' escapes the model's folder");
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(base_dir.empty() ? fs::path(".") : base_dir, ec);
  const fs::path full = fs::weakly_canonical(base / loc, ec);
  if (ec) fail_input("tensor '", tensor, "': cannot resolve external data '", location, "'");
  // After resolving symlinks the file must still be under the model's folder.
  auto b = base.begin(), f = full.begin();
  for (; b != base.end(); ++b, ++f)
    if (f == full.end() || *b != *f)
      fail_input("tensor '", tensor, "': external data location '", location,
                 "' resolves outside the model's folder");
  if (!fs::is_regular_file(full, ec))
    fail_input("tensor '", tensor, "': external data file '", location, "' not found");
  return full;
}

// Large external tensors are mapped from their file rather than read: no copy, no zero-fill,
// and pages the system can drop and read again. The mapping is private (copy on write), so a
// pass that edits weights in place never writes the file. Only where the data starts on a
// 64-byte boundary of the file, as kernels expect of tensor data (edgeopt writes external data
// so); otherwise, for small tensors, or if mapping fails, an empty tensor is returned and the
// caller reads the file instead.
Tensor map_external(const fs::path& file, int64_t offset, int64_t length, DType dtype,
                    const Shape& shape) {
  constexpr int64_t kMinMapped = int64_t{1} << 20;
  if (length < kMinMapped || offset % 64 != 0) return {};
  const int64_t page = sysconf(_SC_PAGESIZE);
  const int64_t start = offset / page * page;
  const size_t span = static_cast<size_t>(offset - start + length);
  const int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  void* p = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_POPULATE, fd, start);
  close(fd);  // the mapping keeps the file open
  if (p == MAP_FAILED) return {};
  std::shared_ptr<void> owner(p, [span](void* q) { munmap(q, span); });
  return Tensor::adopt(dtype, shape, std::move(owner), static_cast<char*>(p) + (offset - start));
}

// Reads the external data of `tp` (`expected` bytes) into the tensor that will hold it, once.
Tensor read_external(const onnx::TensorProto& tp, const fs::path& base_dir, DType dtype,
                     const Shape& shape, size_t expected) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : tp.external_data()) {
    try {
      if (kv.key() == "location") location = kv.value();
      if (kv.key() == "offset") offset = std::stoll(kv.value());
      if (kv.key() == "length") length = std::stoll(kv.value());
    } catch (const std::exception&) {
      fail_input("tensor '", tp.name(), "': bad external data field ", kv.key());
    }
  }
  const fs::path file = resolve_external(location, base_dir, tp.name());
  if (offset < 0) fail_input("tensor '", tp.name(), "': negative external data offset");
  const auto fsize = static_cast<int64_t>(fs::file_size(file));
  if (length < 0) length = fsize - offset;
  if (static_cast<size_t>(length) != expected)
    fail_input("tensor '", tp.name(), "': external data holds ", length, " bytes, expected ",
               expected);
  if (offset > fsize || length > fsize - offset)
    fail_input("tensor '", tp.name(), "': external data range is past the end of '", location, "'");
  if (Tensor mapped = map_external(file, offset, length, dtype, shape); mapped.has_data())
    return mapped;
  std::ifstream in(file, std::ios::binary);
  in.seekg(offset);
  Tensor t(dtype, shape);
  in.read(static_cast<char*>(t.raw()), length);
  if (!in) fail_input("tensor '", tp.name(), "': cannot read external data '", location, "'");
  return t;
}

template <class Src>
void copy_narrow(const Src& src, Tensor& t) {
  // ONNX stores small integer types and f16/bf16 widened in int32_data.
  const size_t es = dtype_size(t.dtype());
  auto* dst = static_cast<uint8_t*>(t.raw());
  for (int i = 0; i < src.size(); ++i) {
    const auto v = static_cast<uint64_t>(src.Get(i));
    std::memcpy(dst + i * es, &v, es);  // little-endian: low bytes first
  }
}

}  // namespace

Tensor tensor_from_proto(const onnx::TensorProto& tp, const fs::path& base_dir) {
  if (tp.has_segment()) fail_unsupported("tensor '", tp.name(), "': segmented tensors");
  if (!dtype_known(tp.data_type()))
    fail_input("tensor '", tp.name(), "': unknown data type ", tp.data_type());
  const auto dtype = static_cast<DType>(tp.data_type());
  Shape shape(tp.dims().begin(), tp.dims().end());
  for (int64_t d : shape)
    if (d < 0) fail_input("tensor '", tp.name(), "': negative dimension ", d);
  int64_t numel = 0;
  try {
    numel = shape_numel(shape);
  } catch (const Error&) {
    fail_input("tensor '", tp.name(), "': dims ", shape_str(shape), " overflow");
  }
  const size_t es = dtype_size(dtype);
  if (dtype != DType::kString &&
      numel > static_cast<int64_t>(std::numeric_limits<int64_t>::max() / 8))
    fail_input("tensor '", tp.name(), "': too many elements");
  const size_t expected = static_cast<size_t>(numel) * es;

  auto count_mismatch = [&](int64_t have) {
    fail_input("tensor '", tp.name(), "' of shape ", shape_str(shape), " has ", have,
               " values, expected ", numel);
  };

  if (dtype == DType::kString) {
    if (tp.string_data_size() != numel) count_mismatch(tp.string_data_size());
    Tensor t(dtype, shape);
    for (int64_t i = 0; i < numel; ++i) t.strings()[i] = tp.string_data(static_cast<int>(i));
    return t;
  }

  if (tp.data_location() == onnx::TensorProto::EXTERNAL) {
    return read_external(tp, base_dir, dtype, shape, expected);
  }
  if (tp.has_raw_data()) {
    if (tp.raw_data().size() != expected)
      fail_input("tensor '", tp.name(), "' of shape ", shape_str(shape), " has ",
                 tp.raw_data().size(), " bytes of raw data, expected ", expected);
    Tensor t(dtype, shape);
    if (expected) std::memcpy(t.raw(), tp.raw_data().data(), expected);
    return t;
  }
  switch (dtype) {
    case DType::kF32: {
      if (tp.float_data_size() != numel) count_mismatch(tp.float_data_size());
      Tensor t(dtype, shape);
      if (expected) std::memcpy(t.raw(), tp.float_data().data(), expected);
      return t;
    }
    case DType::kF64: {
      if (tp.double_data_size() != numel) count_mismatch(tp.double_data_size());
      Tensor t(dtype, shape);
      if (expected) std::memcpy(t.raw(), tp.double_data().data(), expected);
      return t;
    }
    case DType::kI64: {
      if (tp.int64_data_size() != numel) count_mismatch(tp.int64_data_size());
      Tensor t(dtype, shape);
      if (expected) std::memcpy(t.raw(), tp.int64_data().data(), expected);
      return t;
    }
    case DType::kU32:
    case DType::kU64: {
      if (tp.uint64_data_size() != numel) count_mismatch(tp.uint64_data_size());
      Tensor t(dtype, shape);
      copy_narrow(tp.uint64_data(), t);
      return t;
    }
    default: {  // i32, i16, i8, u16, u8, bool, f16, bf16
      if (tp.int32_data_size() != numel) count_mismatch(tp.int32_data_size());
      Tensor t(dtype, shape);
      copy_narrow(tp.int32_data(), t);
      return t;
    }
  }
}

namespace {

NamedTensor named_tensor_from_proto(const onnx::TensorProto& tp, const fs::path& base_dir) {
  return {tp.name(), tensor_from_proto(tp, base_dir), tp.doc_string()};
}

ValueInfo value_info_from_proto(const onnx::ValueInfoProto& vp) {
  ValueInfo v;
  v.name = vp.name();
  v.doc_string = vp.doc_string();
  if (!vp.has_type()) return v;
  const onnx::TypeProto& type = vp.type();
  const bool plain = type.value_case() == onnx::TypeProto::kTensorType && type.denotation().empty();
  if (!plain) {
    v.raw_type = type.SerializeAsString();
    return v;
  }
  const auto& tt = type.tensor_type();
  if (tt.elem_type() != 0 && !dtype_known(tt.elem_type()))
    fail_input("value '", vp.name(), "': unknown element type ", tt.elem_type());
  v.dtype = static_cast<DType>(tt.elem_type());
  if (tt.has_shape()) {
    v.has_shape = true;
    for (const auto& d : tt.shape().dim()) {
      if (!d.denotation().empty()) {  // keep what we do not model
        v = ValueInfo{vp.name(), DType::kUndefined, false,
                      {},        vp.doc_string(),   type.SerializeAsString()};
        return v;
      }
      Dim dim;
      if (d.has_dim_value()) {
        if (d.dim_value() < 0)
          fail_input("value '", vp.name(), "': negative dimension ", d.dim_value());
        dim.value = d.dim_value();
      } else if (d.has_dim_param()) {
        dim.param = d.dim_param();
      }
      v.dims.push_back(std::move(dim));
    }
  }
  return v;
}

std::shared_ptr<Graph> graph_ptr_from_proto(const onnx::GraphProto& gp, const fs::path& base_dir);

Attribute attribute_from_proto(const onnx::AttributeProto& ap, const fs::path& base_dir) {
  Attribute a;
  a.name = ap.name();
  a.type = static_cast<AttrType>(ap.type());
  a.doc_string = ap.doc_string();
  a.ref_attr_name = ap.ref_attr_name();
  switch (ap.type()) {
    case onnx::AttributeProto::FLOAT:
      a.f = ap.f();
      break;
    case onnx::AttributeProto::INT:
      a.i = ap.i();
      break;
    case onnx::AttributeProto::STRING:
      a.s = ap.s();
      break;
    case onnx::AttributeProto::TENSOR:
      a.t = named_tensor_from_proto(ap.t(), base_dir);
      break;
    case onnx::AttributeProto::GRAPH:
      a.g = graph_ptr_from_proto(ap.g(), base_dir);
      break;
    case onnx::AttributeProto::FLOATS:
      a.floats.assign(ap.floats().begin(), ap.floats().end());
      break;
    case onnx::AttributeProto::INTS:
      a.ints.assign(ap.ints().begin(), ap.ints().end());
      break;
    case onnx::AttributeProto::STRINGS:
      a.strings.assign(ap.strings().begin(), ap.strings().end());
      break;
    case onnx::AttributeProto::TENSORS:
      for (const auto& t : ap.tensors()) a.tensors.push_back(named_tensor_from_proto(t, base_dir));
      break;
    case onnx::AttributeProto::GRAPHS:
      for (const auto& g : ap.graphs()) a.graphs.push_back(graph_ptr_from_proto(g, base_dir));
      break;
    case onnx::AttributeProto::UNDEFINED:
      if (ap.ref_attr_name().empty()) fail_input("attribute '", ap.name(), "' has no type");
      break;
    default:
      a.raw = ap.SerializeAsString();
      break;
  }
  return a;
}

// With `consume` (the message `gp` itself, owned by the caller and discarded after loading),
// each large initializer's raw data is released as soon as it is converted, so the weights are
// never held twice (message and model) while loading. Its data then lives in the model alone:
// it is marked EXTERNAL so that the checker and shape inference below leave it out, as they do
// for external data.
void graph_from_proto(const onnx::GraphProto& gp, const fs::path& base_dir, Graph& g,
                      onnx::GraphProto* consume = nullptr) {
  g.name = gp.name();
  g.doc_string = gp.doc_string();
  for (const auto& v : gp.input()) g.inputs.push_back(value_info_from_proto(v));
  for (const auto& v : gp.output()) g.outputs.push_back(value_info_from_proto(v));
  for (const auto& v : gp.value_info()) g.value_info.push_back(value_info_from_proto(v));
  for (int i = 0; i < gp.initializer_size(); ++i) {
    g.initializers.push_back(named_tensor_from_proto(gp.initializer(i), base_dir));
    if (!consume || gp.initializer(i).raw_data().size() < 4096) continue;
    onnx::TensorProto* t = consume->mutable_initializer(i);
    std::string().swap(*t->mutable_raw_data());
    t->set_data_location(onnx::TensorProto::EXTERNAL);
  }
  for (const auto& s : gp.sparse_initializer())
    g.sparse_initializers_raw.push_back(s.SerializeAsString());
  for (const auto& q : gp.quantization_annotation())
    g.quantization_annotation_raw.push_back(q.SerializeAsString());
  g.nodes.reserve(gp.node_size());
  for (const auto& np : gp.node()) {
    Node n;
    n.name = np.name();
    n.op_type = np.op_type();
    n.domain = np.domain();
    n.doc_string = np.doc_string();
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    for (const auto& ap : np.attribute())
      n.attributes.push_back(attribute_from_proto(ap, base_dir));
    g.nodes.push_back(std::move(n));
  }
}

std::shared_ptr<Graph> graph_ptr_from_proto(const onnx::GraphProto& gp, const fs::path& base_dir) {
  auto g = std::make_shared<Graph>();
  graph_from_proto(gp, base_dir, *g);
  return g;
}

bool is_known_domain(const std::string& domain) {
  static const char* kKnownDomains[] = {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.preview.training",
                                        "com.microsoft"};
  for (const char* d : kKnownDomains)
    if (domain == d) return true;
  return false;
}

// The first node (in this graph or a subgraph) in a domain edgeopt does not know, or null.
const onnx::NodeProto* node_in_unknown_domain(const onnx::GraphProto& gp) {
  for (const auto& np : gp.node()) {
    if (!is_known_domain(np.domain())) return &np;
    for (const auto& a : np.attribute()) {
      if (a.has_g())
        if (const onnx::NodeProto* n = node_in_unknown_domain(a.g())) return n;
      for (const auto& g : a.graphs())
        if (const onnx::NodeProto* n = node_in_unknown_domain(g)) return n;
    }
  }
  return nullptr;
}

// Imports of domains no node uses are accepted (ONNX Runtime's optimizer leaves
// com.microsoft.nchwc and others in the list); a node in an unknown domain is refused.
void validate_opsets(const onnx::ModelProto& mp) {
  for (const auto& o : mp.opset_import())
    if ((o.domain().empty() || o.domain() == "ai.onnx") && (o.version() < 1 || o.version() > 17))
      fail_input("opset ", o.version(), " is outside the supported range 1-17");
  if (const onnx::NodeProto* n = node_in_unknown_domain(mp.graph()))
    fail_unsupported("node '", n->name(), "' (", n->op_type(), "): unknown operator domain '",
                     n->domain(), "'");
}

#ifndef EDGEOPT_ONNX_LITE
// Shape inference hints (the runtime infers shapes itself) on a copy whose large
// initializers carry no data (inference reads only small shape-like constants).
void infer_shapes(const onnx::ModelProto& mp, Graph& g) {
  // Everything but the initializers is copied whole; large ones get their name, type and dims
  // only, so the weights are not copied.
  onnx::ModelProto copy;
  copy.set_ir_version(mp.ir_version());
  *copy.mutable_opset_import() = mp.opset_import();
  const onnx::GraphProto& gp = mp.graph();
  onnx::GraphProto* cg = copy.mutable_graph();
  *cg->mutable_node() = gp.node();
  *cg->mutable_input() = gp.input();
  *cg->mutable_output() = gp.output();
  *cg->mutable_value_info() = gp.value_info();
  *cg->mutable_sparse_initializer() = gp.sparse_initializer();
  for (const auto& t : gp.initializer()) {
    onnx::TensorProto* c = cg->add_initializer();
    if (t.ByteSizeLong() > 4096 || t.data_location() == onnx::TensorProto::EXTERNAL) {
      c->set_name(t.name());
      c->set_data_type(t.data_type());
      *c->mutable_dims() = t.dims();
    } else {
      c->CopyFrom(t);
    }
  }
  std::string error;
  if (!infer_shapes_isolated(copy, &error)) return;
  const onnx::GraphProto& inferred = copy.graph();
  for (const auto& v : inferred.value_info()) {
    try {
      g.inferred[v.name()] = value_info_from_proto(v);
    } catch (const Error&) {
    }
  }
  for (const auto& v : inferred.output()) {
    try {
      ValueInfo vi = value_info_from_proto(v);
      if (vi.has_shape) g.inferred[v.name()] = vi;
    } catch (const Error&) {
    }
  }
}

#endif  // EDGEOPT_ONNX_LITE

}  // namespace

#ifndef EDGEOPT_ONNX_LITE
namespace {

// The checker looks for external files relative to the working directory; edgeopt has already
// read and confined them, so check a copy whose external tensors are marked inline.
void run_checker(const onnx::ModelProto& mp) {
  bool has_external = false;
  for (const auto& t : mp.graph().initializer())
    has_external |= t.data_location() == onnx::TensorProto::EXTERNAL;
  try {
    if (!has_external) {
      onnx::checker::check_model(mp);
      return;
    }
    onnx::ModelProto copy;
    copy.CopyFrom(mp);
    // External tensors become graph inputs of the same type in the copy: the checker then
    // validates the structure without looking for files.
    auto* g = copy.mutable_graph();
    auto* inits = g->mutable_initializer();
    for (int i = inits->size() - 1; i >= 0; --i) {
      const onnx::TensorProto& t = inits->Get(i);
      if (t.data_location() != onnx::TensorProto::EXTERNAL) continue;
      bool declared = false;
      for (const auto& in : g->input()) declared |= in.name() == t.name();
      if (!declared) {
        auto* in = g->add_input();
        in->set_name(t.name());
        auto* tt = in->mutable_type()->mutable_tensor_type();
        tt->set_elem_type(t.data_type());
        auto* shape = tt->mutable_shape();
        for (int64_t d : t.dims()) shape->add_dim()->set_dim_value(d);
      }
      inits->DeleteSubrange(i, 1);
    }
    onnx::checker::check_model(copy);
  } catch (const std::exception& e) {
    fail_input("invalid ONNX model: ", first_line(e.what()));
  }
}

}  // namespace

#endif  // EDGEOPT_ONNX_LITE

Model model_from_proto(onnx::ModelProto&& mp, const fs::path& base_dir,
                       const LoadOptions& options) {
  validate_opsets(mp);
  if (!mp.has_graph()) fail_input("invalid ONNX model: no graph");
  Model m;
  m.ir_version = mp.ir_version();
  for (const auto& o : mp.opset_import()) m.opset_imports.push_back({o.domain(), o.version()});
  m.producer_name = mp.producer_name();
  m.producer_version = mp.producer_version();
  m.domain = mp.domain();
  m.model_version = mp.model_version();
  m.doc_string = mp.doc_string();
  for (const auto& p : mp.metadata_props()) m.metadata_props.emplace_back(p.key(), p.value());
  for (const auto& f : mp.functions()) m.functions_raw.push_back(f.SerializeAsString());
  for (const auto& t : mp.training_info()) m.training_info_raw.push_back(t.SerializeAsString());
  // Convert first: it validates every tensor (dims, sizes, external files) with clear messages.
  MapLargeTensors weights_mapped;
  graph_from_proto(mp.graph(), base_dir, m.graph, mp.mutable_graph());
#ifdef EDGEOPT_ONNX_LITE
  if (options.infer_shapes) refresh_shape_hints(m);
#else
  if (options.check) run_checker(mp);
  if (options.infer_shapes) infer_shapes(mp, m.graph);
#endif
  return m;
}

namespace {

onnx::ModelProto parse_proto(const std::string& bytes) {
  if (bytes.empty()) fail_input("empty file, not an ONNX model");
  onnx::ModelProto mp;
  if (!mp.ParseFromString(bytes))
    fail_input("not a valid ONNX protobuf (truncated or corrupt, ", bytes.size(), " bytes)");
  if (!mp.has_graph() || mp.ir_version() <= 0)
    fail_input("not an ONNX model (no graph or IR version)");
  return mp;
}

onnx::ModelProto parse_proto_file(const fs::path& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) fail_input("no such file");
  if (fs::is_directory(st)) fail_input("is a directory, expected a file");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_input("cannot open (", std::strerror(errno), ")");
  struct stat info {};
  const bool regular = ::fstat(fd, &info) == 0 && S_ISREG(info.st_mode);
  onnx::ModelProto mp;
  bool parsed = false;
  int64_t bytes = 0;
  {
    google::protobuf::io::FileInputStream in(fd);
    in.SetCloseOnDelete(true);
    parsed = mp.ParseFromZeroCopyStream(&in) && in.GetErrno() == 0;
    bytes = regular ? static_cast<int64_t>(info.st_size) : in.ByteCount();
  }
  if (bytes == 0) fail_input("empty file, not an ONNX model");
  if (!parsed) fail_input("not a valid ONNX protobuf (truncated or corrupt, ", bytes, " bytes)");
  if (!mp.has_graph() || mp.ir_version() <= 0)
    fail_input("not an ONNX model (no graph or IR version)");
  return mp;
}

}  // namespace

Model parse_model(const std::string& bytes, const fs::path& base_dir, const LoadOptions& options) {
  return model_from_proto(parse_proto(bytes), base_dir, options);
}

Model load_model(const fs::path& path, const LoadOptions& options) {
  try {
    // Parsed from the file in chunks, not from a copy of its bytes: the weights are then held
    // by the message and, as each is converted, by the model's tensors, never twice over.
    return model_from_proto(parse_proto_file(path), path.parent_path(), options);
  } catch (const Error& e) {
    throw Error(e.kind(), path.string() + ": " + e.what());
  }
}

}  // namespace edgeopt
