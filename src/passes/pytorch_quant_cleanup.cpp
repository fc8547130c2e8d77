// pytorch_quant_cleanup: tidies what torch.onnx.export leaves in (quantized) models.
//   - Weights held in Constant nodes (quantized weights, scales, zero points feeding
//     DequantizeLinear) become initializers, so that later passes and providers see them as
//     constants.
//   - Cast(Cast(x: T -> U) -> T) where U holds every value of T exactly (f32 -> f64 -> f32,
//     i8 -> i32 -> i8, ...) is x. A lossy round trip (f32 -> f16 -> f32) rounds and is kept.
#include "pass_util.h"

namespace edgeopt::passes {
namespace {

// True when every value of type `from` converts to `to` and back unchanged.
bool lossless(DType from, DType to) {
  if (from == to) return true;
  auto any_of = [&](std::initializer_list<DType> l) {
    for (DType d : l)
      if (d == to) return true;
    return false;
  };
  using D = DType;
  switch (from) {
    case D::kBool:  // 0/1 come back as false/true from every numeric type
      return any_of({D::kF16, D::kBF16, D::kF32, D::kF64, D::kI8, D::kU8, D::kI16, D::kU16, D::kI32,
                     D::kU32, D::kI64, D::kU64});
    case D::kF16:
    case D::kBF16:
      return any_of({D::kF32, D::kF64});
    case D::kF32:
      return to == D::kF64;
    case D::kI8:
      return any_of({D::kI16, D::kI32, D::kI64, D::kF16, D::kF32, D::kF64});
    case D::kU8:
      return any_of(
          {D::kI16, D::kU16, D::kI32, D::kU32, D::kI64, D::kU64, D::kF16, D::kF32, D::kF64});
    case D::kI16:
      return any_of({D::kI32, D::kI64, D::kF32, D::kF64});
    case D::kU16:
      return any_of({D::kI32, D::kU32, D::kI64, D::kU64, D::kF32, D::kF64});
    case D::kI32:
      return any_of({D::kI64, D::kF64});
    case D::kU32:
      return any_of({D::kI64, D::kU64, D::kF64});
    default:
      return false;
  }
}

class PytorchQuantCleanup final : public Pass {
 public:
  bool run(Model& model) override {
    bool changed = constants_to_initializers(model);
    Graph& g = model.graph;
    std::unordered_set<std::string> gone;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      if (round_trip(g, n) &&
          bypass_node(g, static_cast<int>(i), g.nodes[g.producer(n.inputs[0])].inputs[0],
                      n.outputs[0], gone))
        changed = true;
    }
    g.compact();
    forget_values(g, gone);
    return changed;
  }

 private:
  static bool is_cast(const Node& n) {
    return n.op_type == "Cast" && n.is_default_domain() && !n.input(0).empty() &&
           n.outputs.size() == 1 && n.has_attr("to");
  }

  // n = Cast(Cast(x, to=U), to=T) with x of type T and a lossless T -> U.
  static bool round_trip(const Graph& g, const Node& n) {
    if (!is_cast(n)) return false;
    const int p = g.producer(n.inputs[0]);
    if (p < 0 || !is_cast(g.nodes[p])) return false;
    const std::string& x = g.nodes[p].inputs[0];
    const DType t = dtype_of_value(g, x);
    const auto u = static_cast<DType>(g.nodes[p].attr_int("to", 0));
    return t != DType::kUndefined && static_cast<int64_t>(t) == n.attr_int("to", 0) &&
           lossless(t, u);
  }
};

EDGEOPT_REGISTER_PASS(PytorchQuantCleanup, "pytorch_quant_cleanup", 10, 1, {"Constant", "Cast"});

}  // namespace
}  // namespace edgeopt::passes
