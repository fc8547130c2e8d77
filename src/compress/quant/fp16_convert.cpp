// fp16 weights: every float initializer of at least kMinElements elements is stored as fp16 and
// a Cast back to float feeds its consumers, so the graph computes in fp32 (runs anywhere) while
// the file holds half the bytes of its weights.
#include "quant_internal.h"

namespace edgeopt::quant {
namespace {
// Small tensors (scalars, shapes) are not worth a Cast node.
constexpr int64_t kMinElements = 16;
}  // namespace

void convert_fp16(Model& m) {
  Graph& g = m.graph;
  std::vector<Node> casts;
  std::vector<NamedTensor> inits;
  for (NamedTensor& t : g.initializers) {
    if (t.tensor.dtype() != DType::kF32 || t.tensor.numel() < kMinElements ||
        g.is_graph_input(t.name) || g.is_graph_output(t.name)) {
      inits.push_back(std::move(t));
      continue;
    }
    Tensor h(DType::kF16, t.tensor.shape());
    const float* x = t.tensor.data<float>();
    uint16_t* y = h.data<uint16_t>();
    for (int64_t i = 0; i < t.tensor.numel(); ++i) y[i] = f32_to_f16(x[i]);
    const std::string half = g.unique_name(t.name + "_fp16");
    Node c;
    c.name = g.unique_name(t.name + "_Cast");
    c.op_type = "Cast";
    c.inputs = {half};
    c.outputs = {t.name};
    c.set_attr_int("to", static_cast<int>(DType::kF32));
    casts.push_back(std::move(c));
    inits.push_back({half, h, t.doc_string});
  }
  g.initializers = std::move(inits);
  g.nodes.insert(g.nodes.begin(), casts.begin(), casts.end());
}

}  // namespace edgeopt::quant
