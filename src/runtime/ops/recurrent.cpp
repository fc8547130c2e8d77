#include "recurrent.h"

namespace edgeopt::rt::ops {

namespace {

// How many of alpha/beta an activation takes, and their defaults (ONNX Runtime's).
struct ActSpec {
  const char* name;
  int params;
  float alpha, beta;
};
// In RnnActivation::Kind's order.
constexpr ActSpec kActs[] = {
    {"Sigmoid", 0, 0, 0},       {"Tanh", 0, 0, 0},
    {"Relu", 0, 0, 0},          {"Affine", 2, 1, 0},
    {"LeakyRelu", 1, 0.01f, 0}, {"ThresholdedRelu", 1, 1, 0},
    {"ScaledTanh", 2, 1, 1},    {"HardSigmoid", 2, 0.2f, 0.5f},
    {"Elu", 1, 1, 0},           {"Softsign", 0, 0, 0},
    {"Softplus", 0, 0, 0},
};

}  // namespace

bool RnnAttrs::default_activations(const std::vector<std::string>& defaults) const {
  for (size_t i = 0; i < act.size(); ++i) {
    const std::string& want = defaults[i % defaults.size()];
    const ActSpec& have = kActs[act[i].kind];
    if (want != have.name || act[i].alpha != have.alpha || act[i].beta != have.beta) return false;
  }
  return true;
}

RnnAttrs rnn_attrs(const Node& node, const std::vector<std::string>& defaults) {
  RnnAttrs a;
  a.hidden = node.attr_int("hidden_size", 0);
  const std::string dir = node.attr_string("direction", "forward");
  if (dir == "bidirectional")
    a.dirs = 2;
  else if (dir == "reverse")
    a.reverse_only = true;
  else if (dir != "forward")
    fail_input("node ", node.describe(), ": unknown direction '", dir, "'");
  a.layout = node.attr_int("layout", 0);
  if (a.layout != 0 && a.layout != 1)
    fail_input("node ", node.describe(), ": layout must be 0 or 1, got ", a.layout);
  a.clip = node.attr_float("clip", 0.f);
  std::vector<std::string> names;
  if (const Attribute* at = node.attr("activations")) names = at->strings;
  if (names.empty())
    for (int64_t d = 0; d < a.dirs; ++d)
      names.insert(names.end(), defaults.begin(), defaults.end());
  if (names.size() != defaults.size() * a.dirs)
    fail_input("node ", node.describe(), ": expected ", defaults.size() * a.dirs,
               " activations, got ", names.size());
  const std::vector<float> alphas = node.attr_floats("activation_alpha");
  const std::vector<float> betas = node.attr_floats("activation_beta");
  size_t ia = 0, ib = 0;
  for (const std::string& n : names) {
    const ActSpec* spec = nullptr;
    for (const ActSpec& s : kActs)
      if (n == s.name) spec = &s;
    if (!spec)
      fail_unsupported("node ", node.describe(), ": activation '", n, "' is not supported");
    RnnActivation act{static_cast<RnnActivation::Kind>(spec - kActs), spec->alpha, spec->beta};
    if (spec->params >= 1 && ia < alphas.size()) act.alpha = alphas[ia++];
    if (spec->params >= 2 && ib < betas.size()) act.beta = betas[ib++];
    a.act.push_back(act);
  }
  return a;
}

RnnDims rnn_infer(InferContext& ctx, const Node& node, const RnnAttrs& a, int64_t gates,
                  int states) {
  for (size_t i = 0; i < 3; ++i)
    if (!ctx.has_input(i)) fail_input("node ", node.describe(), ": input ", i, " is required");
  if (ctx.dtype(0) != DType::kF32)
    fail_unsupported("node ", node.describe(), ": only float32 is supported, got ",
                     dtype_name(ctx.dtype(0)));
  const Shape& x = ctx.shape(0);
  const Shape& w = ctx.shape(1);
  const Shape& r = ctx.shape(2);
  if (x.size() != 3 || w.size() != 3 || r.size() != 3)
    fail_input("node ", node.describe(), ": X, W and R must be 3-D, got ", shape_str(x), ", ",
               shape_str(w), ", ", shape_str(r));
  RnnDims d;
  d.layout = a.layout;
  d.seq = a.layout ? x[1] : x[0];
  d.batch = a.layout ? x[0] : x[1];
  d.input = x[2];
  d.dirs = a.dirs;
  d.hidden = a.hidden > 0 ? a.hidden : r[2];
  auto expect = [&](size_t i, const Shape& want, const char* what) {
    if (ctx.has_input(i) && ctx.shape(i) != want)
      fail_input("node ", node.describe(), ": ", what, " has shape ", shape_str(ctx.shape(i)),
                 ", expected ", shape_str(want));
  };
  expect(1, {d.dirs, gates * d.hidden, d.input}, "W");
  expect(2, {d.dirs, gates * d.hidden, d.hidden}, "R");
  expect(3, {d.dirs, 2 * gates * d.hidden}, "B");
  expect(4, {d.batch}, "sequence_lens");
  for (int s = 0; s < states; ++s) expect(5 + s, d.h_shape(), "an initial state");
  ctx.set_output(0, DType::kF32, d.y_shape());
  for (int s = 0; s < states; ++s) ctx.set_output(1 + s, DType::kF32, d.h_shape());
  return d;
}

}  // namespace edgeopt::rt::ops
