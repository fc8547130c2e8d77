// The int8 rewrite of the oneDNN provider (int8_rewrite.cpp), seeds: Conv / Gemm / MatMul over
// DQ(x), DQ(w) and QLinearConv / QLinearMatMul.
#include "int8_fuser.h"
#include "ir/graph_util.h"

namespace edgeopt::rt::onednn::int8 {

// Weights of a DQ(s8 const) with zero zero points; axis: the output-channel axis.
bool Int8Fuser::dq_weights(const std::string& v, int rank, int64_t axis, std::string& w,
                           std::vector<float>& ws) {
  const int d = g_.producer(v);
  if (d < 0) return false;
  const Node& n = g_.nodes[d];
  if (!is_default(n) || n.op_type != "DequantizeLinear" || n.attr_int("block_size", 0))
    return false;
  const Tensor* t = constant_of(g_, n.inputs[0]);
  if (!t || t->dtype() != DType::kI8 || t->rank() != rank || !zero_zp(g_, n.input(2))) return false;
  if (!scales(g_, n.input(1), t->dim(axis), ws)) return false;
  if (ws.size() > 1) {
    int64_t a = n.attr_int("axis", 1);
    if (a < 0) a += rank;
    if (a != axis) return false;
  }
  w = n.inputs[0];
  return true;
}

// Bias in real units: DQ(i32 const) with zero zero points, or an f32 constant; [count].
bool Int8Fuser::real_bias(const std::string& v, int64_t count, std::vector<float>& b) {
  if (const Tensor* t = constant_of(g_, v)) {
    if (t->dtype() != DType::kF32 || t->numel() != count) return false;
    b.assign(t->data<float>(), t->data<float>() + count);
    return true;
  }
  const int d = g_.producer(v);
  if (d < 0) return false;
  const Node& n = g_.nodes[d];
  if (!is_default(n) || n.op_type != "DequantizeLinear") return false;
  const Tensor* t = constant_of(g_, n.inputs[0]);
  std::vector<float> s;
  if (!t || t->dtype() != DType::kI32 || t->numel() != count || !zero_zp(g_, n.input(2)) ||
      !scales(g_, n.input(1), count, s))
    return false;
  b.resize(count);
  // As DequantizeLinear computes it: float(b - 0) * scale.
  for (int64_t m = 0; m < count; ++m) b[m] = static_cast<float>(t->data<int32_t>()[m]) * at(s, m);
  return true;
}

bool Int8Fuser::conv_seed(const Node& n, Seed& s) {
  if (n.outputs.size() != 1 || n.inputs.size() < 2) return false;
  // 2-D (channels-last in the graph) or, QDQ only, 3-D (NCDHW in the graph; QConv relays it
  // out to channels-last itself, qconv.cpp).
  const int rank = rank_of(g_, n.inputs[0]);
  if (rank != 4 && (rank != 5 || n.op_type != "Conv")) return false;
  if (n.op_type == "QLinearConv") return qlinear_seed(n, true, s);
  std::vector<float> ws;
  if (!dq_of(n.inputs[0], s.x, s.xq) || !dq_weights(n.inputs[1], rank, 0, s.w, ws)) return false;
  const int64_t m = constant_of(g_, s.w)->dim(0);
  std::vector<float> b;
  if (!n.input(2).empty() && !real_bias(n.input(2), m, b)) return false;
  finish_qdq_seed(s, ws, b, m);
  s.out = n.outputs[0];
  return true;
}

// Gemm (transA 0, alpha 1, beta 1) or MatMul with B [K, N]; weights become [K, N].
bool Int8Fuser::gemm_seed(const Node& n, Seed& s) {
  if (n.outputs.size() != 1 || n.inputs.size() < 2) return false;
  if (n.op_type == "QLinearMatMul") return qlinear_seed(n, false, s);
  const bool gemm = n.op_type == "Gemm";
  if (gemm && (n.attr_int("transA", 0) || n.attr_float("alpha", 1.f) != 1.f ||
               n.attr_float("beta", 1.f) != 1.f))
    return false;
  if (gemm && rank_of(g_, n.inputs[0]) != 2) return false;
  if (!gemm && (n.inputs.size() != 2 || rank_of(g_, n.inputs[0]) < 1)) return false;
  const bool trans_b = gemm && n.attr_int("transB", 0);
  std::vector<float> ws;
  std::string w;
  if (!dq_of(n.inputs[0], s.x, s.xq) || !dq_weights(n.inputs[1], 2, trans_b ? 0 : 1, w, ws))
    return false;
  const Tensor& wt = *constant_of(g_, w);
  const int64_t nn = trans_b ? wt.dim(0) : wt.dim(1);
  std::vector<float> b;
  if (gemm && !n.input(2).empty() && !real_bias(n.input(2), nn, b)) return false;
  s.w = trans_b ? transposed(w, wt) : w;
  finish_qdq_seed(s, ws, b, nn);
  s.out = n.outputs[0];
  return true;
}

std::string Int8Fuser::transposed(const std::string& name, const Tensor& t) {
  const int64_t r = t.dim(0), c = t.dim(1);
  Tensor out(DType::kI8, {c, r});
  const int8_t* a = t.data<int8_t>();
  int8_t* b = out.data<int8_t>();
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) b[j * r + i] = a[i * c + j];
  return add_constant(m_, name + "_kn", out);
}

