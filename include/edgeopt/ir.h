// edgeopt's model IR: Model → Graph → Node, values named by strings as in ONNX.
//
// The IR keeps everything an ONNX file holds so that load → save is lossless for what edgeopt
// does not change. Parts edgeopt never rewrites (functions, training info, sparse tensors,
// non-tensor types) are kept as serialized protobuf bytes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "edgeopt/tensor.h"

namespace edgeopt {

struct Graph;
struct GraphIndex;  // src/ir/graph_index.h

// Holds a graph's def-use index. Copying a graph copies no index (the copy builds its own on
// first use); moving one moves it along with the nodes it describes.
class GraphIndexCache {
 public:
  GraphIndexCache();
  ~GraphIndexCache();
  GraphIndexCache(const GraphIndexCache&);
  GraphIndexCache& operator=(const GraphIndexCache&);
  GraphIndexCache(GraphIndexCache&&) noexcept;
  GraphIndexCache& operator=(GraphIndexCache&&) noexcept;
  std::unique_ptr<GraphIndex> index;
  std::vector<int> removed;  // nodes marked by Graph::remove_node(), for Graph::compact()
};

// A dimension: static (value >= 0), symbolic (param non-empty) or unknown (neither).
struct Dim {
  int64_t value = -1;
  std::string param;
  bool is_static() const { return value >= 0; }
  bool operator==(const Dim& o) const { return value == o.value && param == o.param; }
};

// Type and shape of a graph input, output or intermediate value.
struct ValueInfo {
  std::string name;
  DType dtype = DType::kUndefined;
  bool has_shape = false;
  std::vector<Dim> dims;
  std::string doc_string;
  // Serialized onnx.TypeProto when the value is not a plain tensor (sequence, map, optional,
  // sparse); dtype/dims are unused then.
  std::string raw_type;
  // Static shape when every dim is static.
  std::optional<Shape> static_shape() const;
};

// A tensor with the name and doc string it carries in an ONNX file.
struct NamedTensor {
  std::string name;
  Tensor tensor;
  std::string doc_string;
};

// Attribute types, numbered as onnx.AttributeProto.AttributeType.
enum class AttrType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kInt = 2,
  kString = 3,
  kTensor = 4,
  kGraph = 5,
  kFloats = 6,
  kInts = 7,
  kStrings = 8,
  kTensors = 9,
  kGraphs = 10,
  kSparseTensor = 11,
  kSparseTensors = 12,
  kTypeProto = 13,
  kTypeProtos = 14,
};

struct Attribute {
  std::string name;
  AttrType type = AttrType::kUndefined;
  std::string doc_string;
  std::string ref_attr_name;  // attribute reference inside a function body
  float f = 0;
  int64_t i = 0;
  std::string s;
  NamedTensor t;
  std::shared_ptr<Graph> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<NamedTensor> tensors;
  std::vector<std::shared_ptr<Graph>> graphs;
  // Serialized onnx.AttributeProto for sparse tensor and type proto attributes.
  std::string raw;
};

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;  // "" is the default ONNX domain
  std::string doc_string;
  std::vector<std::string> inputs;  // "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::vector<Attribute> attributes;

  const Attribute* attr(const std::string& name) const;
  Attribute* attr(const std::string& name);
  bool has_attr(const std::string& name) const { return attr(name) != nullptr; }
  int64_t attr_int(const std::string& name, int64_t def) const;
  float attr_float(const std::string& name, float def) const;
  std::string attr_string(const std::string& name, const std::string& def) const;
  // True for the default ONNX domain ("" or "ai.onnx").
  bool is_default_domain() const { return domain.empty() || domain == "ai.onnx"; }
  std::vector<int64_t> attr_ints(const std::string& name, std::vector<int64_t> def = {}) const;
  std::vector<float> attr_floats(const std::string& name, std::vector<float> def = {}) const;
  // Adds or replaces an attribute.
  void set_attr_int(const std::string& name, int64_t v);
  void set_attr_float(const std::string& name, float v);
  void set_attr_string(const std::string& name, const std::string& v);
  void set_attr_ints(const std::string& name, const std::vector<int64_t>& v);
  void set_attr_floats(const std::string& name, const std::vector<float>& v);
  void set_attr_tensor(const std::string& name, const Tensor& v);
  void remove_attr(const std::string& name);

  // Present (non-empty) input i, or "" when absent.
  const std::string& input(size_t i) const;
  size_t num_present_inputs() const;
  // "name (op)" for error messages.
  std::string describe() const;
  // Names the node's subgraphs (If, Loop, Scan bodies, recursively) read from the enclosing
  // scope without defining them: implicit inputs of the node. Sorted; empty without subgraphs.
  std::vector<std::string> outer_reads() const;
};

