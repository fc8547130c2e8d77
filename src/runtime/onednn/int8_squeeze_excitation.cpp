// The int8 rewrite of the oneDNN provider (int8_rewrite.cpp), squeeze-excitation: the channel Mul
// and the GlobalAveragePool on 8-bit data.
#include "int8_fuser.h"
#include "ir/graph_util.h"

namespace edgeopt::rt::onednn::int8 {

// A QChannelMul / QGlobalAveragePool node (qchannel.cpp) reading x with parameters xq; y:
// the output's parameters, or nullptr for an f32 output.
Node Int8Fuser::qchannel_node(const char* op, const std::string& name,
                              std::vector<std::string> inputs, const std::string& output,
                              const QP& xq, const QP* y) {
  Node f;
  f.name = name;
  f.op_type = op;
  f.domain = kDomain;
  f.inputs = std::move(inputs);
  f.outputs = {output};
  f.set_attr_float("x_scale", xq.scale);
  f.set_attr_int("x_zero_point", xq.zp);
  f.set_attr_int("y_dtype", static_cast<int64_t>(y ? y->dt : DType::kF32));
  if (y) {
    f.set_attr_float("y_scale", y->scale);
    f.set_attr_int("y_zero_point", y->zp);
  }
  return f;
}

// Q(Mul(DQ(q), s)) with q a u8/s8 [N, C, H, W] and s an f32 [N or 1, C, 1, 1] (the
// squeeze-excitation scale of EfficientNet and MobileNetV3, computed in float from the tiny
// pooled tensor): QChannelMul(q, s) → q', one pass over 8-bit data where the QDQ graph makes
// three over f32 (DequantizeLinear, Mul, QuantizeLinear). q' = saturate(round_half_even(
// (q − zx)·(sx·s[n, c] / sy)) + zy) (qchannel.cpp); the reference rounds sx·(q − zx)·s / sy
// in three steps, so a result can differ by one step near a rounding tie. The DQ stays while
// something else reads it (the squeeze's pool, until try_global_average_pool takes it too).
void Int8Fuser::try_channel_mul(int i) {
  const Node& n = g_.nodes[i];
  if (n.inputs.size() != 2 || n.outputs.size() != 1 || n.inputs[0] == n.inputs[1]) return;
  QP y;
  const int q = sole_q(n.outputs[0], y);
  if (q < 0 || !is_8bit(y.dt)) return;
  for (int k = 0; k < 2; ++k) {
    std::string x;
    QP xq;
    if (!dq_of(n.inputs[k], x, xq) || !is_8bit(xq.dt)) continue;
    const std::string& s = n.inputs[1 - k];
    const std::vector<Dim> dx = known_dims(g_, n.inputs[k]), ds = known_dims(g_, s);
    if (dx.size() != 4 || ds.size() != 4 || dtype_of_value(g_, s) != DType::kF32) continue;
    // C, H, W static, the batch the same or 1 in s; x larger than one pixel (a SiLU on a
    // [N, C, 1, 1] map, Mul(DQ(q), Sigmoid(DQ(q))), is left to fuse_lut).
    bool ok = ds[0] == dx[0] || (ds[0].is_static() && ds[0].value == 1);
    for (int d = 1; d < 4; ++d) ok &= dx[d].is_static() && ds[d].is_static();
    if (!ok || ds[1].value != dx[1].value || ds[2].value != 1 || ds[3].value != 1 ||
        dx[2].value * dx[3].value == 1)
      continue;
    g_.nodes[i] = qchannel_node("QChannelMul", n.name, {x, s}, g_.nodes[q].outputs[0], xq, &y);
    g_.invalidate_index();  // node i replaced in place
    retire(q);
    return;
  }
}

// GlobalAveragePool(DQ(q)), q a u8/s8 [N, C, H, W]: QGlobalAveragePool(q) sums the integers
// (exact in int32) and scales once, sx·(Σq − H·W·zx) / (H·W), where the reference sums H·W
// floats; with the QuantizeLinear that alone reads it, the output is quantized in the same
// node. The DQ stays while something else reads it.
void Int8Fuser::try_global_average_pool(int i) {
  const Node& n = g_.nodes[i];
  if (n.inputs.size() != 1 || n.outputs.size() != 1) return;
  std::string x;
  QP xq;
  if (!dq_of(n.inputs[0], x, xq) || !is_8bit(xq.dt)) return;
  const std::vector<Dim> dx = known_dims(g_, n.inputs[0]);
  if (dx.size() != 4 || !dx[2].is_static() || !dx[3].is_static()) return;
  // The kernel's int32 sums: H·W·255 must fit with room to spare.
  if (dx[2].value * dx[3].value > (int64_t{1} << 22)) return;
  QP y;
  const int q = sole_q(n.outputs[0], y);
  const bool quantized = q >= 0 && is_8bit(y.dt);
  g_.nodes[i] = qchannel_node("QGlobalAveragePool", n.name, {x},
                              quantized ? g_.nodes[q].outputs[0] : n.outputs[0], xq,
                              quantized ? &y : nullptr);
  g_.invalidate_index();  // node i replaced in place
  if (quantized) retire(q);
}

}  // namespace edgeopt::rt::onednn::int8
