// Graph's def-use index (src/ir/graph_index.h): after random sequences of edits through Graph's
// editing functions, direct edits followed by invalidate_index(), and direct appends that the
// index notices by itself, every lookup must equal a brute-force scan of the graph.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "edgeopt/ir.h"

namespace edgeopt {
namespace {

// ---- brute force: what the lookups meant before the index -------------------------------------

int brute_producer(const Graph& g, const std::string& v) {
  if (v.empty()) return -1;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    for (const std::string& o : g.nodes[i].outputs)
      if (o == v) return static_cast<int>(i);
  return -1;
}

std::vector<int> brute_consumers(const Graph& g, const std::string& v) {
  std::vector<int> r;
  if (v.empty()) return r;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (std::count(g.nodes[i].inputs.begin(), g.nodes[i].inputs.end(), v))
      r.push_back(static_cast<int>(i));
  return r;
}

std::vector<int> brute_readers(const Graph& g, const std::string& v) {
  std::vector<int> r;
  if (v.empty()) return r;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const std::vector<std::string> sub = n.outer_reads();
    if (std::count(n.inputs.begin(), n.inputs.end(), v) ||
        std::binary_search(sub.begin(), sub.end(), v))
      r.push_back(static_cast<int>(i));
  }
  return r;
}

std::string brute_unique_name(const Graph& g, const std::string& prefix) {
  std::unordered_set<std::string> used;
  for (const Node& n : g.nodes) {
    used.insert(n.name);
    used.insert(n.inputs.begin(), n.inputs.end());
    used.insert(n.outputs.begin(), n.outputs.end());
  }
  for (const NamedTensor& t : g.initializers) used.insert(t.name);
  for (const ValueInfo& v : g.inputs) used.insert(v.name);
  if (!used.count(prefix)) return prefix;
  for (int i = 1;; ++i) {
    std::string c = prefix + "_" + std::to_string(i);
    if (!used.count(c)) return c;
  }
}

// Every lookup of every name the graph has used so far agrees with the scans; `compared`
// counts the names checked.
void expect_index_matches(const Graph& g, const std::set<std::string>& names,
                          const std::string& when, size_t& compared) {
  for (const std::string& v : names) {
    ASSERT_EQ(g.producer(v), brute_producer(g, v)) << when << ": producer of " << v;
    ASSERT_EQ(g.consumers(v), brute_consumers(g, v)) << when << ": consumers of " << v;
    ASSERT_EQ(g.readers(v), brute_readers(g, v)) << when << ": readers of " << v;
    const bool init = std::any_of(g.initializers.begin(), g.initializers.end(),
                                  [&](const NamedTensor& t) { return t.name == v; });
    ASSERT_EQ(g.find_initializer(v) != nullptr, init) << when << ": initializer " << v;
    if (init) {
      ASSERT_EQ(g.find_initializer(v)->name, v);
    }
    const bool input = std::any_of(g.inputs.begin(), g.inputs.end(),
                                   [&](const ValueInfo& i) { return i.name == v; });
    ASSERT_EQ(g.is_graph_input(v), input) << when << ": graph input " << v;
  }
  for (const char* p : {"v", "v_3", "n", "w", "fresh"})
    ASSERT_EQ(g.unique_name(p), brute_unique_name(g, p)) << when << ": unique_name " << p;
  compared += names.size();
}

// A node with an If whose branches read `outer` from the enclosing graph.
Node if_node(const std::string& cond, const std::string& outer, const std::string& out) {
  auto branch = std::make_shared<Graph>();
  branch->name = "branch";
  Node id;
  id.op_type = "Identity";
  id.inputs = {outer};
  id.outputs = {"inner_" + out};
  branch->nodes.push_back(id);
  ValueInfo o;
  o.name = "inner_" + out;
  branch->outputs.push_back(o);
  Node n;
  n.op_type = "If";
  n.inputs = {cond};
  n.outputs = {out};
  for (const char* b : {"then_branch", "else_branch"}) {
    Attribute a;
    a.name = b;
    a.type = AttrType::kGraph;
    a.g = std::make_shared<Graph>(*branch);
    n.attributes.push_back(a);
  }
  return n;
}

TEST(GraphIndex, MatchesBruteForceAfterRandomEdits) {
  size_t compared = 0, edits = 0;
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
    Graph g;
    g.name = "random";
    std::set<std::string> names = {"", "x", "y", "missing"};
    std::vector<std::string> values = {"x", "y"};  // values nodes may read
    for (const char* in : {"x", "y"}) {
      ValueInfo v;
      v.name = in;
      g.inputs.push_back(v);
    }
    int fresh = 0;
    auto new_value = [&] {
      std::string v = "v_" + std::to_string(fresh++);
      names.insert(v);
      return v;
    };
    for (int step = 0; step < 300; ++step) {
      const size_t n = g.nodes.size();
      switch (pick(12)) {
        case 0:
        case 1: {  // add a node reading up to three known values (or an omitted input)
          Node node;
          node.op_type = "Add";
          node.name = pick(4) ? "n_" + std::to_string(pick(20)) : "";
          names.insert(node.name);
          for (size_t k = 0, c = 1 + pick(3); k < c; ++k)
            node.inputs.push_back(pick(8) ? values[pick(values.size())] : "");
          node.outputs = {new_value()};
          if (pick(4) == 0) node.outputs.push_back(pick(2) ? new_value() : "");
          for (const std::string& o : node.outputs)
            if (!o.empty()) values.push_back(o);
          g.add_node(node);
          break;
        }
        case 2:  // a node whose subgraphs read an outer value
          values.push_back(new_value());
          g.add_node(if_node(values[pick(values.size() - 1)], values[pick(values.size() - 1)],
                             values.back()));
          break;
        case 3:
          if (n) {
            const int i = static_cast<int>(pick(n));
            g.set_input(i, pick(g.nodes[i].inputs.size() + 1), values[pick(values.size())]);
          }
          break;
        case 4:
          if (n) {
            const int i = static_cast<int>(pick(n));
            if (!g.nodes[i].outputs.empty()) {
              values.push_back(new_value());
              g.set_output(i, pick(g.nodes[i].outputs.size()), values.back());
            }
          }
          break;
        case 5:
          if (n) {
            const std::string from = values[pick(values.size())], to = values[pick(values.size())];
            g.replace_uses(from, to);
            // Nothing reads `from` any more, in the nodes or their subgraphs (which define only
            // their own inner values).
            if (from != to) {
              ASSERT_TRUE(brute_readers(g, from).empty()) << from << " -> " << to;
            }
          }
          break;
        case 6:
          if (n) g.remove_node(static_cast<int>(pick(n)));
          break;
        case 7:
          g.compact();
          break;
        case 8: {  // initializers: add (a new name or a known one) or remove
          const std::string name = pick(2) ? "w_" + std::to_string(pick(30)) : values[pick(2)];
          names.insert(name);
          if (pick(3))
            g.add_initializer(name, Tensor::scalar<float>(1.f));
          else
            g.remove_initializer(name);
          values.push_back(name);
          break;
        }
        case 9:
          if (n) g.set_node_name(static_cast<int>(pick(n)), "n_" + std::to_string(pick(20)));
          break;
        case 10:  // a direct edit, announced
          if (n) {
            Node& node = g.nodes[pick(n)];
            if (!node.inputs.empty()) node.inputs[0] = values[pick(values.size())];
            g.invalidate_index();
          }
          break;
        case 11: {  // a direct append, noticed from the vector's size
          Node node;
          node.op_type = "Relu";
          node.inputs = {values[pick(values.size())]};
          node.outputs = {new_value()};
          values.push_back(node.outputs[0]);
          g.nodes.push_back(node);
          break;
        }
      }
      ++edits;
      if (step % 10 == 9)
        expect_index_matches(
            g, names, "seed " + std::to_string(seed) + " step " + std::to_string(step), compared);
    }
    g.compact();
    expect_index_matches(g, names, "seed " + std::to_string(seed) + " compacted", compared);
    // Compaction erased exactly the disconnected nodes.
    for (const Node& node : g.nodes) EXPECT_FALSE(node.op_type.empty());
  }
  EXPECT_EQ(edits, 20u * 300u);
  EXPECT_GT(compared, 20000u);
}

