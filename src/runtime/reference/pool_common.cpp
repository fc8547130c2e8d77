#include "pool_common.h"

namespace edgeopt::rt::ref {

void check_conv_inputs(const Node& node, const Tensor& x, const Tensor& w) {
  if (x.dtype() != DType::kF32 && x.dtype() != DType::kF64) unsupported_dtype(node, x.dtype());
  if (w.dtype() != x.dtype())
    fail_input("node ", node.describe(), ": weight '", node.input(1), "' is ",
               dtype_name(w.dtype()), " but input is ", dtype_name(x.dtype()));
}

void check_conv_shapes(const Node& node, const Shape& xs, const Shape& ws) {
  check_spatial_input(node, xs);
  if (ws.size() != xs.size())
    fail_input("node ", node.describe(), ": weight '", node.input(1), "' has shape ", shape_str(ws),
               ", expected rank ", xs.size());
}

void check_conv_bias(const Node& node, const Tensor& b, DType dtype, int64_t m) {
  if (b.dtype() != dtype || b.rank() != 1 || b.dim(0) != m)
    fail_input("node ", node.describe(), ": bias '", node.input(2), "' must be ", dtype_name(dtype),
               " of shape ", m, ", got ", dtype_name(b.dtype()), " ", shape_str(b.shape()));
}

PoolWindow::PoolWindow(const Node& node) : node_(node), attrs_(parse_window_attrs(node)) {
  if (attrs_.kernel_shape.empty())
    fail_input("node ", node_.describe(), ": attribute kernel_shape is required");
}

const Window& PoolWindow::operator()(const Shape& xs) {
  if (xs == x_shape_) return win_;
  check_spatial_input(node_, xs);
  win_ = resolve_window(node_, attrs_, Shape(xs.begin() + 2, xs.end()), attrs_.kernel_shape);
  x_shape_ = xs;
  return win_;
}

}  // namespace edgeopt::rt::ref
