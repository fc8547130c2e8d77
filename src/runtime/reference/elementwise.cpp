#include "elementwise.h"

namespace edgeopt::rt::ref {

bool is_float_dtype(DType t) { return dtype_is_float(t); }

bool is_integer_dtype(DType t) {
  switch (t) {
    case DType::kI8:
    case DType::kU8:
    case DType::kI16:
    case DType::kU16:
    case DType::kI32:
    case DType::kU32:
    case DType::kI64:
    case DType::kU64:
      return true;
    default:
      return false;
  }
}

bool is_signed_dtype(DType t) {
  return dtype_is_float(t) || t == DType::kI8 || t == DType::kI16 || t == DType::kI32 ||
         t == DType::kI64;
}

void require_dtype(const InferContext& ctx, size_t i, bool (*ok)(DType), const char* what) {
  const DType t = ctx.dtype(i);
  if (!ok(t))
    fail_unsupported("node ", ctx.node().describe(), ": input ", i, " ('", ctx.node().input(i),
                     "') has dtype ", dtype_name(t), ", expected ", what);
}

void require_same_dtype(const InferContext& ctx, size_t a, size_t b) {
  if (ctx.dtype(a) != ctx.dtype(b))
    fail_input("node ", ctx.node().describe(), ": inputs '", ctx.node().input(a), "' (",
               dtype_name(ctx.dtype(a)), ") and '", ctx.node().input(b), "' (",
               dtype_name(ctx.dtype(b)), ") must have the same dtype");
}

Shape legacy_b_shape(const Node& node, int64_t opset, const Shape& a, const Shape& b) {
  if (opset >= 7) return b;
  if (node.attr_int("broadcast", 0) == 0) {
    if (a != b)
      fail_input("node ", node.describe(), ": shapes ", shape_str(a), " and ", shape_str(b),
                 " differ and attribute broadcast is 0 (opset ", opset, ")");
    return b;
  }
  const int64_t ra = static_cast<int64_t>(a.size());
  const int64_t rb = static_cast<int64_t>(b.size());
  if (rb > ra)
    fail_input("node ", node.describe(), ": B (", shape_str(b), ") has a higher rank than A (",
               shape_str(a), ") under legacy broadcasting");
  if (!node.has_attr("axis")) return b;  // suffix matching, same as numpy
  // B's dims sit at A[axis, axis + rb): pad B with trailing ones up to A's rank.
  const int64_t axis = normalize_axis(node.attr_int("axis", 0), ra, node);
  if (axis + rb > ra)
    fail_input("node ", node.describe(), ": axis ", axis, " puts B (", shape_str(b),
               ") past the end of A (", shape_str(a), ")");
  Shape s = b;
  s.resize(static_cast<size_t>(ra - axis), 1);
  return s;
}

void BinaryKernel::infer(InferContext& ctx) {
  const DType out = check_dtypes(ctx);
  const Shape& a = ctx.shape(0);
  const Shape b = b_shape(a, ctx.shape(1));
  Shape y = broadcast_shapes({a, b}, node_);
  if (opset_ < 7 && y != a)
    fail_input("node ", node_.describe(), ": legacy broadcasting cannot grow A (", shape_str(a),
               ") to ", shape_str(y));
  ctx.set_output(0, out, std::move(y));
}

}  // namespace edgeopt::rt::ref
