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

}  // namespace edgeopt::rt::ref
