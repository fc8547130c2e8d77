// LSTM (ONNX), gates i, o, f, c in that order in W, R and B; peepholes P = [P_i, P_o, P_f]:
//   i = f(X W_i^T + H R_i^T + P_i . C + Wb_i + Rb_i)
//   f = f(X W_f^T + H R_f^T + P_f . C + Wb_f + Rb_f)      (input_forget = 1: f = 1 - i)
//   c~ = g(X W_c^T + H R_c^T + Wb_c + Rb_c)
//   C' = f . C + i . c~
//   o = f(X W_o^T + H R_o^T + P_o . C' + Wb_o + Rb_o)
//   H' = o . h(C')
// f = Sigmoid, g = h = Tanh by default. Outputs Y, Y_h and Y_c (the last cell state). Walk,
// shapes and layouts in rnn_common.h.
#include <algorithm>

#include "rnn_common.h"

namespace edgeopt::rt::ref {
namespace {

class Lstm final : public RecurrentKernel {
 public:
  explicit Lstm(const KernelInit& init)
      : RecurrentKernel(init, {"Sigmoid", "Tanh", "Tanh"}, 4, 2, 3),
        input_forget_(init.node.attr_int("input_forget", 0) != 0) {}
  void infer(InferContext& ctx) override {
    RecurrentKernel::infer(ctx);
    if (ctx.has_input(7) && ctx.shape(7) != Shape{d_.dirs, 3 * d_.hidden})
      fail_input("node ", node_.describe(), ": P has shape ", shape_str(ctx.shape(7)),
                 ", expected ", shape_str({d_.dirs, 3 * d_.hidden}));
  }
  void run(RunContext& ctx) override {
    const int64_t H = d_.hidden;
    float* h = static_cast<float*>(ctx.scratch);
    float* c = h + H;
    float* hc = c + H;   // h(C')
    float* gx = hc + H;  // X W^T + Wb + Rb of every step, seq x 4H: step t's gates, in place
    walk(ctx, h, c, gx, true, [&](int64_t dir, float* gt) {  // gt: i, o, f, c pre-activations
      const float* p = ctx.has_input(7) ? ctx.input(7).data<float>() + dir * 3 * H : nullptr;
      const RnnActivation& f = a_.act[dir * 3];
      float* it = gt;
      float* ot = gt + H;
      float* ft = gt + 2 * H;
      float* ct = gt + 3 * H;
      matvec_t(rt_.block(dir), 4 * H, h, 4 * H, H, gt);
      if (p)
        for (int64_t j = 0; j < H; ++j) {
          it[j] += p[j] * c[j];
          ft[j] += p[2 * H + j] * c[j];
        }
      activate(f, it, H, a_.clip);
      if (input_forget_)
        for (int64_t j = 0; j < H; ++j) ft[j] = 1.f - it[j];
      else
        activate(f, ft, H, a_.clip);
      activate(a_.act[dir * 3 + 1], ct, H, a_.clip);
      for (int64_t j = 0; j < H; ++j) c[j] = ft[j] * c[j] + it[j] * ct[j];
      if (p)
        for (int64_t j = 0; j < H; ++j) ot[j] += p[H + j] * c[j];
      activate(f, ot, H, a_.clip);
      std::copy(c, c + H, hc);
      activate(a_.act[dir * 3 + 2], hc, H, 0.f);
      for (int64_t j = 0; j < H; ++j) h[j] = ot[j] * hc[j];
    });
  }

 private:
  bool input_forget_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "LSTM", 7, INT_MAX, Lstm);

}  // namespace
}  // namespace edgeopt::rt::ref
