// Constant: a tensor from exactly one attribute (value, value_float(s), value_int(s),
// value_string(s)); sparse_value is not supported. Given while planning.
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

Tensor constant_value(const Node& node) {
  const Attribute* a = nullptr;
  for (const Attribute& at : node.attributes) {
    if (a) fail_input("node ", node.describe(), ": Constant needs exactly one attribute");
    a = &at;
  }
  if (!a) fail_input("node ", node.describe(), ": Constant has no value attribute");
  const int64_t n = static_cast<int64_t>(a->floats.size() + a->ints.size() + a->strings.size());
  if (a->name == "value") return a->t.tensor;
  if (a->name == "value_float") return Tensor::scalar<float>(a->f);
  if (a->name == "value_floats") return Tensor::from_vector<float>(a->floats, {n});
  if (a->name == "value_int") return Tensor::scalar<int64_t>(a->i);
  if (a->name == "value_ints") return Tensor::from_vector<int64_t>(a->ints, {n});
  if (a->name == "value_string" || a->name == "value_strings") {
    const bool scalar = a->name == "value_string";
    Tensor t(DType::kString, scalar ? Shape{} : Shape{n});
    if (scalar)
      t.strings()[0] = a->s;
    else
      t.strings() = a->strings;
    return t;
  }
  if (a->name == "sparse_value")
    fail_unsupported("node ", node.describe(), ": sparse Constant values are not supported");
  fail_input("node ", node.describe(), ": unknown Constant attribute '", a->name, "'");
}

class Constant final : public Kernel {
 public:
  explicit Constant(const KernelInit& init) : value_(constant_value(init.node)) {}
  void infer(InferContext& ctx) override { ctx.set_output_value(0, value_); }
  void run(RunContext& ctx) override { copy_all(value_, ctx.output(0)); }

 private:
  Tensor value_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Constant", 1, INT_MAX, Constant);

}  // namespace
}  // namespace edgeopt::rt::ref
