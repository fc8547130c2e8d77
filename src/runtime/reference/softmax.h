// Axis layout shared by Softmax, LogSoftmax and Hardmax.
#pragma once

#include "common.h"

namespace edgeopt::rt::ref {

// x viewed as outer x len x inner, the op working along `len` (elements `inner` apart).
struct AxisLayout {
  int64_t outer = 1, len = 1, inner = 1;
};

// Before opset 13 the input is coerced to 2-D at `axis` (default 1): len is the product of
// dims[axis:], inner = 1. From opset 13 the op runs along dims[axis] alone (default -1).
AxisLayout softmax_layout(const Node& node, int64_t opset, const Shape& shape);

// The shared infer: input 0 float, the axis valid, output 0 of the input's dtype and shape.
void softmax_infer(InferContext& ctx, const Node& node, int64_t opset);

// Calls f(base) for every line along the axis: elements base + i * l.inner for i < l.len.
template <class F>
void for_each_axis_line(const AxisLayout& l, F&& f) {
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t in = 0; in < l.inner; ++in) f(o * l.len * l.inner + in);
}

}  // namespace edgeopt::rt::ref