struct Graph {
  std::string name;
  std::string doc_string;
  std::vector<Node> nodes;  // topological order after load
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> outputs;
  std::vector<ValueInfo> value_info;
  std::vector<NamedTensor> initializers;
  std::vector<std::string> sparse_initializers_raw;      // serialized onnx.SparseTensorProto
  std::vector<std::string> quantization_annotation_raw;  // serialized onnx.TensorAnnotation
  // Types and shapes found by ONNX shape inference at load (not saved).
  std::map<std::string, ValueInfo> inferred;

  // Lookups by name are answered from an index (value -> producing node, value -> reading
  // nodes; initializer, graph input/output and value_info names) built on first use and kept
  // current by the editing functions below, so a pass that queries once per node stays linear.
  // Code that edits `nodes` (inputs, outputs, names, subgraph attributes), `initializers`,
  // `inputs`, `outputs` or `value_info` in place calls invalidate_index() afterwards; a change in
  // the size or storage of those vectors is noticed without it.
  const NamedTensor* find_initializer(const std::string& name) const;
  NamedTensor* find_initializer(const std::string& name);
  void add_initializer(const std::string& name, Tensor t);  // replaces one of the same name
  bool remove_initializer(const std::string& name);
  bool is_graph_input(const std::string& name) const;
  bool is_graph_output(const std::string& name) const;
  // Graph inputs that are not initializers (what a caller must feed).
  std::vector<const ValueInfo*> real_inputs() const;
  // Index of the node producing `value`, or -1.
  int producer(const std::string& value) const;
  // Indices of nodes having `value` as an input, ascending, each once.
  std::vector<int> consumers(const std::string& value) const;
  // Indices of nodes reading `value` as an input or from inside a subgraph (If, Loop, Scan
  // bodies), ascending, each once.
  std::vector<int> readers(const std::string& value) const;
  // Number of readers of `value`, plus one if it is a graph output.
  size_t use_count(const std::string& value) const;
  // Best known type/shape of a value: graph input/output, value_info, then inferred.
  const ValueInfo* find_value_info(const std::string& name) const;
  // A value name not used anywhere in the graph, starting with `prefix`.
  std::string unique_name(const std::string& prefix) const;
  // Names this graph reads without defining them (not an input, initializer or node output):
  // as a subgraph, what it reads from the enclosing scope. Sorted.
  std::vector<std::string> outer_reads() const;
  // Reorders nodes topologically; throws Error if the graph has a cycle or an undefined input.
  void topological_sort();

  // Editing that keeps the index current. Node indices stay valid until compact().
  // Appends a node; returns its index.
  int add_node(Node n);
  // Input/output `slot` of node `node` becomes `value`.
  void set_input(int node, size_t slot, const std::string& value);
  void set_output(int node, size_t slot, const std::string& value);
  void set_node_name(int node, const std::string& name);
  // Every read of `from` (node inputs, references inside subgraphs that do not define `from`
  // themselves) becomes a read of `to`; graph outputs are not renamed.
  void replace_uses(const std::string& from, const std::string& to);
  // Disconnects node `node` (it no longer produces or reads anything) and marks it for
  // removal; compact() erases the marked nodes in one sweep, keeping the others' order.
  void remove_node(int node);
  void compact();
  // Drops the index after a direct edit (see above).
  void invalidate_index() const;

  mutable GraphIndexCache index_cache;
};

struct OpsetImport {
  std::string domain;  // "" or "ai.onnx" for the default domain
  int64_t version = 0;
};

struct Model {
  int64_t ir_version = 8;
  std::vector<OpsetImport> opset_imports;
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  int64_t model_version = 0;
  std::string doc_string;
  std::vector<std::pair<std::string, std::string>> metadata_props;
  Graph graph;
  std::vector<std::string> functions_raw;      // serialized onnx.FunctionProto
  std::vector<std::string> training_info_raw;  // serialized onnx.TrainingInfoProto

  // Opset version imported for a domain ("" and "ai.onnx" are the same), 0 if none.
  int64_t opset(const std::string& domain = "") const;
};

}  // namespace edgeopt
