#include "quant.h"

#include <cmath>

namespace edgeopt::rt::xnnpack {
namespace {

bool is_8bit(DType t) { return t == DType::kU8 || t == DType::kI8; }

int32_t int_at(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::kU8:
      return t.data<uint8_t>()[i];
    case DType::kI8:
      return t.data<int8_t>()[i];
    case DType::kI32:
      return t.data<int32_t>()[i];
    default:
      return 0;
  }
}

}  // namespace

std::optional<ActQuant> act_quant(const Node& n, const ConstantLookup& constant) {
  if (n.inputs.size() < 2 || n.inputs[1].empty()) return std::nullopt;
  const Tensor* s = constant(n.inputs[1]);
  if (!s || s->dtype() != DType::kF32 || s->numel() != 1) return std::nullopt;
  ActQuant q;
  q.scale = s->data<float>()[0];
  if (!(q.scale > 0) || !std::isfinite(q.scale)) return std::nullopt;
  if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
    const Tensor* z = constant(n.inputs[2]);
    if (!z || !is_8bit(z->dtype()) || z->numel() != 1) return std::nullopt;
    q.dtype = z->dtype();
    q.zero_point = int_at(*z, 0);
  }
  return q;
}

float StaticQuant::scale_at(int64_t i) const { return scale->data<float>()[per_axis() ? i : 0]; }

int32_t StaticQuant::zero_point_at(int64_t i) const {
  if (!zero_point) return 0;
  return int_at(*zero_point, zero_point->numel() > 1 ? i : 0);
}

bool StaticQuant::zero_points_are_zero() const {
  if (!zero_point) return true;
  for (int64_t i = 0; i < zero_point->numel(); ++i)
    if (int_at(*zero_point, i) != 0) return false;
  return true;
}

std::optional<StaticQuant> static_quant(const Node& n, const ConstantLookup& constant) {
  if (n.inputs.size() < 2 || n.inputs[0].empty() || n.inputs[1].empty()) return std::nullopt;
  StaticQuant q;
  q.data = constant(n.inputs[0]);
  q.scale = constant(n.inputs[1]);
  if (!q.data || !q.scale || q.scale->dtype() != DType::kF32) return std::nullopt;
  const DType dt = q.data->dtype();
  if (!is_8bit(dt) && dt != DType::kI32) return std::nullopt;
  if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
    q.zero_point = constant(n.inputs[2]);
    if (!q.zero_point || q.zero_point->dtype() != dt || q.zero_point->numel() != q.scale->numel())
      return std::nullopt;
  }
  for (int64_t i = 0; i < q.scale->numel(); ++i)
    if (!std::isfinite(q.scale->data<float>()[i])) return std::nullopt;
  if (q.scale->numel() == 1) return q;
  // Per axis (opset 13): a 1-D scale as long as the data along `axis` (default 1).
  const int rank = q.data->rank();
  int64_t axis = n.attr_int("axis", 1);
  if (axis < 0) axis += rank;
  if (q.scale->rank() != 1 || axis < 0 || axis >= rank || q.data->dim(axis) != q.scale->numel())
    return std::nullopt;
  q.axis = static_cast<int>(axis);
  return q;
}

Tensor dequantize(const StaticQuant& q) {
  const Tensor& x = *q.data;
  Tensor y(DType::kF32, x.shape());
  float* out = y.data<float>();
  int64_t inner = 1;
  for (int d = q.axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  const int64_t channels = q.per_axis() ? x.dim(q.axis) : 1;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = q.per_axis() ? (i / inner) % channels : 0;
    out[i] = static_cast<float>(int_at(x, i) - q.zero_point_at(c)) * q.scale_at(c);
  }
  return y;
}

}  // namespace edgeopt::rt::xnnpack
