// Cross-layer equalization (Nagel et al. 2019, "Data-free quantization"): for Conv1 → Relu →
// Conv2, scaling output channel i of Conv1 by 1/s_i and input channel i of Conv2 by s_i leaves
// the function unchanged because relu(x / s) = relu(x) / s for s > 0. Choosing
// s_i = sqrt(r1_i / r2_i), with r1_i = max|W1[i, ...]| and r2_i = max|W2[:, i, ...]|, makes both
// ranges sqrt(r1_i · r2_i), which per-tensor (and tighter per-channel) int8 weights represent
// with less error. Clip (ReLU6) is not scale-equivariant (min(x/s, 6) ≠ min(x, 6)/s), so only
// Relu pairs are equalized.
#include <cmath>

#include "quant_internal.h"

namespace edgeopt::quant {

int64_t cross_layer_equalize(Model& m) {
  Graph& g = m.graph;
  int64_t pairs = 0;
  for (const Node& relu : g.nodes) {
    if (relu.op_type != "Relu") continue;
    const int pi = g.producer(relu.inputs[0]);
    const std::vector<int> cons = g.consumers(relu.outputs[0]);
    if (pi < 0 || cons.size() != 1 || g.is_graph_output(relu.outputs[0]) ||
        g.is_graph_output(relu.inputs[0]) || g.consumers(relu.inputs[0]).size() != 1)
      continue;
    const Node& c1 = g.nodes[pi];
    const Node& c2 = g.nodes[cons[0]];
    if (c1.op_type != "Conv" || c2.op_type != "Conv" || !is_weighted_op(c1, g) ||
        !is_weighted_op(c2, g) || c1.attr_int("group", 1) != 1 || c2.attr_int("group", 1) != 1)
      continue;
    // The weights must not be shared with another node (they are rescaled in place).
    if (g.consumers(c1.inputs[1]).size() != 1 || g.consumers(c2.inputs[1]).size() != 1) continue;
    if (!c1.input(2).empty() && g.consumers(c1.input(2)).size() != 1) continue;
    Tensor w1 = g.find_initializer(c1.inputs[1])->tensor.clone();
    Tensor w2 = g.find_initializer(c2.inputs[1])->tensor.clone();
    const int64_t ch = w1.dim(0);
    if (w2.dim(1) != ch) continue;
    const int64_t inner1 = w1.numel() / ch;
    const int64_t cin2 = w2.dim(1), inner2 = w2.numel() / (w2.dim(0) * cin2);
    std::vector<float> r1(ch, 0.f), r2(ch, 0.f);
    float* a = w1.data<float>();
    float* b = w2.data<float>();
    for (int64_t i = 0; i < ch; ++i)
      for (int64_t k = 0; k < inner1; ++k) r1[i] = std::max(r1[i], std::fabs(a[i * inner1 + k]));
    for (int64_t o = 0; o < w2.dim(0); ++o)
      for (int64_t i = 0; i < ch; ++i)
        for (int64_t k = 0; k < inner2; ++k)
          r2[i] = std::max(r2[i], std::fabs(b[(o * cin2 + i) * inner2 + k]));
    Tensor bias;
    if (!c1.input(2).empty()) bias = g.find_initializer(c1.input(2))->tensor.clone();
    for (int64_t i = 0; i < ch; ++i) {
      if (!(r1[i] > 0) || !(r2[i] > 0)) continue;
      const float s = std::sqrt(r1[i] / r2[i]);
      for (int64_t k = 0; k < inner1; ++k) a[i * inner1 + k] /= s;
      if (bias.defined()) bias.data<float>()[i] /= s;
      for (int64_t o = 0; o < w2.dim(0); ++o)
        for (int64_t k = 0; k < inner2; ++k) b[(o * cin2 + i) * inner2 + k] *= s;
    }
    g.find_initializer(c1.inputs[1])->tensor = w1;
    g.find_initializer(c2.inputs[1])->tensor = w2;
    if (bias.defined()) g.find_initializer(c1.input(2))->tensor = bias;
    ++pairs;
  }
  return pairs;
}

}  // namespace edgeopt::quant
