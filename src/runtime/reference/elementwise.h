// Shared pieces of the element-wise reference kernels: half-precision element types, dtype
// visitors that hand a generic lambda the C++ element type, and the broadcast loops.
//
// Half and bfloat16 elements are computed in float (load → compute → store rounds once per
// op, as numpy does for float16 arrays).
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "common.h"

namespace edgeopt::rt::ref {

// Storage types of IEEE half and bfloat16, distinct from uint16_t so templates can tell them
// apart.
struct Half {
  uint16_t bits;
};
struct BFloat16 {
  uint16_t bits;
};

// The type an element is computed in: float for the half types, the type itself otherwise.
template <class T>
struct ArithOf {
  using type = T;
};
template <>
struct ArithOf<Half> {
  using type = float;
};
template <>
struct ArithOf<BFloat16> {
  using type = float;
};
template <class T>
using arith_t = typename ArithOf<T>::type;

template <class T>
inline constexpr bool is_floating_v =
    std::is_floating_point_v<T> || std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

template <class T>
inline T load(T v) {
  return v;
}
inline float load(Half v) { return f16_to_f32(v.bits); }
inline float load(BFloat16 v) { return bf16_to_f32(v.bits); }

template <class T>
inline T store(arith_t<T> v) {
  return static_cast<T>(v);
}
template <>
inline Half store<Half>(float v) {
  return Half{f32_to_f16(v)};
}
template <>
inline BFloat16 store<BFloat16>(float v) {
  return BFloat16{f32_to_bf16(v)};
}

template <class T>
struct TypeTag {
  using type = T;
};

// Calls f(TypeTag<T>{}) for the element type of `t`; unsupported dtypes throw naming the node.
template <class F>
void visit_float(DType t, const Node& node, F&& f) {
  switch (t) {
    case DType::kF32:
      f(TypeTag<float>{});
      break;
    case DType::kF64:
      f(TypeTag<double>{});
      break;
    case DType::kF16:
      f(TypeTag<Half>{});
      break;
    case DType::kBF16:
      f(TypeTag<BFloat16>{});
      break;
    default:
      unsupported_dtype(node, t);
  }
}

template <class F>
void visit_integer(DType t, const Node& node, F&& f) {
  switch (t) {
    case DType::kI8:
      f(TypeTag<int8_t>{});
      break;
    case DType::kU8:
      f(TypeTag<uint8_t>{});
      break;
    case DType::kI16:
      f(TypeTag<int16_t>{});
      break;
    case DType::kU16:
      f(TypeTag<uint16_t>{});
      break;
    case DType::kI32:
      f(TypeTag<int32_t>{});
      break;
    case DType::kU32:
      f(TypeTag<uint32_t>{});
      break;
    case DType::kI64:
      f(TypeTag<int64_t>{});
      break;
    case DType::kU64:
      f(TypeTag<uint64_t>{});
      break;
    default:
      unsupported_dtype(node, t);
  }
}

template <class F>
void visit_numeric(DType t, const Node& node, F&& f) {
  if (dtype_is_float(t))
    visit_float(t, node, f);
  else
    visit_integer(t, node, f);
}

// Every numeric dtype and bool.
template <class F>
void visit_any(DType t, const Node& node, F&& f) {
  if (t == DType::kBool)
    f(TypeTag<bool>{});
  else
    visit_numeric(t, node, f);
}

bool is_float_dtype(DType t);
bool is_integer_dtype(DType t);
bool is_signed_dtype(DType t);  // signed integers and floats

// Throws unless input i has one of the dtypes accepted by `ok`; `what` names the set.
void require_dtype(const InferContext& ctx, size_t i, bool (*ok)(DType), const char* what);
// Throws unless inputs a and b have the same dtype.
void require_same_dtype(const InferContext& ctx, size_t a, size_t b);

// Shape of input B as numpy broadcasting should see it. Before opset 7, binary ops broadcast
// only with attribute broadcast=1, B aligned to A at `axis` (default: trailing dims); with
// broadcast=0 the shapes must be equal.
Shape legacy_b_shape(const Node& node, int64_t opset, const Shape& a, const Shape& b);

// out[i] = f(a[ia], b[ib]) under numpy broadcasting; plain loops when shapes are equal or one
// side is a single element.
template <class A, class B, class O, class F>
void binary_broadcast(const Shape& sa, const A* a, const Shape& sb, const B* b, const Shape& so,
                      O* out, F&& f) {
  const int64_t n = shape_numel(so);
  const int64_t na = shape_numel(sa), nb = shape_numel(sb);
  if (na == n && nb == n && sa.size() == sb.size()) {
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
    return;
  }
  if (nb == 1 && na == n) {
    const B s = b[0];
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], s);
    return;
  }
  if (na == 1 && nb == n) {
    const A s = a[0];
    for (int64_t i = 0; i < n; ++i) out[i] = f(s, b[i]);
    return;
  }
  for_each_broadcast(
      so, {broadcast_strides(sa, so), broadcast_strides(sb, so)},
      [&](int64_t i, const std::vector<int64_t>& off) { out[i] = f(a[off[0]], b[off[1]]); });
}

