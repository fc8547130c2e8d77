// Shared pieces of the reference recurrent kernels (RNN, GRU, LSTM): the activation functions
// and the walk over directions, batch rows and time steps; attributes, shapes and layouts in
// runtime/ops/recurrent.h. Steps at or past a row's sequence length are not computed and leave
// zeros in Y; the reverse direction walks a row from its last valid step down to 0.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common.h"
#include "runtime/ops/recurrent.h"

namespace edgeopt::rt::ref {

using ops::rnn_attrs;
using ops::rnn_infer;
using ops::RnnActivation;
using ops::RnnAttrs;
using ops::RnnDims;

// f(x) for one value, and v[j] = f(v[j] clamped to [-clip, clip] when clip > 0) for j < n;
// Sigmoid and Tanh run over the array in vector lanes (Eigen's exp and tanh).
float activate(const RnnActivation& f, float x);
void activate(const RnnActivation& f, float* v, int64_t n, float clip);

// The valid length of batch row b (sequence_lens, else seq); throws Error naming the node
// when sequence_lens holds a length outside [0, seq].
int64_t row_length(const RunContext& ctx, const RnnDims& d, int64_t b, const Node& node);

// Output i as floats, or nullptr when the node leaves it out (Y, Y_h and Y_c are optional).
inline float* optional_output(RunContext& ctx, size_t i) {
  return ctx.out.size() > i && ctx.out[i] ? ctx.output(i).data<float>() : nullptr;
}

// Y zero-filled (steps past a row's length are never written), or nullptr when left out.
inline float* sequence_output(RunContext& ctx) {
  float* y = optional_output(ctx, 0);
  if (y) std::fill(y, y + ctx.output(0).numel(), 0.f);
  return y;
}

// h = the initial state at input i for direction dir and batch row b, zeros when not given.
inline void initial_state(const RunContext& ctx, size_t i, const RnnDims& d, int64_t dir, int64_t b,
                          float* h) {
  for (int64_t j = 0; j < d.hidden; ++j)
    h[j] = ctx.has_input(i) ? ctx.input(i).data<float>()[d.h(dir, b) + j] : 0.f;
}

// The weights W or R of every direction transposed, [dirs][cols][rows] from ONNX's
// [dirs][rows][cols], so that a step's matrix-vector product runs as one axpy per column over
// contiguous rows (vector lanes, no horizontal sums; each row still adds its products in column
// order). An f32 constant of the model is transposed once, when the kernel is made, and the
// kernel owns it (Kernel::owns_constant: the plain copy goes); other weights on every run.
class TransposedWeights {
 public:
  // Input `input` of the node (1: W, 2: R).
  TransposedWeights(const KernelInit& init, size_t input);
  bool owned() const { return owned_; }
  // Once per run, before block(): transposes `w`, the node's input, unless owned.
  void update(const Tensor& w) {
    if (!owned_) transpose(w);
  }
  // Direction `dir`'s block, [cols][rows].
  const float* block(int64_t dir) const { return t_.data() + dir * rows_ * cols_; }

