// RNN (ONNX): H_t = f(X_t W^T + H_{t-1} R^T + Wb + Rb), f = Tanh by default; walk, shapes and
// layouts in rnn_common.h. Outputs Y (every H_t) and Y_h (the last H of each row).
#include <algorithm>

#include "rnn_common.h"

namespace edgeopt::rt::ref {
namespace {

class Rnn final : public RecurrentKernel {
 public:
  explicit Rnn(const KernelInit& init) : RecurrentKernel(init, {"Tanh"}, 1, 1, 1) {}
  void run(RunContext& ctx) override {
    const int64_t H = d_.hidden;
    const float* x = ctx.input(0).data<float>();
    float* y = sequence_output(ctx);
    float* yh = optional_output(ctx, 1);
    float* h = static_cast<float*>(ctx.scratch);
    float* gx = h + H;  // X W^T + Wb + Rb of every step, seq x H
    update_weights(ctx);
    for (int64_t dir = 0; dir < d_.dirs; ++dir) {
      const bool reverse = a_.reverse(dir);
      const float* w = wt_.block(dir);
      const float* r = rt_.block(dir);
      const float* wb = biases(ctx, dir);
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
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "RNN", 7, INT_MAX, Rnn);

}  // namespace
}  // namespace edgeopt::rt::ref
