// The graph-editing core beside Graph's own queries and edits (ir.h: producer, readers,
// replace_uses, set_input, remove_node, all kept current by the def-use index): constants, static
// shapes and dtypes of values, bypassing a node, adding and replacing initializers. Used by the
// passes, the providers' rewrites and the compressors alike (internal).
#pragma once

#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "edgeopt/ir.h"

namespace edgeopt {

// The value of `name` when it is a constant of the graph: an initializer that is not also a
// graph input (an initializer listed as an input is only a default the caller may override).
const Tensor* constant_of(const Graph& g, const std::string& name);

// Static shape / dtype of a value: from its initializer, else the best known value info.
std::optional<Shape> static_shape_of(const Graph& g, const std::string& name);
DType dtype_of_value(const Graph& g, const std::string& name);
// Rank of a value when known (dims may be symbolic), else -1.
int rank_of(const Graph& g, const std::string& name);
// Dims of a value when every one is static or named (from its value info, else what shape
// inference found), else empty.
std::vector<Dim> known_dims(const Graph& g, const std::string& name);

// True when the node carries a subgraph (If, Loop, Scan): such nodes may read outer values by
// name from inside the subgraph.
bool has_subgraph(const Node& n);
// Outer-scope names read inside the node's subgraphs (recursively).
void subgraph_reads(const Node& n, std::unordered_set<std::string>& out);

// Removes node `index` whose output `y` always equals `x` (an identity). Readers of y read x;
// when y is a graph output, x's producer is renamed to produce y instead so that output names
// stay stable. The node is only marked (Graph::remove_node): the pass calls Graph::compact()
// when its sweep ends. The name that disappears is added to `gone` (see forget_values()).
// Returns false (graph unchanged) when neither is possible.
bool bypass_node(Graph& g, int index, std::string x, std::string y,
                 std::unordered_set<std::string>& gone);

// Adds `t` as initializer `name`. Models older than IR version 4 also list it as a graph input,
// as they must.
void add_named_constant(Model& m, const std::string& name, Tensor t);

// The same under a fresh name derived from `prefix`; returns the name.
std::string add_constant(Model& m, const std::string& prefix, Tensor t);

// Replaces the data of initializer `name`, which only `reader` reads, or adds a new initializer
// when others read it too; returns the name `reader` must use.
std::string replace_constant(Model& m, const std::string& name, int reader, Tensor t);

// True when `name` is a node output (not a graph input, initializer or graph output) that
// exactly one node reads: it can be fused away.
bool is_private_intermediate(const Graph& g, const std::string& name);

// Drops value_info entries for the names in `gone` (values that disappeared or were renamed),
// in one sweep: passes collect the names while they rewrite and forget them at the end.
void forget_values(Graph& g, const std::unordered_set<std::string>& gone);

// Infers shapes on the current graph and merges what it finds into Graph::inferred (rewrites
// make shapes static that were not at load: a folded reshape target). See ir/shape_hints.h.
void refresh_shapes(Model& model);

// Element-wise conversion of a float/double/half tensor to doubles and back.
bool is_real(DType t);
std::vector<double> to_doubles(const Tensor& t);
Tensor from_doubles(const std::vector<double>& v, DType dtype, const Shape& shape);

}  // namespace edgeopt
