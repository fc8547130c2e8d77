// Shared pieces of the recurrent kernels (RNN, GRU, LSTM, ONNX spec): attributes, the
// activation functions, the layouts, and the walk over directions, batch rows and time steps.
//
// Shapes: X [seq, batch, input] (layout 1: [batch, seq, input]); W [dirs, G*hidden, input];
// R [dirs, G*hidden, hidden]; B [dirs, 2*G*hidden] (W biases then R biases); sequence_lens
// [batch]; initial states [dirs, batch, hidden] (layout 1: [batch, dirs, hidden]). Outputs:
// Y [seq, dirs, batch, hidden] (layout 1: [batch, seq, dirs, hidden]) and the last states.
// Steps at or past a row's sequence length are not computed and leave zeros in Y; the
// reverse direction walks a row from its last valid step down to 0.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common.h"

namespace edgeopt::rt::ref {

struct Activation {
  enum Kind {
    kSigmoid,
    kTanh,
    kRelu,
    kAffine,
    kLeakyRelu,
    kThresholdedRelu,
    kScaledTanh,
    kHardSigmoid,
    kElu,
    kSoftsign,
    kSoftplus
  };
  Kind kind = kSigmoid;  // resolved from the name once, by rnn_attrs
  float alpha = 0, beta = 0;
  float operator()(float x) const;
  // v[j] = (*this)(v[j] clamped to [-clip, clip] when clip > 0) for j < n; Sigmoid and Tanh run
  // over the array in vector lanes (Eigen's exp and tanh).
  void apply(float* v, int64_t n, float clip) const;
};

struct RnnAttrs {
  int64_t hidden = 0;
  int64_t dirs = 1;
  bool reverse_only = false;  // direction = "reverse"
  int64_t layout = 0;
  float clip = 0;  // 0: none
  // activations[d * per_dir + k]
  std::vector<Activation> act;
  // Whether direction `dir` (0, or 1 when bidirectional) walks the sequence backwards.
  bool reverse(int64_t dir) const { return reverse_only || dir == 1; }
};

// Reads the common attributes; `defaults` are one direction's activations when the node gives
// none. Throws Error naming the node on a bad direction, layout or activation.
RnnAttrs rnn_attrs(const Node& node, const std::vector<std::string>& defaults);

struct RnnDims {
  int64_t seq = 0, batch = 0, input = 0, hidden = 0, dirs = 1, layout = 0;
  int64_t x(int64_t t, int64_t b) const { return (layout ? b * seq + t : t * batch + b) * input; }
  int64_t y(int64_t t, int64_t d, int64_t b) const {
    return (layout ? (b * seq + t) * dirs + d : (t * dirs + d) * batch + b) * hidden;
  }
  int64_t h(int64_t d, int64_t b) const { return (layout ? b * dirs + d : d * batch + b) * hidden; }
  Shape y_shape() const {
    return layout ? Shape{batch, seq, dirs, hidden} : Shape{seq, dirs, batch, hidden};
  }
  Shape h_shape() const { return layout ? Shape{batch, dirs, hidden} : Shape{dirs, batch, hidden}; }
};

// Validates the inputs of a recurrent node with `gates` gates (X, W, R, B, sequence_lens,
// initial states at inputs 5.. for `states` states) and sets outputs Y and the states.
RnnDims rnn_infer(InferContext& ctx, const Node& node, const RnnAttrs& a, int64_t gates,
                  int states);

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

}  // namespace edgeopt::rt::ref
