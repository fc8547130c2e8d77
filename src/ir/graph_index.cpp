// Graph's def-use index and the lookups answered from it (see graph_index.h).
#include "ir/graph_index.h"

#include <algorithm>

namespace edgeopt {

GraphIndexCache::GraphIndexCache() = default;
GraphIndexCache::~GraphIndexCache() = default;
// A copied graph has its own storage: it starts without an index.
GraphIndexCache::GraphIndexCache(const GraphIndexCache&) {}
GraphIndexCache& GraphIndexCache::operator=(const GraphIndexCache& o) {
  if (this != &o) {
    index.reset();
    removed.clear();
  }
  return *this;
}
GraphIndexCache::GraphIndexCache(GraphIndexCache&&) noexcept = default;
GraphIndexCache& GraphIndexCache::operator=(GraphIndexCache&&) noexcept = default;

void GraphIndex::record_storage(const Graph& g) {
  nodes_data = g.nodes.data();
  nodes_size = g.nodes.size();
  initializers_data = g.initializers.data();
  initializers_size = g.initializers.size();
  inputs_data = g.inputs.data();
  inputs_size = g.inputs.size();
  outputs_data = g.outputs.data();
  outputs_size = g.outputs.size();
  value_info_data = g.value_info.data();
  value_info_size = g.value_info.size();
}

bool GraphIndex::describes(const Graph& g) const {
  return nodes_data == g.nodes.data() && nodes_size == g.nodes.size() &&
         initializers_data == g.initializers.data() && initializers_size == g.initializers.size() &&
         inputs_data == g.inputs.data() && inputs_size == g.inputs.size() &&
         outputs_data == g.outputs.data() && outputs_size == g.outputs.size() &&
         value_info_data == g.value_info.data() && value_info_size == g.value_info.size();
}

void GraphIndex::add_node(const Graph& g, int i) {
  const Node& n = g.nodes[i];
  for (const std::string& o : n.outputs)
    if (!o.empty()) producer.emplace(o, i);
  for (const std::string& in : n.inputs)
    if (!in.empty()) insert_sorted(consumers[in], i);
  for (const std::string& r : n.outer_reads()) insert_sorted(subgraph_readers[r], i);
  ++node_names[n.name];
}

void GraphIndex::remove_node(const Graph& g, int i) {
  const Node& n = g.nodes[i];
  for (const std::string& o : n.outputs) {
    auto it = producer.find(o);
    if (it != producer.end() && it->second == i) producer.erase(it);
  }
  for (const std::string& in : n.inputs)
    if (!in.empty()) erase_sorted(consumers, in, i);
  for (const std::string& r : n.outer_reads()) erase_sorted(subgraph_readers, r, i);
  auto it = node_names.find(n.name);
  if (it != node_names.end() && --it->second == 0) node_names.erase(it);
}

namespace {
bool has_type(const ValueInfo& v) { return v.has_shape || v.dtype != DType::kUndefined; }
}  // namespace

GraphIndex& graph_index(const Graph& g) {
  std::unique_ptr<GraphIndex>& ix = g.index_cache.index;
  if (ix && ix->describes(g)) return *ix;
  ix = std::make_unique<GraphIndex>();
  ix->producer.reserve(g.nodes.size());
  ix->consumers.reserve(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) ix->add_node(g, static_cast<int>(i));
  for (size_t i = 0; i < g.initializers.size(); ++i)
    ix->initializers.emplace(g.initializers[i].name, static_cast<int>(i));
  for (const ValueInfo& v : g.inputs) ++ix->inputs[v.name];
  for (const ValueInfo& v : g.outputs) ++ix->outputs[v.name];
  for (const auto* list : {&g.inputs, &g.outputs, &g.value_info})
    for (const ValueInfo& v : *list)
      if (has_type(v)) ix->value_infos.emplace(v.name, &v);
  ix->record_storage(g);
  return *ix;
}

void Graph::invalidate_index() const { index_cache.index.reset(); }

namespace {
bool lists(const std::vector<std::string>& names, const std::string& v) {
  return std::find(names.begin(), names.end(), v) != names.end();
}
}  // namespace

bool Graph::is_graph_output(const std::string& n) const {
  return graph_index(*this).outputs.count(n) > 0;
}

const ValueInfo* Graph::find_value_info(const std::string& n) const {
  for (int attempt = 0; attempt < 2; ++attempt) {
    const GraphIndex& ix = graph_index(*this);
    auto it = ix.value_infos.find(n);
    if (it == ix.value_infos.end()) break;
    if (it->second->name == n && has_type(*it->second)) return it->second;
    invalidate_index();
  }
  auto it = inferred.find(n);
  return it == inferred.end() ? nullptr : &it->second;
}

int Graph::producer(const std::string& value) const {
  if (value.empty()) return -1;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const GraphIndex& ix = graph_index(*this);
    auto it = ix.producer.find(value);
    if (it == ix.producer.end()) return -1;
    // An answer that a direct edit made wrong shows here: rebuild once.
    if (lists(nodes[it->second].outputs, value)) return it->second;
    invalidate_index();
  }
  return -1;
}

