#include "window.h"

namespace edgeopt::rt::ops {

WindowAttrs parse_window_attrs(const Node& node) {
  WindowAttrs a;
  a.auto_pad = node.attr_string("auto_pad", "NOTSET");
  if (a.auto_pad.empty()) a.auto_pad = "NOTSET";
  a.kernel_shape = node.attr_ints("kernel_shape");
  a.strides = node.attr_ints("strides");
  a.dilations = node.attr_ints("dilations");
  a.pads = node.attr_ints("pads");
  a.ceil_mode = node.attr_int("ceil_mode", 0) != 0;
  if (a.auto_pad != "NOTSET" && a.auto_pad != "SAME_UPPER" && a.auto_pad != "SAME_LOWER" &&
      a.auto_pad != "VALID")
    fail_input("node ", node.describe(), ": unknown auto_pad '", a.auto_pad, "'");
  return a;
}

void check_window_attrs(const Node& node, const WindowAttrs& a, int nd) {
  if (nd < 1 || nd > kMaxSpatial)
    fail_unsupported("node ", node.describe(), ": ", nd, " spatial dims (supported: 1 to ",
                     kMaxSpatial, ")");
  auto check_len = [&](const std::vector<int64_t>& v, size_t n, const char* name) {
    if (!v.empty() && v.size() != n)
      fail_input("node ", node.describe(), ": attribute ", name, " has ", v.size(),
                 " values, expected ", n, " for ", nd, " spatial dims");
  };
  check_len(a.kernel_shape, nd, "kernel_shape");
  check_len(a.strides, nd, "strides");
  check_len(a.dilations, nd, "dilations");
  check_len(a.pads, 2 * nd, "pads");
  for (int64_t s : a.strides)
    if (s < 1) fail_input("node ", node.describe(), ": strides must be >= 1");
  for (int64_t d : a.dilations)
    if (d < 1) fail_input("node ", node.describe(), ": dilations must be >= 1");
  for (int64_t p : a.pads)
    if (p < 0) fail_input("node ", node.describe(), ": pads must be >= 0");
}

namespace {

// The window of `kernel` over `in` with the strides and dilations of `a` (1 where not given), no
// padding yet and output sizes 0.
Window unpadded_window(const WindowAttrs& a, const Shape& in, const Shape& kernel) {
  const int nd = static_cast<int>(in.size());
  Window w;
  w.nd = nd;
  w.in = in;
  w.kernel = kernel;
  w.out.assign(nd, 0);
  w.stride.assign(nd, 1);
  w.dilation.assign(nd, 1);
  w.pad_begin.assign(nd, 0);
  w.pad_end.assign(nd, 0);
  for (int d = 0; d < nd; ++d) {
    if (!a.strides.empty()) w.stride[d] = a.strides[d];
    if (!a.dilations.empty()) w.dilation[d] = a.dilations[d];
  }
  return w;
}

}  // namespace

Window resolve_window(const Node& node, const WindowAttrs& a, const Shape& in,
                      const Shape& kernel) {
  const int nd = static_cast<int>(in.size());
  check_window_attrs(node, a, nd);
  // Conv-like nodes take the kernel from the weight: a kernel_shape attribute must agree.
  if (!a.kernel_shape.empty() && Shape(a.kernel_shape.begin(), a.kernel_shape.end()) != kernel)
    fail_input("node ", node.describe(), ": kernel_shape ", shape_str(a.kernel_shape),
               " does not match the weight's spatial dims ", shape_str(kernel));
  Window w = unpadded_window(a, in, kernel);
  for (int d = 0; d < nd; ++d) {
    if (kernel[d] < 1) fail_input("node ", node.describe(), ": kernel size must be >= 1");
    const int64_t s = w.stride[d];
    const int64_t eff_k = (kernel[d] - 1) * w.dilation[d] + 1;
    if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER") {
      w.out[d] = (in[d] + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (w.out[d] - 1) * s + eff_k - in[d]);
      const int64_t small = total / 2;
      w.pad_begin[d] = a.auto_pad == "SAME_UPPER" ? small : total - small;
      w.pad_end[d] = total - w.pad_begin[d];
      continue;
    }
    if (a.auto_pad == "NOTSET" && !a.pads.empty()) {
      w.pad_begin[d] = a.pads[d];
      w.pad_end[d] = a.pads[nd + d];
    }
    const int64_t span = in[d] + w.pad_begin[d] + w.pad_end[d] - eff_k;
    if (span < 0)
      fail_input("node ", node.describe(), ": window of ", eff_k, " (kernel ", kernel[d],
                 ", dilation ", w.dilation[d], ") is larger than the padded input (",
                 in[d] + w.pad_begin[d] + w.pad_end[d], ") in spatial dim ", d);
    if (a.ceil_mode && a.auto_pad == "NOTSET") {
      w.out[d] = (span + s - 1) / s + 1;
      if ((w.out[d] - 1) * s >= in[d] + w.pad_begin[d]) --w.out[d];
    } else {
      w.out[d] = span / s + 1;
    }
  }
  return w;
}

Window resolve_transpose_window(const WindowAttrs& a, const Shape& in, const Shape& kernel,
                                const std::vector<int64_t>& output_padding,
                                const std::vector<int64_t>& output_shape) {
  const int nd = static_cast<int>(in.size());
  Window w = unpadded_window(a, in, kernel);
  const std::string& ap = a.auto_pad;
  for (int d = 0; d < nd; ++d) {
    const int64_t op = output_padding.empty() ? 0 : output_padding[d];
    const int64_t s = w.stride[d];
    const int64_t full = s * (in[d] - 1) + op + (kernel[d] - 1) * w.dilation[d] + 1;
    if (!output_shape.empty() || ap == "SAME_UPPER" || ap == "SAME_LOWER") {
      w.out[d] = !output_shape.empty() ? output_shape[output_shape.size() - nd + d] : in[d] * s;
      const int64_t total = full - w.out[d];
      const int64_t half = total >= 0 ? total / 2 : -((1 - total) / 2);
      w.pad_begin[d] = ap == "SAME_UPPER" ? half : total - half;
      w.pad_end[d] = total - w.pad_begin[d];
    } else {
      if (ap == "NOTSET" && !a.pads.empty()) {
        w.pad_begin[d] = a.pads[d];
        w.pad_end[d] = a.pads[nd + d];
      }
      w.out[d] = full - w.pad_begin[d] - w.pad_end[d];
    }
  }
  return w;
}

}  // namespace edgeopt::rt::ops
