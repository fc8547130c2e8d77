// Shared helpers of the quantized reference kernels (QuantizeLinear, DequantizeLinear,
// QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger, DynamicQuantizeLinear): rounding and
// saturation, reading scale / zero-point tensors (per-tensor or per-axis), convolution geometry
// and the int32-accumulating conv and matmul loops.
//
// Private to the runtime; fast providers' tests may include it to compute the exact expected
// integer result of a requantization.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>

#include "common.h"

namespace edgeopt::rt::ref {

// ---- rounding and saturation -------------------------------------------------------------

// Round to nearest, ties to even (what ONNX asks of QuantizeLinear and what std::nearbyint
// does in the default FE_TONEAREST mode); written out so the result never depends on the
// floating-point environment. 2.5 → 2, 3.5 → 4, -2.5 → -2.
inline float round_half_even(float v) {
  const float r = std::round(v);  // ties away from zero
  if (std::fabs(v - std::trunc(v)) != 0.5f) return r;
  return 2.0f * std::round(v * 0.5f);  // the even neighbour of a tie
}

// Clamps to the range of the integer type Q. NaN maps to 0 (ONNX leaves it undefined).
template <class Q>
inline Q saturate_cast(float v) {
  constexpr float lo = static_cast<float>(std::numeric_limits<Q>::lowest());
  constexpr float hi = static_cast<float>(std::numeric_limits<Q>::max());
  if (!(v == v)) return Q(0);
  return static_cast<Q>(v < lo ? lo : (v > hi ? hi : v));
}

template <class Q>
inline Q saturate_cast(int64_t v) {
  constexpr int64_t lo = std::numeric_limits<Q>::lowest();
  constexpr int64_t hi = std::numeric_limits<Q>::max();
  return static_cast<Q>(v < lo ? lo : (v > hi ? hi : v));
}

// q = saturate(round_half_even(x / scale) + zero_point): ONNX QuantizeLinear. Division (not
// multiplication by 1/scale) as ONNX Runtime does, so results match it bit for bit.
template <class Q>
inline Q quantize_value(float x, float scale, int32_t zero_point) {
  return saturate_cast<Q>(round_half_even(x / scale) + static_cast<float>(zero_point));
}

// q = saturate(round_half_even(acc * multiplier) + zero_point): requantizing an int32
// accumulator, with multiplier = x_scale * w_scale / y_scale computed in float (ONNX Runtime's
// order of operations).
template <class Q>
inline Q requantize_value(int32_t acc, float multiplier, int32_t zero_point) {
  return saturate_cast<Q>(round_half_even(static_cast<float>(acc) * multiplier) +
                          static_cast<float>(zero_point));
}

inline float requant_multiplier(float x_scale, float w_scale, float y_scale) {
  return x_scale * w_scale / y_scale;
}

// ---- scale / zero-point tensors -----------------------------------------------------------

// True for the integer types a quantized tensor may have here.
inline bool is_quant_int_dtype(DType t) {
  return t == DType::kU8 || t == DType::kI8 || t == DType::kU16 || t == DType::kI16;
}

// Throws unless input i (when present) has one of `allowed` dtypes; `what` names the input.
void expect_dtype(const Node& node, const InferContext& ctx, size_t i,
                  std::initializer_list<DType> allowed, const char* what);
// Throws unless input `value` is u8 or i8 and its zero point (input `zero_point`, when present)
// has the same dtype; `what` names the value ("x": "x_zero_point" is its zero point).
void expect_int8_operand(const Node& node, const InferContext& ctx, size_t value, size_t zero_point,
                         const char* what);
// Throws unless input i (when present) holds exactly one element.
void expect_scalar(const Node& node, const InferContext& ctx, size_t i, const char* what);

// Element i of a scale tensor (f32, f16, bf16 or f64) as float.
inline float scale_at(const Tensor& scale, int64_t i) {
  if (scale.dtype() == DType::kF32) return scale.data<float>()[i];
  return static_cast<float>(scale.get_f64(i));
}

// Element i of an optional zero-point tensor; 0 when absent.
inline int32_t zero_point_at(const Tensor* zp, int64_t i) {
  if (!zp) return 0;
  switch (zp->dtype()) {
    case DType::kU8:
      return zp->data<uint8_t>()[i];
    case DType::kI8:
      return zp->data<int8_t>()[i];
    case DType::kI32:
      return zp->data<int32_t>()[i];
    default:
      return static_cast<int32_t>(zp->get_i64(i));
  }
}

// How a scale (and its zero point) applies to a data tensor: element e of the data uses
// parameter (e / inner) % count. Per-tensor is count = 1.
struct QuantAxis {
  int64_t count = 1;
  int64_t inner = 1;
  int64_t param(int64_t e) const { return count == 1 ? 0 : (e / inner) % count; }
};

// Checks a scale / zero-point pair for data of shape `data` and says how it applies. A scale
// with one element is per-tensor; a 1-D scale of dim(axis) elements is per-axis (opset 13+).
// The zero point, when given, must have the scale's shape. `what` names the scale input in
// error messages.
QuantAxis quant_axis(const Node& node, const Shape& data, const Shape& scale, const Shape* zp,
                     int64_t axis, bool allow_per_axis, const char* what);

// ---- convolution geometry -------------------------------------------------------------------

inline constexpr int kMaxConvSpatial = 3;

// Conv attributes as parsed at create time (strides, dilations, pads, auto_pad, group,
// kernel_shape). Input-shape dependent parts are resolved by conv_geometry().
struct ConvAttrs {
  std::string auto_pad = "NOTSET";
  int64_t group = 1;
  std::vector<int64_t> kernel_shape, strides, dilations, pads;
};
ConvAttrs parse_conv_attrs(const Node& node);

// Everything the conv loops need, for input x [N, C, D1..Dk] and weight [M, C/group, K1..Kk].
// Fixed-size arrays so that run() computes it without allocating.
struct ConvGeometry {
  int spatial = 0;
  int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
  std::array<int64_t, kMaxConvSpatial> in{}, kernel{}, out{}, stride{}, dilation{}, pad_begin{};
  int64_t in_size() const { return prod(in); }
  int64_t out_size() const { return prod(out); }
  int64_t kernel_size() const { return prod(kernel); }
  Shape out_shape() const;