// Base of a kernel computing out = f(in0, in1) with numpy broadcasting (legacy broadcasting
// before opset 7). infer() checks the dtypes with `check_dtypes` and gives the broadcast shape
// with dtype out_dtype(input dtype).
class BinaryKernel : public NodeKernel {
 public:
  explicit BinaryKernel(const KernelInit& init) : NodeKernel(init), opset_(init.opset) {}
  void infer(InferContext& ctx) override;

 protected:
  // Validates input dtypes and returns the output dtype.
  virtual DType check_dtypes(const InferContext& ctx) = 0;
  // Shape of B to broadcast with (legacy rules before opset 7).
  Shape b_shape(const Shape& a, const Shape& b) const {
    return legacy_b_shape(node_, opset_, a, b);
  }
  // Runs the broadcast loop for element types A, B, O.
  template <class A, class B, class O, class F>
  void apply(RunContext& ctx, F&& f) const {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    Tensor& y = ctx.output(0);
    binary_broadcast(a.shape(), a.data<A>(), b_shape(a.shape(), b.shape()), b.data<B>(), y.shape(),
                     y.data<O>(), f);
  }

  int64_t opset_;
};

// Which dtypes a unary op takes.
enum class UnaryTypes { kFloat, kNumeric, kSignedNumeric };

// y = op(x) element by element, same dtype and shape. `Op` gives kTypes and
// `template <class C> C operator()(C x) const` (C is the arithmetic type: float for the half
// types); it is built from the node when it has attributes (Op(const Node&)).
template <class Op>
class UnaryKernel final : public NodeKernel {
 public:
  explicit UnaryKernel(const KernelInit& init) : NodeKernel(init), op_(make_op(init.node)) {}

  void infer(InferContext& ctx) override {
    if constexpr (Op::kTypes == UnaryTypes::kFloat)
      require_dtype(ctx, 0, is_float_dtype, "a floating-point type");
    else if constexpr (Op::kTypes == UnaryTypes::kSignedNumeric)
      require_dtype(ctx, 0, is_signed_dtype, "a signed numeric type");
    else
      require_dtype(
          ctx, 0, [](DType t) { return is_float_dtype(t) || is_integer_dtype(t); },
          "a numeric type");
    ctx.set_output(0, ctx.dtype(0), ctx.shape(0));
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    auto body = [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* in = x.data<T>();
      T* out = y.data<T>();
      const int64_t n = x.numel();
      for (int64_t i = 0; i < n; ++i) out[i] = store<T>(op_(load(in[i])));
    };
    if constexpr (Op::kTypes == UnaryTypes::kFloat)
      visit_float(x.dtype(), node_, body);
    else
      visit_numeric(x.dtype(), node_, body);
  }

 private:
  static Op make_op(const Node& node) {
    if constexpr (std::is_constructible_v<Op, const Node&>)
      return Op(node);
    else
      return Op{};
  }

  const Op op_;
};

}  // namespace edgeopt::rt::ref