TEST(GraphIndex, CopyBuildsItsOwnIndex) {
  Graph g;
  Node a;
  a.op_type = "Relu";
  a.inputs = {"x"};
  a.outputs = {"y"};
  g.add_node(a);
  ASSERT_EQ(g.producer("y"), 0);
  Graph copy = g;
  copy.set_output(0, 0, "z");
  EXPECT_EQ(copy.producer("z"), 0);
  EXPECT_EQ(copy.producer("y"), -1);
  EXPECT_EQ(g.producer("y"), 0);  // the original is untouched
  EXPECT_EQ(g.producer("z"), -1);
  Graph moved = std::move(copy);
  EXPECT_EQ(moved.producer("z"), 0);
}

TEST(GraphIndex, TopologicalSortKeepsOrderAmongReadyNodesAndReindexes) {
  Graph g;
  ValueInfo x;
  x.name = "x";
  g.inputs.push_back(x);
  auto node = [](std::string in, std::string out) {
    Node n;
    n.op_type = "Relu";
    n.inputs = {std::move(in)};
    n.outputs = {std::move(out)};
    return n;
  };
  g.add_node(node("b", "c"));  // reads b, made below
  g.add_node(node("x", "a"));
  g.add_node(node("a", "b"));
  g.add_node(node("x", "d"));
  ASSERT_EQ(g.producer("b"), 2);
  g.topological_sort();
  std::vector<std::string> order;
  for (const Node& n : g.nodes) order.push_back(n.outputs[0]);
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(g.producer("b"), 1);
  EXPECT_EQ(g.consumers("b"), std::vector<int>{2});
}

}  // namespace
}  // namespace edgeopt
