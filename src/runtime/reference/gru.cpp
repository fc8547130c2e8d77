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
    float* gh = static_cast<float*>(ctx.scratch);  // z, r: H R^T + Rb, then the gates; 2H
    float* h = gh + 2 * H;
    float* rh = h + H;   // r . H, or H R_h^T + Rb_h with linear_before_reset
    float* gx = rh + H;  // X W^T + Wb of every step, seq x 3H; h~ of step t becomes its third H
    walk(ctx, h, nullptr, gx, false, [&](int64_t dir, float* gxt) {
      const float* r = rt_.block(dir);
      const float* wb = biases(ctx, dir);
      const float* rb = wb ? wb + 3 * H : nullptr;
      float* hc = gxt + 2 * H;  // h~, in place
      for (int64_t j = 0; j < 2 * H; ++j) gh[j] = rb ? rb[j] : 0.f;
      matvec_t(r, 3 * H, h, 2 * H, H, gh);
      for (int64_t j = 0; j < 2 * H; ++j) gh[j] += gxt[j];
      activate(a_.act[dir * 2], gh, 2 * H, a_.clip);
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
      activate(a_.act[dir * 2 + 1], hc, H, a_.clip);
      for (int64_t j = 0; j < H; ++j) h[j] = (1.f - z[j]) * hc[j] + z[j] * h[j];
    });
  }

 private:
  bool linear_before_reset_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "GRU", 7, INT_MAX, Gru);

}  // namespace
}  // namespace edgeopt::rt::ref
