#include "quant_common.h"

namespace edgeopt::rt::ref {

void expect_dtype(const Node& node, const InferContext& ctx, size_t i,
                  std::initializer_list<DType> allowed, const char* what) {
  if (!ctx.has_input(i)) return;
  const DType t = ctx.dtype(i);
  for (DType a : allowed)
    if (a == t) return;
  std::string names;
  for (DType a : allowed) names += std::string(names.empty() ? "" : ", ") + dtype_name(a);
  fail_unsupported("node ", node.describe(), ": input ", what, " has dtype ", dtype_name(t),
                   ", expected one of ", names);
}

void expect_int8_operand(const Node& node, const InferContext& ctx, size_t value, size_t zero_point,
                         const char* what) {
  expect_dtype(node, ctx, value, {DType::kU8, DType::kI8}, what);
  if (ctx.has_input(zero_point) && ctx.dtype(zero_point) != ctx.dtype(value))
    fail_input("node ", node.describe(), ": ", what, "_zero_point's dtype differs from ", what,
               "'s");
}

void expect_scalar(const Node& node, const InferContext& ctx, size_t i, const char* what) {
  if (ctx.has_input(i) && shape_numel(ctx.shape(i)) != 1)
    fail_input("node ", node.describe(), ": input ", what, " of shape ", shape_str(ctx.shape(i)),
               " must hold one value (per-tensor)");
}

QuantAxis quant_axis(const Node& node, const Shape& data, const Shape& scale, const Shape* zp,
                     int64_t axis, bool allow_per_axis, const char* what) {
  const int64_t n = shape_numel(scale);
  if (zp && shape_numel(*zp) != n)
    fail_input("node ", node.describe(), ": zero point of shape ", shape_str(*zp),
               " does not match ", what, " of shape ", shape_str(scale));
  QuantAxis q;
  if (n == 1) return q;  // per-tensor
  if (!allow_per_axis || scale.size() != 1)
    fail_input("node ", node.describe(), ": ", what, " of shape ", shape_str(scale),
               " must be a scalar", allow_per_axis ? " or a 1-D tensor" : "");
  const int64_t rank = static_cast<int64_t>(data.size());
  const int64_t ax = normalize_axis(axis, rank, node);
  if (rank == 0 || data[ax] != n)
    fail_input("node ", node.describe(), ": ", what, " has ", n, " elements but axis ", axis,
               " of the data (shape ", shape_str(data), ") has ", rank ? data[ax] : 0);
  q.count = n;
  for (int64_t d = ax + 1; d < rank; ++d) q.inner *= data[d];
  return q;
}

ConvAttrs parse_conv_attrs(const Node& node) {
  ConvAttrs a;
  a.auto_pad = node.attr_string("auto_pad", "NOTSET");
  a.group = node.attr_int("group", 1);
  a.kernel_shape = node.attr_ints("kernel_shape");
  a.strides = node.attr_ints("strides");
  a.dilations = node.attr_ints("dilations");
  a.pads = node.attr_ints("pads");
  if (a.auto_pad != "NOTSET" && a.auto_pad != "VALID" && a.auto_pad != "SAME_UPPER" &&
      a.auto_pad != "SAME_LOWER")
    fail_input("node ", node.describe(), ": unknown auto_pad '", a.auto_pad, "'");
  if (a.group < 1) fail_input("node ", node.describe(), ": group must be >= 1, got ", a.group);
  return a;
}

Shape ConvGeometry::out_shape() const {
  Shape s = {batch, out_channels};
  for (int d = 0; d < spatial; ++d) s.push_back(out[d]);
  return s;
}

ConvGeometry conv_geometry(const Node& node, const ConvAttrs& attrs, const Shape& x,
                           const Shape& w) {
  if (x.size() < 3 || w.size() != x.size())
    fail_input("node ", node.describe(), ": input x of shape ", shape_str(x),
               " and weight w of shape ", shape_str(w), " must have the same rank, at least 3");
  ConvGeometry g;
  g.spatial = static_cast<int>(x.size()) - 2;
  if (g.spatial > kMaxConvSpatial)
    fail_unsupported("node ", node.describe(), ": convolutions over more than ", kMaxConvSpatial,
                     " spatial dims are not supported");
  g.batch = x[0];
  g.in_channels = x[1];
  g.out_channels = w[0];
  g.group = attrs.group;
  if (w[1] * g.group != g.in_channels || g.out_channels % g.group != 0)
    fail_input("node ", node.describe(), ": weight of shape ", shape_str(w),
               " does not fit input of shape ", shape_str(x), " with group ", g.group);
  const auto sized = [&](const std::vector<int64_t>& v, size_t n, const char* name) {
    if (!v.empty() && v.size() != n)
      fail_input("node ", node.describe(), ": attribute ", name, " has ", v.size(),
                 " values, expected ", n);
  };
  const size_t sp = static_cast<size_t>(g.spatial);
  sized(attrs.kernel_shape, sp, "kernel_shape");
  sized(attrs.strides, sp, "strides");
  sized(attrs.dilations, sp, "dilations");
  if (attrs.auto_pad == "NOTSET") sized(attrs.pads, 2 * sp, "pads");
  for (int d = 0; d < g.spatial; ++d) {
    g.in[d] = x[d + 2];
    g.kernel[d] = w[d + 2];
    if (!attrs.kernel_shape.empty() && attrs.kernel_shape[d] != g.kernel[d])
      fail_input("node ", node.describe(), ": kernel_shape does not match weight of shape ",
                 shape_str(w));
    g.stride[d] = attrs.strides.empty() ? 1 : attrs.strides[d];
    g.dilation[d] = attrs.dilations.empty() ? 1 : attrs.dilations[d];
    if (g.stride[d] < 1 || g.dilation[d] < 1)
      fail_input("node ", node.describe(), ": strides and dilations must be >= 1");
    const int64_t span = (g.kernel[d] - 1) * g.dilation[d] + 1;  // receptive field
    if (attrs.auto_pad == "SAME_UPPER" || attrs.auto_pad == "SAME_LOWER") {
      g.out[d] = (g.in[d] + g.stride[d] - 1) / g.stride[d];
      const int64_t total = std::max<int64_t>(0, (g.out[d] - 1) * g.stride[d] + span - g.in[d]);
      g.pad_begin[d] = attrs.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    } else {
      int64_t pb = 0, pe = 0;
      if (attrs.auto_pad == "NOTSET" && !attrs.pads.empty()) {
        pb = attrs.pads[d];
        pe = attrs.pads[d + sp];
      }
      if (pb < 0 || pe < 0) fail_input("node ", node.describe(), ": pads must be >= 0");
      g.pad_begin[d] = pb;
      const int64_t padded = g.in[d] + pb + pe;
      g.out[d] = padded < span ? 0 : (padded - span) / g.stride[d] + 1;
    }
    if (g.out[d] < 1 && g.in[d] > 0)
      fail_input("node ", node.describe(), ": kernel of shape ", shape_str(w),
                 " is larger than the padded input of shape ", shape_str(x));
  }
  return g;
}

MatMulGeometry matmul_geometry(const Node& node, const Shape& a, const Shape& b) {
  if (a.empty() || b.empty())
    fail_input("node ", node.describe(), ": matmul inputs must have rank >= 1, got ", shape_str(a),
               " and ", shape_str(b));
  MatMulGeometry g;
  g.M = a.size() >= 2 ? a[a.size() - 2] : 1;
  g.K = a.back();
  const int64_t kb = b.size() >= 2 ? b[b.size() - 2] : b[0];
  g.N = b.size() >= 2 ? b.back() : 1;
  if (kb != g.K)
    fail_input("node ", node.describe(), ": shapes ", shape_str(a), " and ", shape_str(b),
               " do not multiply");
  const Shape ab(a.begin(), a.end() - std::min<size_t>(a.size(), 2));
  const Shape bb(b.begin(), b.end() - std::min<size_t>(b.size(), 2));
  g.batch_shape = broadcast_shapes({ab, bb}, node);
  g.batch = shape_numel(g.batch_shape);
  g.out_shape = g.batch_shape;
  if (a.size() >= 2) g.out_shape.push_back(g.M);
  if (b.size() >= 2) g.out_shape.push_back(g.N);
  return g;
}

int64_t matmul_operand_batch(const Shape& own, const Shape& batch_shape, int64_t out_batch) {
  if (own.size() <= 2) return 0;
  const size_t own_batch_rank = own.size() - 2;
  const size_t off = batch_shape.size() - own_batch_rank;  // right-aligned
  // Walk the output batch index from the last dim, accumulating the operand's own index with
  // its row-major strides (stride 0 where it broadcasts a dim of 1).
  int64_t index = 0, stride = 1, rest = out_batch;
  for (size_t d = batch_shape.size(); d-- > 0;) {
    const int64_t i = rest % batch_shape[d];
    rest /= batch_shape[d];
    if (d < off) continue;
    const int64_t own_dim = own[d - off];
    if (own_dim != 1) index += i * stride;
    stride *= own_dim;
  }
  return index;
}

RowColParam row_col_param(const Node& node, const Shape& operand, const Shape& param, bool rows,
                          const char* what) {
  RowColParam p;
  const size_t r = operand.size();
  p.len = rows ? (r >= 2 ? operand[r - 2] : 1) : (r >= 2 ? operand[r - 1] : 1);
  const int64_t n = shape_numel(param);
  if (n == 1) return p;
  if (param.size() == 1 && param[0] == p.len) {
    p.kind = RowColParam::kVector;
    return p;
  }
  bool batched = r >= 2 && param.size() == r;
  for (size_t d = 0; batched && d + 2 < r; ++d) batched = param[d] == operand[d];
  if (batched)
    batched = rows ? (param[r - 2] == p.len && param[r - 1] == 1)
                   : (param[r - 2] == 1 && param[r - 1] == p.len);
  if (!batched)
    fail_input("node ", node.describe(), ": ", what, " of shape ", shape_str(param),
               " is neither per-tensor nor per-", rows ? "row" : "column",
               " for an operand of shape ", shape_str(operand));
  p.kind = RowColParam::kBatched;
  return p;
}

}  // namespace edgeopt::rt::ref