 private:
  int64_t prod(const std::array<int64_t, kMaxConvSpatial>& a) const {
    int64_t p = 1;
    for (int d = 0; d < spatial; ++d) p *= a[d];
    return p;
  }
};

// Validates shapes against the attributes and resolves output size and padding:
//   NOTSET:      out = floor((in + pad_begin + pad_end - ((k - 1) * dilation + 1)) / stride) + 1
//   VALID:       the same with zero pads
//   SAME_UPPER/SAME_LOWER: out = ceil(in / stride), total pad =
//                max(0, (out - 1) * stride + (k - 1) * dilation + 1 - in), the odd extra at the
//                end (UPPER) or at the beginning (LOWER).
ConvGeometry conv_geometry(const Node& node, const ConvAttrs& attrs, const Shape& x,
                           const Shape& w);

// acc[n, m, o...] = sum over c in m's group, k...: (x[n, c, o*s + k*d - p] - x_zp) *
// (w[m, c, k...] - w_zp(m)), padding contributing (x_zp - x_zp) = 0. Calls
// emit(output_index, m, acc) for every output element in row-major order.
template <class TX, class TW, class WZP, class Emit>
void conv_int32(const ConvGeometry& g, const TX* x, int32_t x_zp, const TW* w, WZP&& w_zp,
                Emit&& emit) {
  const int64_t cg = g.in_channels / g.group;   // input channels per group
  const int64_t mg = g.out_channels / g.group;  // output channels per group
  const int64_t in_size = g.in_size(), out_size = g.out_size(), k_size = g.kernel_size();
  std::array<int64_t, kMaxConvSpatial> o{}, k{};
  int64_t out_index = 0;
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t m = 0; m < g.out_channels; ++m) {
      const int64_t c0 = (m / mg) * cg;
      const int32_t wz = w_zp(m);
      for (int64_t op = 0; op < out_size; ++op, ++out_index) {
        // Output position op → coordinates o[] (row-major).
        for (int64_t d = g.spatial - 1, r = op; d >= 0; --d) {
          o[d] = r % g.out[d];
          r /= g.out[d];
        }
        int64_t acc = 0;  // wraps to int32 below: ONNX lets accumulation overflow in 32 bits
        for (int64_t c = 0; c < cg; ++c) {
          const TX* xc = x + ((n * g.in_channels) + c0 + c) * in_size;
          const TW* wc = w + (m * cg + c) * k_size;
          for (int64_t kp = 0; kp < k_size; ++kp) {
            for (int64_t d = g.spatial - 1, r = kp; d >= 0; --d) {
              k[d] = r % g.kernel[d];
              r /= g.kernel[d];
            }
            int64_t xi = 0;
            bool inside = true;
            for (int d = 0; d < g.spatial; ++d) {
              const int64_t pos = o[d] * g.stride[d] + k[d] * g.dilation[d] - g.pad_begin[d];
              inside = inside && pos >= 0 && pos < g.in[d];
              xi = xi * g.in[d] + pos;
            }
            if (!inside) continue;
            acc += (static_cast<int32_t>(xc[xi]) - x_zp) * (static_cast<int32_t>(wc[kp]) - wz);
          }
        }
        emit(out_index, m, static_cast<int32_t>(acc));
      }
    }
  }
}