 private:
  void transpose(const Tensor& w);
  bool owned_ = false;
  int64_t rows_ = 0, cols_ = 0;
  std::vector<float> t_;
};

// g[j] += sum_k x[k] * wt[k * ld + j] for j < rows, k < cols: rows [0, rows) of transposed
// weights whose columns are `ld` apart (a block of rows starts at wt + its first row).
void matvec_t(const float* wt, int64_t ld, const float* x, int64_t rows, int64_t cols, float* g);

// matvec_t for m vectors at once: g[i * rows + j] += sum_k x[i * xs + k] * wt[k * ld + j] for
// i < m. Four vectors share each load of the weights, which stream from L2 once per four.
void matmul_t(const float* wt, int64_t ld, const float* x, int64_t xs, int64_t m, int64_t rows,
              int64_t cols, float* g);

// The input's share of every step of batch row b, ahead of the recurrence (one matmul_t over
// the row's `len` valid steps, as ONNX Runtime does with one GEMM): gx[t * rows + j] =
// bias[j] + bias2[j] + X_t,b . W_j for t < len, j < rows. `wt` is a direction's
// TransposedWeights block of W; bias and bias2 may be null.
void input_projection(const float* x, const RnnDims& d, int64_t b, int64_t len, const float* wt,
                      int64_t rows, const float* bias, const float* bias2, float* gx);

// What RNN, GRU and LSTM share: the node and its attributes, the dims of the latest infer(),
// W and R transposed, and a scratch of hidden * (gates * seq + fixed) floats.
class RecurrentKernel : public NodeKernel {
 public:
  // `defaults`: one direction's activations; `states`: 1 (h) or 2 (h, c).
  RecurrentKernel(const KernelInit& init, const std::vector<std::string>& defaults, int64_t gates,
                  int states, int64_t fixed_scratch)
      : NodeKernel(init),
        a_(rnn_attrs(init.node, defaults)),
        wt_(init, 1),
        rt_(init, 2),
        gates_(gates),
        states_(states),
        fixed_scratch_(fixed_scratch) {}
  void infer(InferContext& ctx) override {
    d_ = rnn_infer(ctx, node_, a_, gates_, states_);
    ctx.request_scratch(static_cast<size_t>(d_.hidden) * (gates_ * d_.seq + fixed_scratch_) *
                        sizeof(float));
  }
  bool owns_constant(size_t input) const override {
    return (input == 1 && wt_.owned()) || (input == 2 && rt_.owned());
  }

 protected:
  // run()'s walk: for every direction and batch row, h (and c, when not null) from the initial
  // states and gx from the row's input projection (the W biases, and the R biases too when
  // `r_bias_in_projection`), then step(dir, gates) over the row's valid steps in the direction's
  // order, `gates` being step t's gates * hidden floats of gx; after each step h goes to Y, after
  // the row h to Y_h and c to Y_c.
  template <class Step>
  void walk(RunContext& ctx, float* h, float* c, float* gx, bool r_bias_in_projection,
            Step&& step) {
    const int64_t H = d_.hidden, rows = gates_ * H;
    const float* x = ctx.input(0).data<float>();
    float* y = sequence_output(ctx);
    float* yh = optional_output(ctx, 1);
    float* yc = c ? optional_output(ctx, 2) : nullptr;
    wt_.update(ctx.input(1));
    rt_.update(ctx.input(2));
    for (int64_t dir = 0; dir < d_.dirs; ++dir) {
      const float* wb = biases(ctx, dir);
      const float* rb = wb && r_bias_in_projection ? wb + rows : nullptr;
      for (int64_t b = 0; b < d_.batch; ++b) {
        const int64_t len = row_length(ctx, d_, b, node_);
        initial_state(ctx, 5, d_, dir, b, h);
        if (c) initial_state(ctx, 6, d_, dir, b, c);
        input_projection(x, d_, b, len, wt_.block(dir), rows, wb, rb, gx);
        for (int64_t s = 0; s < len; ++s) {
          const int64_t t = a_.reverse(dir) ? len - 1 - s : s;
          step(dir, gx + t * rows);
          if (y) std::copy(h, h + H, y + d_.y(t, dir, b));
        }
        if (yh) std::copy(h, h + H, yh + d_.h(dir, b));
        if (yc) std::copy(c, c + H, yc + d_.h(dir, b));
      }
    }
  }

  // Direction dir's biases, W's then R's (gates * hidden each), or nullptr without B.
  const float* biases(const RunContext& ctx, int64_t dir) const {
    return ctx.has_input(3) ? ctx.input(3).data<float>() + dir * 2 * gates_ * d_.hidden : nullptr;
  }

  RnnAttrs a_;
  RnnDims d_;
  TransposedWeights wt_, rt_;

 private:
  int64_t gates_;
  int states_;
  int64_t fixed_scratch_;
};

}  // namespace edgeopt::rt::ref
