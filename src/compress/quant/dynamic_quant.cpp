// Dynamic quantization (as ONNX Runtime's quantize_dynamic): weights of MatMul/Gemm stored as
// int8, activations quantized at run time by DynamicQuantizeLinear (u8, per tensor):
//   a_q, S_a, Z_a = DynamicQuantizeLinear(A)
//   Y = float(MatMulInteger(a_q, W_q, Z_a, Z_w)) · (S_a · S_w) [+ bias]
#include "edgeopt/error.h"
#include "quant_internal.h"

namespace edgeopt::quant {

int64_t quantize_dynamic(Model& m, const std::set<std::string>& excluded, bool per_channel,
                         int qmax) {
  if (m.opset() < 11)
    fail_unsupported("dynamic quantization needs opset >= 11 (model has ", m.opset(), ")");
  Graph& g = m.graph;
  int64_t done = 0;
  std::vector<Node> out_nodes;
  auto add_node = [&](const std::string& name, const std::string& op, std::vector<std::string> in,
                      std::vector<std::string> out) -> Node& {
    Node n;
    n.name = name;
    n.op_type = op;
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    out_nodes.push_back(std::move(n));
    return out_nodes.back();
  };
  std::vector<Node> nodes = g.nodes;
  for (const Node& n : nodes) {
    const bool eligible = (n.op_type == "MatMul" || n.op_type == "Gemm") &&
                          !excluded.count(n.name) && is_weighted_op(n, g);
    if (!eligible) {
      out_nodes.push_back(n);
      continue;
    }
    Tensor w = g.find_initializer(n.inputs[1])->tensor;
    if (n.op_type == "Gemm" && n.attr_int("transB", 0)) {
      // MatMulInteger takes B as K × N: transpose the N × K Gemm weight.
      const int64_t rows = w.dim(0), cols = w.dim(1);
      Tensor t(DType::kF32, {cols, rows});
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
          t.data<float>()[c * rows + r] = w.data<float>()[r * cols + c];
      w = t;
    }
    const QuantizedWeight qw = quantize_weight(w, per_channel ? 1 : -1, qmax, n.inputs[1]);
    const std::string p = n.name.empty() ? g.unique_name("dyn") : n.name;
    auto fresh = [&](const std::string& s) { return g.unique_name(p + "_" + s); };
    const std::string wq = fresh("W_quantized"), ws = fresh("W_scale"), wz = fresh("W_zero_point");
    g.add_initializer(wq, qw.q);
    g.add_initializer(ws, qw.scale);
    g.add_initializer(wz, qw.zero);
    const std::string aq = fresh("A_quantized"), as = fresh("A_scale"), az = fresh("A_zero_point");
    const std::string acc = fresh("acc"), accf = fresh("acc_float"), sc = fresh("scale");
    const std::string bias = n.op_type == "Gemm" ? n.input(2) : "";
    const std::string y = bias.empty() ? n.outputs[0] : fresh("scaled");
    add_node(p + "_DynamicQuantizeLinear", "DynamicQuantizeLinear", {n.inputs[0]}, {aq, as, az});
    add_node(p + "_MatMulInteger", "MatMulInteger", {aq, wq, az, wz}, {acc});
    add_node(p + "_Cast", "Cast", {acc}, {accf}).set_attr_int("to", static_cast<int>(DType::kF32));
    add_node(p + "_scale_Mul", "Mul", {as, ws}, {sc});
    add_node(p + "_output_Mul", "Mul", {accf, sc}, {y});
    if (!bias.empty()) add_node(p + "_bias_Add", "Add", {y, bias}, {n.outputs[0]});
    ++done;
  }
  g.nodes = std::move(out_nodes);
  remove_unused_initializers(g);
  g.topological_sort();
  return done;
}

}  // namespace edgeopt::quant
