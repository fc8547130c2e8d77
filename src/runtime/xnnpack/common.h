// Shared by the XNNPACK provider's graph rewrite and its Subgraph kernel (internal).
//
// The rewrite collapses each maximal run of connected nodes XNNPACK can take into one node
// `edgeopt.xnnpack.Subgraph`; the collapsed nodes ride along in its graph attribute "body",
// whose inputs are the node's inputs (activations and the initializers the body reads) and
// whose outputs are the node's outputs. The kernel turns the body into an xnn_subgraph.
#pragma once

#include <cstdint>
#include <string>

#include "edgeopt/ir.h"

namespace edgeopt::rt::xnnpack {

inline constexpr const char* kProvider = "xnnpack";
inline constexpr const char* kDomain = "edgeopt.xnnpack";
inline constexpr const char* kBodyAttr = "body";
// Opset of the default domain the body's nodes were written for (Clip changed at 11).
inline constexpr const char* kOpsetAttr = "onnx_opset";

inline bool is_default_domain(const Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

// How many nodes the Subgraph kernels of this process have defined as XNNPACK int8 operators
// (subgraph.cpp): for tests, which must tell an int8 run from a float one on dequantized data.
int64_t int8_operators_defined();

}  // namespace edgeopt::rt::xnnpack
