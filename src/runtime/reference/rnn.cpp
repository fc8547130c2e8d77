// RNN (ONNX): H_t = f(X_t W^T + H_{t-1} R^T + Wb + Rb), f = Tanh by default; walk, shapes and
// layouts in rnn_common.h. Outputs Y (every H_t) and Y_h (the last H of each row).
#include <algorithm>

#include "rnn_common.h"

namespace edgeopt::rt::ref {
namespace {

class Rnn final : public Kernel {
 public:
  explicit Rnn(const KernelInit& init)
      : node_(init.node), a_(rnn_attrs(init.node, {"Tanh"})), wt_(init, 1), rt_(init, 2) {}
  void infer(InferContext& ctx) override {
    d_ = rnn_infer(ctx, node_, a_, 1, 1);
    ctx.request_scratch(static_cast<size_t>(d_.hidden) * (d_.seq + 1) * sizeof(float));
  }
  bool owns_constant(size_t input) const override {
    return (input == 1 && wt_.owned()) || (input == 2 && rt_.owned());
  }
  void run(RunContext& ctx) override {
    const int64_t H = d_.hidden;
    const float* x = ctx.input(0).data<float>();
    float* y = sequence_output(ctx);
    float* yh = optional_output(ctx, 1);
    float* h = static_cast<float*>(ctx.scratch);
    float* gx = h + H;  // X W^T + Wb + Rb of every step, seq x H
    wt_.update(ctx.input(1));
    rt_.update(ctx.input(2));
    for (int64_t dir = 0; dir < d_.dirs; ++dir) {
      const bool reverse = a_.reverse(dir);
      const float* w = wt_.block(dir);
      const float* r = rt_.block(dir);
      const float* wb = ctx.has_input(3) ? ctx.input(3).data<float>() + dir * 2 * H : nullptr;
      const RnnActivation& f = a_.act[dir];
      for (int64_t b = 0; b < d_.batch; ++b) {
        const int64_t len = row_length(ctx, d_, b, node_);
        initial_state(ctx, 5, d_, dir, b, h);
        input_projection(x, d_, b, len, w, H, wb, wb ? wb + H : nullptr, gx);
        for (int64_t s = 0; s < len; ++s) {
          const int64_t t = reverse ? len - 1 - s : s;
          float* g = gx + t * H;
          matvec_t(r, H, h, H, H, g);
          activate(f, g, H, a_.clip);
          std::copy(g, g + H, h);
          if (y) std::copy(h, h + H, y + d_.y(t, dir, b));
        }
        if (yh) std::copy(h, h + H, yh + d_.h(dir, b));
      }
    }
  }

 private:
  const Node& node_;
  RnnAttrs a_;
  RnnDims d_;
  TransposedWeights wt_, rt_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "RNN", 7, INT_MAX, Rnn);

}  // namespace
}  // namespace edgeopt::rt::ref
