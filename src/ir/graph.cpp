#include <algorithm>
#include <functional>
#include <queue>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "edgeopt/error.h"
#include "edgeopt/ir.h"

namespace edgeopt {

std::optional<Shape> ValueInfo::static_shape() const {
  if (!has_shape) return std::nullopt;
  Shape s;
  for (const Dim& d : dims) {
    if (!d.is_static()) return std::nullopt;
    s.push_back(d.value);
  }
  return s;
}

const Attribute* Node::attr(const std::string& n) const {
  for (const Attribute& a : attributes)
    if (a.name == n) return &a;
  return nullptr;
}

Attribute* Node::attr(const std::string& n) {
  for (Attribute& a : attributes)
    if (a.name == n) return &a;
  return nullptr;
}

namespace {
void expect_type(const Node& node, const Attribute& a, AttrType t) {
  if (a.type != t)
    fail_input("node ", node.describe(), ": attribute '", a.name, "' has type ",
               static_cast<int>(a.type), ", expected ", static_cast<int>(t));
}
}  // namespace

int64_t Node::attr_int(const std::string& n, int64_t def) const {
  const Attribute* a = attr(n);
  if (!a) return def;
  expect_type(*this, *a, AttrType::kInt);
  return a->i;
}

float Node::attr_float(const std::string& n, float def) const {
  const Attribute* a = attr(n);
  if (!a) return def;
  if (a->type == AttrType::kInt) return static_cast<float>(a->i);
  expect_type(*this, *a, AttrType::kFloat);
  return a->f;
}

std::string Node::attr_string(const std::string& n, const std::string& def) const {
  const Attribute* a = attr(n);
  if (!a) return def;
  expect_type(*this, *a, AttrType::kString);
  return a->s;
}

std::vector<int64_t> Node::attr_ints(const std::string& n, std::vector<int64_t> def) const {
  const Attribute* a = attr(n);
  if (!a) return def;
  expect_type(*this, *a, AttrType::kInts);
  return a->ints;
}

std::vector<float> Node::attr_floats(const std::string& n, std::vector<float> def) const {
  const Attribute* a = attr(n);
  if (!a) return def;
  expect_type(*this, *a, AttrType::kFloats);
  return a->floats;
}

namespace {
Attribute& upsert(Node& node, const std::string& n, AttrType t) {
  Attribute* a = node.attr(n);
  if (!a) {
    node.attributes.emplace_back();
    a = &node.attributes.back();
  }
  *a = Attribute{};
  a->name = n;
  a->type = t;
  return *a;
}
}  // namespace

void Node::set_attr_int(const std::string& n, int64_t v) { upsert(*this, n, AttrType::kInt).i = v; }
void Node::set_attr_float(const std::string& n, float v) {
  upsert(*this, n, AttrType::kFloat).f = v;
}
void Node::set_attr_string(const std::string& n, const std::string& v) {
  upsert(*this, n, AttrType::kString).s = v;
}
void Node::set_attr_ints(const std::string& n, const std::vector<int64_t>& v) {
  upsert(*this, n, AttrType::kInts).ints = v;
}
void Node::set_attr_floats(const std::string& n, const std::vector<float>& v) {
  upsert(*this, n, AttrType::kFloats).floats = v;
}
void Node::set_attr_tensor(const std::string& n, const Tensor& v) {
  upsert(*this, n, AttrType::kTensor).t.tensor = v;
}
void Node::remove_attr(const std::string& n) {
  attributes.erase(std::remove_if(attributes.begin(), attributes.end(),
                                  [&](const Attribute& a) { return a.name == n; }),
                   attributes.end());
}

const std::string& Node::input(size_t i) const {
  static const std::string empty;
  return i < inputs.size() ? inputs[i] : empty;
}

size_t Node::num_present_inputs() const {
  return std::count_if(inputs.begin(), inputs.end(),
                       [](const std::string& s) { return !s.empty(); });
}

std::string Node::describe() const {
  return "'" + (name.empty() ? (outputs.empty() ? std::string("?") : outputs[0]) : name) + "' (" +
         (domain.empty() ? "" : domain + ".") + op_type + ")";
}

std::vector<const ValueInfo*> Graph::real_inputs() const {
  std::unordered_set<std::string> inits;
  for (const NamedTensor& t : initializers) inits.insert(t.name);
  std::vector<const ValueInfo*> r;
  for (const ValueInfo& v : inputs)
    if (!inits.count(v.name)) r.push_back(&v);
  return r;
}

std::vector<std::string> Graph::outer_reads() const {
  std::unordered_set<std::string> local;
  for (const ValueInfo& v : inputs) local.insert(v.name);
  for (const NamedTensor& t : initializers) local.insert(t.name);
  for (const Node& n : nodes)
    for (const std::string& o : n.outputs) local.insert(o);
  std::set<std::string> out;
  auto note = [&](const std::string& s) {
    if (!s.empty() && !local.count(s)) out.insert(s);
  };
  for (const Node& n : nodes) {
    for (const std::string& i : n.inputs) note(i);
    for (const std::string& s : n.outer_reads()) note(s);
  }
  for (const ValueInfo& v : outputs) note(v.name);
  return {out.begin(), out.end()};
}

std::vector<std::string> Node::outer_reads() const {
  std::set<std::string> out;
  for (const Attribute& a : attributes) {
    if (a.g)
      for (std::string& s : a.g->outer_reads()) out.insert(std::move(s));
    for (const auto& g : a.graphs)
      for (std::string& s : g->outer_reads()) out.insert(std::move(s));
  }
  return {out.begin(), out.end()};
}

void Graph::topological_sort() {
  std::unordered_set<std::string> available;
  for (const ValueInfo& v : inputs) available.insert(v.name);
  for (const NamedTensor& t : initializers) available.insert(t.name);
  // Values produced inside the graph; an input not produced here and not available is an
  // outer-scope reference (subgraphs) and treated as available.
  std::unordered_map<std::string, int> produced_by;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const std::string& o : nodes[i].outputs)
      if (!o.empty()) produced_by[o] = static_cast<int>(i);
  std::vector<int> pending(nodes.size());
  std::unordered_map<std::string, std::vector<int>> waiting;
  std::vector<int> ready;
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::unordered_set<std::string> seen;
    std::vector<std::string> reads = nodes[i].inputs;
    for (std::string& r : nodes[i].outer_reads()) reads.push_back(std::move(r));
    for (const std::string& in : reads) {
      if (in.empty() || available.count(in) || !produced_by.count(in) || !seen.insert(in).second)
        continue;
      ++pending[i];
      waiting[in].push_back(static_cast<int>(i));
    }
    if (pending[i] == 0) ready.push_back(static_cast<int>(i));
  }
  std::vector<Node> sorted;
  sorted.reserve(nodes.size());
  // Keep the original order among ready nodes: take the smallest index first (a min-heap, so
  // the sort is O(N log N)).
  std::priority_queue<int, std::vector<int>, std::greater<int>> heap(std::greater<int>(),
                                                                     std::move(ready));
  std::vector<bool> done(nodes.size());
  while (!heap.empty()) {
    const int i = heap.top();
    heap.pop();
    done[i] = true;
    sorted.push_back(std::move(nodes[i]));
    for (const std::string& o : sorted.back().outputs) {
      auto w = waiting.find(o);
      if (w == waiting.end()) continue;
      for (int c : w->second)
        if (--pending[c] == 0) heap.push(c);
      waiting.erase(w);
    }
  }
  if (sorted.size() != nodes.size()) {
    for (size_t i = 0; i < nodes.size(); ++i)
      if (!done[i]) fail_input("graph has a cycle through node ", nodes[i].describe());
  }
  nodes = std::move(sorted);
  invalidate_index();
}

int64_t Model::opset(const std::string& d) const {
  const bool default_domain = d.empty() || d == "ai.onnx";
  for (const OpsetImport& o : opset_imports) {
    const bool od = o.domain.empty() || o.domain == "ai.onnx";
    if ((default_domain && od) || o.domain == d) return o.version;
  }
  return 0;
}

}  // namespace edgeopt
