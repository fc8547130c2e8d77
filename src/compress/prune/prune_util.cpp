#include "compress/prune/prune_util.h"

#include <cstring>

#include "edgeopt/error.h"
#include "ir/graph_util.h"

namespace edgeopt::compress {

int weight_input(const Graph &g, const Node &n, std::string *why) {
  auto none = [&](const char *reason) {
    if (why) *why = reason;
    return -1;
  };
  if (!(n.domain.empty() || n.domain == "ai.onnx")) return none("not a default-domain op");
  int idx = -1;
  if (n.op_type == "Conv" || n.op_type == "Gemm") {
    idx = 1;
  } else if (n.op_type == "MatMul") {
    // Either operand may be the constant one (x·W or W·x).
    idx = constant_of(g, n.input(1)) ? 1 : 0;
  } else {
    return none("not a Conv, Gemm or MatMul");
  }
  const Tensor *w = constant_of(g, n.input(idx));
  if (!w) return none("weight is not a constant");
  if (w->dtype() != DType::kF32) return none("weight is not float32");
  if (w->rank() < 2) return none("weight has rank < 2");
  return idx;
}

void check_node_names(const Graph &g, const std::vector<std::string> &names) {
  for (const std::string &name : names) {
    bool found = false;
    for (const Node &n : g.nodes) found = found || n.name == name;
    if (!found) fail_input("--exclude: no node named '", name, "' in the graph");
  }
}

Tensor take_along_axis(const Tensor &t, int axis, const std::vector<int64_t> &keep) {
  Shape shape = t.shape();
  const int64_t dim = shape[axis];
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= shape[i];
  for (int i = axis + 1; i < t.rank(); ++i) inner *= shape[i];
  shape[axis] = static_cast<int64_t>(keep.size());
  Tensor out(t.dtype(), shape);
  const size_t row = static_cast<size_t>(inner) * dtype_size(t.dtype());
  const char *src = static_cast<const char *>(t.raw());
  char *dst = static_cast<char *>(out.raw());
  for (int64_t o = 0; o < outer; ++o)
    for (size_t k = 0; k < keep.size(); ++k)
      std::memcpy(dst + (o * static_cast<int64_t>(keep.size()) + k) * row,
                  src + (o * dim + keep[k]) * row, row);
  return out;
}

void set_node_constant(Model &m, int node, int input, Tensor t) {
  const std::string old = m.graph.nodes[node].inputs[input];
  const std::string name = replace_constant(m, old, node, std::move(t));
  m.graph.set_input(node, input, name);
}

}  // namespace edgeopt::compress
