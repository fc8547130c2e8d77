// Sliding-window geometry of the ONNX window ops (Conv, ConvTranspose, MaxPool, AveragePool),
// shared by every provider's kernels (ONNX semantics, no computation): parsing kernel_shape /
// strides / dilations / pads / auto_pad / ceil_mode and turning them into per-dimension output
// sizes and padding for a given input shape.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "edgeopt/error.h"
#include "edgeopt/ir.h"
#include "edgeopt/tensor.h"

namespace edgeopt::rt::ops {

// Spatial ranks above this are refused (fixed-size index arrays keep run() allocation free).
inline constexpr int kMaxSpatial = 8;

struct WindowAttrs {
  std::string auto_pad = "NOTSET";    // NOTSET, SAME_UPPER, SAME_LOWER, VALID
  std::vector<int64_t> kernel_shape;  // empty: not given
  std::vector<int64_t> strides;       // empty: all 1
  std::vector<int64_t> dilations;     // empty: all 1
  std::vector<int64_t> pads;          // empty: all 0; else [begin..., end...]
  bool ceil_mode = false;
};

// Reads the attributes above from a node (those the op does not define are simply absent).
WindowAttrs parse_window_attrs(const Node& node);

// Resolved geometry for one input shape.
struct Window {
  int nd = 0;  // spatial rank
  Shape in, out, kernel, stride, dilation, pad_begin, pad_end;
};

// Checks the attributes against `nd` spatial dims and computes the output size of a forward
// window op (Conv, pools). With eff_k = (k - 1) * d + 1:
//   NOTSET: out = floor((in + pb + pe - eff_k) / s) + 1 (ceil with ceil_mode, where a last
//           window that would start in the end padding is dropped, as PyTorch does)
//   VALID:  pads 0, out = floor((in - eff_k) / s) + 1
//   SAME_*: out = ceil(in / s), total pad = max(0, (out - 1) * s + eff_k - in), the odd unit
//           at the end (SAME_UPPER) or the beginning (SAME_LOWER).
Window resolve_window(const Node& node, const WindowAttrs& attrs, const Shape& in,
                      const Shape& kernel);

// The geometry of a ConvTranspose (the gradient of a forward window) with input spatial dims
// `in`, after the attributes are checked. Per dim, full = s * (in - 1) + op + (k - 1) * d + 1
// (op = output_padding, 0 when empty):
//   output_shape given or SAME_*: out = output_shape (its last nd values) or in * s, total
//           pad = full - out, the odd unit at the end (SAME_UPPER) or the beginning otherwise;
//           floor division, so a negative total (output_shape larger than full) leaves the
//           never-written positions at the end, as the ONNX reference does.
//   else:   pads from the attribute (NOTSET) or 0, out = full - pb - pe.
// Output sizes are not checked: a size below 1 is the caller's to refuse.
Window resolve_transpose_window(const WindowAttrs& attrs, const Shape& in, const Shape& kernel,
                                const std::vector<int64_t>& output_padding,
                                const std::vector<int64_t>& output_shape);

// Checks attribute list lengths against the spatial rank.
void check_window_attrs(const Node& node, const WindowAttrs& attrs, int nd);

}  // namespace edgeopt::rt::ops
