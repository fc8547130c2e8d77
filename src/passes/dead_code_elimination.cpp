// dead_code_elimination: removes nodes none of whose outputs reaches a graph output, then
// initializers and value_info entries nothing refers to any more.
//
// ONNX nodes have no side effects, so a node is live exactly when one of its outputs is a graph
// output or is read by a live node (directly or from inside a live node's subgraph).
#include <unordered_set>

#include "pass_util.h"

namespace edgeopt::passes {
namespace {

class DeadCodeElimination final : public Pass {
 public:
  bool run(Model& model) override {
    Graph& g = model.graph;
    g.topological_sort();
    std::unordered_set<std::string> needed;
    for (const ValueInfo& v : g.outputs) needed.insert(v.name);
    // Nodes are topologically sorted: one backward sweep finds every live node.
    std::vector<char> live(g.nodes.size(), 0);
    for (size_t k = g.nodes.size(); k-- > 0;) {
      const Node& n = g.nodes[k];
      for (const std::string& o : n.outputs)
        if (!o.empty() && needed.count(o)) live[k] = 1;
      if (!live[k]) continue;
      for (const std::string& i : n.inputs)
        if (!i.empty()) needed.insert(i);
      if (has_subgraph(n)) subgraph_reads(n, needed);
    }
    bool changed = false;
    std::vector<Node> kept;
    kept.reserve(g.nodes.size());
    for (size_t k = 0; k < g.nodes.size(); ++k) {
      if (live[k])
        kept.push_back(std::move(g.nodes[k]));
      else
        changed = true;
    }
    g.nodes = std::move(kept);
    g.invalidate_index();

    // Initializers: keep those read by a live node, graph outputs, and those that are graph
    // inputs (removing those would change what a caller may feed).
    std::vector<NamedTensor> inits;
    for (NamedTensor& t : g.initializers) {
      if (needed.count(t.name) || g.is_graph_input(t.name))
        inits.push_back(std::move(t));
      else
        changed = true;
    }
    g.initializers = std::move(inits);
    g.invalidate_index();

    std::unordered_set<std::string> values(needed);
    for (const Node& n : g.nodes)
      for (const std::string& o : n.outputs) values.insert(o);
    const size_t vi0 = g.value_info.size();
    std::erase_if(g.value_info, [&](const ValueInfo& v) { return !values.count(v.name); });
    changed = changed || g.value_info.size() != vi0;
    return changed;
  }
};

EDGEOPT_REGISTER_PASS(DeadCodeElimination, "dead_code_elimination", 100, 1);

}  // namespace
}  // namespace edgeopt::passes
