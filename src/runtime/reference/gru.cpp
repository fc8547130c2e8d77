// GRU (ONNX), gates z, r, h in that order in W, R and B:
//   z = f(X W_z^T + H R_z^T + Wb_z + Rb_z)          r = f(X W_r^T + H R_r^T + Wb_r + Rb_r)
//   h~ = g(X W_h^T + (r . H) R_h^T + Rb_h + Wb_h)             (linear_before_reset = 0)
//   h~ = g(X W_h^T + r . (H R_h^T + Rb_h) + Wb_h)             (linear_before_reset = 1)
//   H' = (1 - z) . h~ + z . H
// f = Sigmoid, g = Tanh by default. Walk, shapes and layouts in rnn_common.h.
#include <algorithm>

#include "rnn_common.h"

namespace edgeopt::rt::ref {
namespace {

class Gru final : public RecurrentKernel {
 public:
  explicit Gru(const KernelInit& init)
      : RecurrentKernel(init, {"Sigmoid", "Tanh"}, 3, 1, 4),
        linear_before_reset_(init.node.attr_int("linear_before_reset", 0) != 0) {}
  void run(RunContext& ctx) override {
    const int64_t H = d_.hidden;
    const float* x = ctx.input(0).data<float>();
    float* y = sequence_output(ctx);
    float* yh = optional_output(ctx, 1);
    float* gh = static_cast<float*>(ctx.scratch);  // z, r: H R^T + Rb, then the gates; 2H
    float* h = gh + 2 * H;
    float* rh = h + H;   // r . H, or H R_h^T + Rb_h with linear_before_reset
    float* gx = rh + H;  // X W^T + Wb of every step, seq x 3H; h~ of step t becomes its third H
    update_weights(ctx);
    for (int64_t dir = 0; dir < d_.dirs; ++dir) {
      const bool reverse = a_.reverse(dir);
      const float* w = wt_.block(dir);
      const float* r = rt_.block(dir);
      const float* wb = biases(ctx, dir);
      const float* rb = wb ? wb + 3 * H : nullptr;
      const RnnActivation& f = a_.act[dir * 2];
      const RnnActivation& g = a_.act[dir * 2 + 1];
      for (int64_t b = 0; b < d_.batch; ++b) {
        const int64_t len = row_length(ctx, d_, b, node_);
        initial_state(ctx, 5, d_, dir, b, h);
        input_projection(x, d_, b, len, w, 3 * H, wb, nullptr, gx);
        for (int64_t s = 0; s < len; ++s) {
          const int64_t t = reverse ? len - 1 - s : s;
          const float* gxt = gx + t * 3 * H;
          float* hc = gx + t * 3 * H + 2 * H;  // h~, in place
          for (int64_t j = 0; j < 2 * H; ++j) gh[j] = rb ? rb[j] : 0.f;
          matvec_t(r, 3 * H, h, 2 * H, H, gh);
          for (int64_t j = 0; j < 2 * H; ++j) gh[j] += gxt[j];
          activate(f, gh, 2 * H, a_.clip);
          const float* z = gh;
          const float* rr = gh + H;
          if (linear_before_reset_) {
            for (int64_t j = 0; j < H; ++j) rh[j] = rb ? rb[2 * H + j] : 0.f;
            matvec_t(r + 2 * H, 3 * H, h, H, H, rh);
            for (int64_t j = 0; j < H; ++j) hc[j] += rr[j] * rh[j];
          } else {
            for (int64_t j = 0; j < H; ++j) {
              rh[j] = rr[j] * h[j];
              if (rb) hc[j] += rb[2 * H + j];
            }
            matvec_t(r + 2 * H, 3 * H, rh, H, H, hc);
          }
          activate(g, hc, H, a_.clip);
          for (int64_t j = 0; j < H; ++j) h[j] = (1.f - z[j]) * hc[j] + z[j] * h[j];
          if (y) std::copy(h, h + H, y + d_.y(t, dir, b));
        }
        if (yh) std::copy(h, h + H, yh + d_.h(dir, b));
      }
    }
  }

 private:
  bool linear_before_reset_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "GRU", 7, INT_MAX, Gru);

}  // namespace
}  // namespace edgeopt::rt::ref
