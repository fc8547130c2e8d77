// Graph editing that keeps the def-use index current (see graph_index.h): each edit updates
// the entries of the nodes it touches, so a pass editing once per node stays linear.
#include <algorithm>

#include "edgeopt/error.h"
#include "ir/graph_index.h"

namespace edgeopt {

namespace {

bool lists(const std::vector<std::string>& names, const std::string& v) {
  return std::find(names.begin(), names.end(), v) != names.end();
}

void check_node(const Graph& g, int node) {
  if (node < 0 || static_cast<size_t>(node) >= g.nodes.size())
    throw Error(ErrorKind::kInternal, "graph '" + g.name + "': no node " + std::to_string(node) +
                                          " (" + std::to_string(g.nodes.size()) + " nodes)");
}

// Renames reads of the outer value `from` inside subgraph `sub`. A subgraph that defines
// `from` itself shadows the outer name and is left alone.
void rename_in_graph(Graph& sub, const std::string& from, const std::string& to) {
  for (const ValueInfo& v : sub.inputs)
    if (v.name == from) return;
  if (sub.find_initializer(from)) return;
  if (sub.producer(from) >= 0) return;
  for (Node& n : sub.nodes) {
    for (std::string& i : n.inputs)
      if (i == from) i = to;
    for (Attribute& a : n.attributes) {
      if (a.g) rename_in_graph(*a.g, from, to);
      for (auto& gg : a.graphs) rename_in_graph(*gg, from, to);
    }
  }
  for (ValueInfo& v : sub.outputs)
    if (v.name == from) v.name = to;
  sub.invalidate_index();
}

}  // namespace

int Graph::add_node(Node n) {
  GraphIndex& ix = graph_index(*this);
  nodes.push_back(std::move(n));
  const int i = static_cast<int>(nodes.size() - 1);
  ix.add_node(*this, i);
  ix.record_storage(*this);
  return i;
}

void Graph::set_input(int node, size_t slot, const std::string& name) {
  check_node(*this, node);
  const std::string value = name;  // `name` may live in the vector resized below
  GraphIndex& ix = graph_index(*this);
  std::vector<std::string>& ins = nodes[node].inputs;
  if (slot >= ins.size()) ins.resize(slot + 1);
  const std::string old = ins[slot];
  ins[slot] = value;
  if (!old.empty() && !lists(ins, old)) erase_sorted(ix.consumers, old, node);
  if (!value.empty()) insert_sorted(ix.consumers[value], node);
}

void Graph::set_output(int node, size_t slot, const std::string& name) {
  check_node(*this, node);
  const std::string value = name;  // `name` may live in the vector resized below
  GraphIndex& ix = graph_index(*this);
  std::vector<std::string>& outs = nodes[node].outputs;
  if (slot >= outs.size()) outs.resize(slot + 1);
  auto it = ix.producer.find(outs[slot]);
  if (it != ix.producer.end() && it->second == node) ix.producer.erase(it);
  outs[slot] = value;
  if (!value.empty()) ix.producer[value] = node;
}

void Graph::set_node_name(int node, const std::string& n) {
  check_node(*this, node);
  GraphIndex& ix = graph_index(*this);
  auto it = ix.node_names.find(nodes[node].name);
  if (it != ix.node_names.end() && --it->second == 0) ix.node_names.erase(it);
  nodes[node].name = n;
  ++ix.node_names[n];
}

void Graph::replace_uses(const std::string& from, const std::string& to) {
  if (from.empty() || from == to) return;
  GraphIndex& ix = graph_index(*this);
  auto c = ix.consumers.find(from);
  if (c != ix.consumers.end()) {
    const std::vector<int> direct = std::move(c->second);
    ix.consumers.erase(c);
    for (int i : direct) {
      for (std::string& in : nodes[i].inputs)
        if (in == from) in = to;
      if (!to.empty()) insert_sorted(ix.consumers[to], i);
    }
  }
  auto s = ix.subgraph_readers.find(from);
  if (s == ix.subgraph_readers.end()) return;
  const std::vector<int> sub = s->second;
  for (int i : sub) {
    Node& n = nodes[i];
    for (const std::string& r : n.outer_reads()) erase_sorted(ix.subgraph_readers, r, i);
    for (Attribute& a : n.attributes) {
      if (a.g) rename_in_graph(*a.g, from, to);
      for (auto& gg : a.graphs) rename_in_graph(*gg, from, to);
    }
    for (const std::string& r : n.outer_reads()) insert_sorted(ix.subgraph_readers[r], i);
  }
}

void Graph::remove_node(int node) {
  check_node(*this, node);
  GraphIndex& ix = graph_index(*this);
  ix.remove_node(*this, node);
  Node& n = nodes[node];
  n.name.clear();
  n.op_type.clear();
  n.domain.clear();
  n.inputs.clear();
  n.outputs.clear();
  n.attributes.clear();
  ix.add_node(*this, node);  // what a rebuild would record for the emptied node
  index_cache.removed.push_back(node);
}

void Graph::compact() {
  std::vector<int>& removed = index_cache.removed;
  if (removed.empty()) return;
  std::vector<bool> dead(nodes.size());
  for (int i : removed)
    if (i >= 0 && static_cast<size_t>(i) < nodes.size()) dead[i] = true;
  size_t w = 0;
  for (size_t r = 0; r < nodes.size(); ++r) {
    if (dead[r]) continue;
    if (w != r) nodes[w] = std::move(nodes[r]);
    ++w;
  }
  nodes.resize(w);
  removed.clear();
  invalidate_index();  // indices moved
}

}  // namespace edgeopt
