// The FX int8 ResNet-18 fixture (scripts/make_torchvision_fixtures.py --fx-int8): where the
// fixtures are and the quantization step of its logits, shared by the tests that compare its
// outputs.
#pragma once

#include <cstdlib>
#include <filesystem>

#include "edgeopt/ir.h"

namespace edgeopt::testing {

// EDGEOPT_FIXTURES_DIR, or <build>/fixtures.
inline std::filesystem::path fixtures_dir() {
  if (const char* env = std::getenv("EDGEOPT_FIXTURES_DIR")) return env;
  return std::filesystem::path(EDGEOPT_BINARY_DIR) / "fixtures";
}

// Scale of the DequantizeLinear that produces the graph's first output: the logits lie on a
// grid of this step. 0 when there is none.
inline float output_step(const Model& m) {
  for (const auto& node : m.graph.nodes) {
    if (node.op_type != "DequantizeLinear" || node.outputs[0] != m.graph.outputs[0].name) continue;
    if (const auto* init = m.graph.find_initializer(node.inputs[1]))
      return init->tensor.data<float>()[0];
    for (const auto& c : m.graph.nodes)
      if (c.op_type == "Constant" && c.outputs[0] == node.inputs[1])
        return c.attr("value")->t.tensor.data<float>()[0];
  }
  return 0;
}

}  // namespace edgeopt::testing
