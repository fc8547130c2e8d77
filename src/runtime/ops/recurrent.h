// The ONNX recurrent ops (RNN, GRU, LSTM) as every provider reads them (ONNX semantics, no
// computation): attributes, activations, the layouts and the shape checks.
//
// Shapes: X [seq, batch, input] (layout 1: [batch, seq, input]); W [dirs, G*hidden, input];
// R [dirs, G*hidden, hidden]; B [dirs, 2*G*hidden] (W biases then R biases); sequence_lens
// [batch]; initial states [dirs, batch, hidden] (layout 1: [batch, dirs, hidden]). Outputs:
// Y [seq, dirs, batch, hidden] (layout 1: [batch, seq, dirs, hidden]) and the last states.
#pragma once

#include <string>
#include <vector>

#include "runtime/kernel.h"

namespace edgeopt::rt::ops {

// One of the activations the recurrent ops name in `activations`, with its alpha and beta.
struct RnnActivation {
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
  Kind kind = kSigmoid;
  float alpha = 0, beta = 0;
};

struct RnnAttrs {
  int64_t hidden = 0;
  int64_t dirs = 1;
  bool reverse_only = false;  // direction = "reverse"
  int64_t layout = 0;
  float clip = 0;  // 0: none
  // activations[d * per_dir + k]
  std::vector<RnnActivation> act;
  // Whether direction `dir` (0, or 1 when bidirectional) walks the sequence backwards.
  bool reverse(int64_t dir) const { return reverse_only || dir == 1; }
  // Whether every activation is the op's default one (`defaults`, as for rnn_attrs).
  bool default_activations(const std::vector<std::string>& defaults) const;
};

// Reads the attributes; `defaults` are one direction's activations when the node gives none.
// Throws Error naming the node on a bad direction, layout or activation.
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

}  // namespace edgeopt::rt::ops