void Int8Fuser::finish_qdq_seed(Seed& s, const std::vector<float>& ws, const std::vector<float>& b,
                                int64_t m) {
  s.acc_scale.resize(ws.size());
  for (size_t k = 0; k < ws.size(); ++k) s.acc_scale[k] = s.xq.scale * ws[k];
  if (!b.empty()) {
    s.bias_acc.resize(m);
    for (int64_t k = 0; k < m; ++k) s.bias_acc[k] = b[k] / at(s.acc_scale, k);
  }
}

// QLinearConv (x, xs, xz, w, ws, wz, ys, yz, B) / QLinearMatMul (a, as, az, b, bs, bz, ys, yz).
bool Int8Fuser::qlinear_seed(const Node& n, bool conv, Seed& s) {
  if (n.inputs.size() < 8) return false;
  const Tensor* w = constant_of(g_, n.inputs[3]);
  if (!w || w->dtype() != DType::kI8 || w->rank() != (conv ? 4 : 2) || !zero_zp(g_, n.input(5)))
    return false;
  const int64_t m = conv ? w->dim(0) : w->dim(1);
  std::vector<float> ws;
  if (!scales(g_, n.input(4), m, ws)) return false;
  if (!scalar_scale(g_, n.input(1), s.xq.scale) ||
      !scalar_zp(g_, n.input(2), dtype_of_value(g_, n.inputs[0]), s.xq.zp, s.xq.dt) ||
      !scalar_scale(g_, n.input(6), s.outq.scale) ||
      !scalar_zp(g_, n.input(7), DType::kU8, s.outq.zp, s.outq.dt))
    return false;
  if (conv && n.inputs.size() > 8 && !n.input(8).empty()) {
    const Tensor* b = constant_of(g_, n.input(8));
    if (!b || b->dtype() != DType::kI32 || b->numel() != m) return false;
    s.bias_acc.resize(m);
    for (int64_t k = 0; k < m; ++k) s.bias_acc[k] = static_cast<float>(b->data<int32_t>()[k]);
  }
  s.x = n.inputs[0];
  s.w = n.inputs[3];
  // The reference's multiplier x_scale * w_scale / y_scale, in that order.
  s.acc_scale.resize(ws.size());
  for (size_t k = 0; k < ws.size(); ++k) s.acc_scale[k] = s.xq.scale * ws[k];
  s.out = n.outputs[0];
  s.quantized_out = true;
  return true;
}

}  // namespace edgeopt::rt::onednn::int8
