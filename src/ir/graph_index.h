// The def-use index behind Graph's name lookups (internal to src/ir).
//
// It maps each value name to the node producing it and to the nodes reading it, and initializer
// graph input/output and value_info names to their entries, so that producer(), consumers(),
// find_initializer() and unique_name() cost O(1) instead of a scan of the graph. Graph's editing
// functions keep it current; a direct edit that resizes or reallocates `nodes`, `initializers`,
// `inputs`, `outputs` or `value_info` is noticed by comparing their storage with what the index was
// built for, and any other direct edit must call Graph::invalidate_index(). A dropped index is
// rebuilt in one pass on next use.
#pragma once

#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "edgeopt/ir.h"

namespace edgeopt {

struct GraphIndex {
  // Storage the index describes.
  const Node* nodes_data = nullptr;
  size_t nodes_size = 0;
  const NamedTensor* initializers_data = nullptr;
  size_t initializers_size = 0;
  const ValueInfo* inputs_data = nullptr;
  size_t inputs_size = 0;
  const ValueInfo* outputs_data = nullptr;
  size_t outputs_size = 0;
  const ValueInfo* value_info_data = nullptr;
  size_t value_info_size = 0;

  // Value -> first node listing it as an output.
  std::unordered_map<std::string, int> producer;
  // Value -> nodes listing it as an input (ascending, each once; no empty lists are kept).
  std::unordered_map<std::string, std::vector<int>> consumers;
  // Value -> nodes whose subgraphs read it from this graph (ascending, each once).
  std::unordered_map<std::string, std::vector<int>> subgraph_readers;
  // Node name -> how many nodes carry it.
  std::unordered_map<std::string, int> node_names;
  // Initializer name -> position of its first entry in `initializers`.
  std::unordered_map<std::string, int> initializers;
  // Graph input / output name -> how many entries of `inputs` / `outputs` carry it.
  std::unordered_map<std::string, int> inputs;
  std::unordered_map<std::string, int> outputs;
  // Name -> first entry of inputs, outputs, value_info (in that order) with a type or shape.
  std::unordered_map<std::string, const ValueInfo*> value_infos;

  // Records the storage of `g`'s vectors after an edit that kept the index current.
  void record_storage(const Graph& g);
  // True when `g`'s vectors are still the ones the index was built for.
  bool describes(const Graph& g) const;
  // Index entries of node `i` of `g` (its inputs, outputs, subgraph reads and name).
  void add_node(const Graph& g, int i);
  void remove_node(const Graph& g, int i);
};

// `ids` is ascending without repeats; these keep it so.
inline void insert_sorted(std::vector<int>& ids, int i) {
  auto it = std::lower_bound(ids.begin(), ids.end(), i);
  if (it == ids.end() || *it != i) ids.insert(it, i);
}
// Removes `i` from map[key], and the entry when it becomes empty.
inline void erase_sorted(std::unordered_map<std::string, std::vector<int>>& map,
                         const std::string& key, int i) {
  auto it = map.find(key);
  if (it == map.end()) return;
  auto pos = std::lower_bound(it->second.begin(), it->second.end(), i);
  if (pos != it->second.end() && *pos == i) it->second.erase(pos);
  if (it->second.empty()) map.erase(it);
}

// The graph's current index, (re)built when absent or stale.
GraphIndex& graph_index(const Graph& g);

}  // namespace edgeopt