// ---- matmul geometry ------------------------------------------------------------------------

// numpy.matmul shapes: a [..., M, K] (or [K]), b [..., K, N] (or [K]); batch dims broadcast.
struct MatMulGeometry {
  int64_t M = 0, K = 0, N = 0;
  int64_t batch = 1;  // number of output matrices
  Shape batch_shape;  // broadcast batch dims
  Shape out_shape;
};
MatMulGeometry matmul_geometry(const Node& node, const Shape& a, const Shape& b);

// Index of the a (or b) matrix that output matrix `out_batch` reads under batch broadcasting.
// `own` is the operand's shape, `batch_shape` the broadcast batch dims (a 1-D or 2-D operand
// has one matrix: index 0).
int64_t matmul_operand_batch(const Shape& own, const Shape& batch_shape, int64_t out_batch);

// How a per-row (for a) or per-column (for b) parameter tensor applies (QLinearMatMul scales
// and zero points, MatMulInteger zero points): one value; a vector of M (rows) / N (columns)
// values; or a tensor with the operand's batch dims and [M, 1] / [1, N] matrix dims.
struct RowColParam {
  enum Kind { kTensor, kVector, kBatched } kind = kTensor;
  int64_t len = 1;  // M or N
  // Index into the parameter tensor for operand matrix `batch`, row/column `i`.
  int64_t index(int64_t batch, int64_t i) const {
    return kind == kTensor ? 0 : (kind == kVector ? i : batch * len + i);
  }
};
// `operand` is a's or b's shape; `rows` says whether the parameter is per row (a: dims
// [..., M, 1]) or per column (b: [..., 1, N]).
RowColParam row_col_param(const Node& node, const Shape& operand, const Shape& param, bool rows,
                          const char* what);

// acc[bt, i, j] = sum_k (a[i, k] - a_zp(ab, i)) * (b[k, j] - b_zp(bb, j)) over each output
// matrix bt, where ab / bb are the a and b matrices it reads. Calls emit(out_index, ab, bb, i,
// j, acc) in row-major output order.
template <class TA, class TB, class AZP, class BZP, class Emit>
void matmul_int32(const MatMulGeometry& g, const Shape& a_shape, const Shape& b_shape, const TA* a,
                  AZP&& a_zp, const TB* b, BZP&& b_zp, Emit&& emit) {
  int64_t out_index = 0;
  for (int64_t bt = 0; bt < g.batch; ++bt) {
    const int64_t ab = matmul_operand_batch(a_shape, g.batch_shape, bt);
    const int64_t bb = matmul_operand_batch(b_shape, g.batch_shape, bt);
    const TA* am = a + ab * g.M * g.K;
    const TB* bm = b + bb * g.K * g.N;
    for (int64_t i = 0; i < g.M; ++i) {
      const int32_t az = a_zp(ab, i);
      for (int64_t j = 0; j < g.N; ++j, ++out_index) {
        const int32_t bz = b_zp(bb, j);
        int64_t acc = 0;
        for (int64_t k = 0; k < g.K; ++k)
          acc += (static_cast<int32_t>(am[i * g.K + k]) - az) *
                 (static_cast<int32_t>(bm[k * g.N + j]) - bz);
        emit(out_index, ab, bb, i, j, static_cast<int32_t>(acc));
      }
    }
  }
}

}  // namespace edgeopt::rt::ref

// Dispatches on a quantized integer dtype (u8, i8): inside BODY, `Q` is the element type.
#define EDGEOPT_DISPATCH_QUANT8(dtype, node, Q, BODY)     \
  switch (dtype) {                                        \
    EDGEOPT_DTYPE_CASE(kU8, Q, uint8_t, BODY)             \
    EDGEOPT_DTYPE_CASE(kI8, Q, int8_t, BODY)              \
    default:                                              \
      ::edgeopt::rt::ref::unsupported_dtype(node, dtype); \
  }

// The same with the 16-bit types of opset 21.
#define EDGEOPT_DISPATCH_QUANT(dtype, node, Q, BODY)      \
  switch (dtype) {                                        \
    EDGEOPT_DTYPE_CASE(kU8, Q, uint8_t, BODY)             \
    EDGEOPT_DTYPE_CASE(kI8, Q, int8_t, BODY)              \
    EDGEOPT_DTYPE_CASE(kU16, Q, uint16_t, BODY)           \
    EDGEOPT_DTYPE_CASE(kI16, Q, int16_t, BODY)            \
    default:                                              \
      ::edgeopt::rt::ref::unsupported_dtype(node, dtype); \
  }
