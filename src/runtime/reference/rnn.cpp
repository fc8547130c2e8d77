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
    float* h = static_cast<float*>(ctx.scratch);
    float* gx = h + H;  // X W^T + Wb + Rb of every step, seq x H
    walk(ctx, h, nullptr, gx, true, [&](int64_t dir, float* g) {
      matvec_t(rt_.block(dir), H, h, H, H, g);
      activate(a_.act[dir], g, H, a_.clip);
      std::copy(g, g + H, h);
    });
  }
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "RNN", 7, INT_MAX, Rnn);

}  // namespace
}  // namespace edgeopt::rt::ref