std::vector<int> Graph::consumers(const std::string& value) const {
  if (value.empty()) return {};
  for (int attempt = 0; attempt < 2; ++attempt) {
    const GraphIndex& ix = graph_index(*this);
    auto it = ix.consumers.find(value);
    if (it == ix.consumers.end()) return {};
    const bool current = std::all_of(it->second.begin(), it->second.end(),
                                     [&](int i) { return lists(nodes[i].inputs, value); });
    if (current) return it->second;
    invalidate_index();
  }
  return {};
}

std::vector<int> Graph::readers(const std::string& value) const {
  std::vector<int> r = consumers(value);
  if (value.empty()) return r;
  const GraphIndex& ix = graph_index(*this);
  auto it = ix.subgraph_readers.find(value);
  if (it == ix.subgraph_readers.end()) return r;
  std::vector<int> merged;
  std::set_union(r.begin(), r.end(), it->second.begin(), it->second.end(),
                 std::back_inserter(merged));
  return merged;
}

size_t Graph::use_count(const std::string& value) const {
  return readers(value).size() + (is_graph_output(value) ? 1 : 0);
}

const NamedTensor* Graph::find_initializer(const std::string& n) const {
  return const_cast<Graph*>(this)->find_initializer(n);
}

NamedTensor* Graph::find_initializer(const std::string& n) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    const GraphIndex& ix = graph_index(*this);
    auto it = ix.initializers.find(n);
    if (it == ix.initializers.end()) return nullptr;
    if (initializers[it->second].name == n) return &initializers[it->second];
    invalidate_index();
  }
  return nullptr;
}

void Graph::add_initializer(const std::string& n, Tensor t) {
  if (NamedTensor* e = find_initializer(n)) {
    e->tensor = std::move(t);
    return;
  }
  GraphIndex& ix = graph_index(*this);
  initializers.push_back({n, std::move(t), ""});
  ix.initializers.emplace(n, static_cast<int>(initializers.size() - 1));
  ix.record_storage(*this);
}

bool Graph::remove_initializer(const std::string& n) {
  auto it = std::find_if(initializers.begin(), initializers.end(),
                         [&](const NamedTensor& t) { return t.name == n; });
  if (it == initializers.end()) return false;
  initializers.erase(it);
  inputs.erase(
      std::remove_if(inputs.begin(), inputs.end(), [&](const ValueInfo& v) { return v.name == n; }),
      inputs.end());
  invalidate_index();  // later initializers moved
  return true;
}

bool Graph::is_graph_input(const std::string& n) const {
  return graph_index(*this).inputs.count(n) > 0;
}

std::string Graph::unique_name(const std::string& prefix) const {
  const GraphIndex& ix = graph_index(*this);
  auto used = [&](const std::string& s) {
    return ix.producer.count(s) || ix.consumers.count(s) || ix.node_names.count(s) ||
           ix.initializers.count(s) || ix.inputs.count(s);
  };
  if (!used(prefix)) return prefix;
  for (int i = 1;; ++i) {
    std::string c = prefix + "_" + std::to_string(i);
    if (!used(c)) return c;
  }
}

}  // namespace edgeopt
