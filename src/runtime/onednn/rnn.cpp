// GRU and LSTM on oneDNN's RNN primitives (f32, inference): one primitive runs every step of
// every direction, the input's share of all steps as one GEMM and each step's recurrence as a
// packed GEMM (ONNX semantics, attributes and shapes in runtime/ops/recurrent.h).
//
// ONNX and oneDNN order the gates differently and split the biases differently:
//  - GRU: ONNX z, r, h is oneDNN's u, r, o. linear_before_reset = 0 is oneDNN's GRU (bias =
//    Wb + Rb per gate); linear_before_reset = 1, PyTorch's GRU, is oneDNN's LBR GRU, whose
//    fourth bias is the recurrent one of the candidate gate (h~ = g(X W_h + Wb_h + r . (H R_h +
//    Rb_h))): biases Wb_z + Rb_z, Wb_r + Rb_r, Wb_h, Rb_h.
//  - LSTM: ONNX i, o, f, c is oneDNN's i, f, c~, o after a permutation; bias = Wb + Rb per gate.
// W [dirs, G*hidden, input] is oneDNN's ldgoi layout of weights_layer {1, dirs, input, G,
// hidden} once the gates are permuted (R likewise); the primitive reorders them to its own
// layout once at creation for constant weights (the kernel owns them; weights the exporter
// computes from constants, as Silero VAD's Slice/Concat of its gates inside an If branch, are
// folded into constants before), else on every run. X [seq, batch, input] is tnc, the initial and
// last states [dirs, batch, hidden] ldnc with one layer. Y [seq, dirs, batch, hidden] is oneDNN's
// dst_layer [seq, batch, dirs*hidden] (bidirectional_concat) when dirs or batch is 1; otherwise the
// primitive writes its dst_layer to the scratch and the kernel moves each direction's rows into Y.
//
// Taken: default activations, no clip, layout 0, no sequence_lens, LSTM without input_forget
// (oneDNN has none of these) and without peepholes (oneDNN orders them differently; no exporter
// of the corpus writes them); the reference provider runs the others.
#include <algorithm>
#include <cstring>
#include <memory>

#include "common.h"
#include "runtime/ops/recurrent.h"

namespace edgeopt::rt::onednn {
namespace {

using ops::RnnAttrs;
using ops::RnnDims;

enum class Cell { kGru, kLbrGru, kLstm };

const std::vector<std::string> kGruActs = {"Sigmoid", "Tanh"};
const std::vector<std::string> kLstmActs = {"Sigmoid", "Tanh", "Tanh"};

// The ONNX gate of each oneDNN gate, in oneDNN's order.
const std::vector<int64_t> kGruGates = {0, 1, 2};
const std::vector<int64_t> kLstmGates = {0, 2, 3, 1};

bool has_output(const Node& n, size_t i) { return n.outputs.size() > i && !n.outputs[i].empty(); }

Cell cell_of(const Node& n) {
  if (n.op_type == "LSTM") return Cell::kLstm;
  return n.attr_int("linear_before_reset", 0) ? Cell::kLbrGru : Cell::kGru;
}

class Recurrent final : public NodeKernel {
 public:
  explicit Recurrent(const KernelInit& init)
      : NodeKernel(init),
        cell_(cell_of(init.node)),
        a_(ops::rnn_attrs(init.node, cell_ == Cell::kLstm ? kLstmActs : kGruActs)),
        gates_(cell_ == Cell::kLstm ? kLstmGates : kGruGates),
        threads_(init.threads),
        has_y_(has_output(init.node, 0)) {
    const Node& n = init.node;
    const bool lstm = cell_ == Cell::kLstm;
    states_[0].given = !n.input(5).empty();
    states_[1].given = lstm && !n.input(6).empty();
    states_[2].given = has_output(n, 1);
    states_[3].given = lstm && has_output(n, 2);
    // oneDNN's LSTM takes both states of a side or neither.
    states_[0].described = states_[0].given || states_[1].given;
    states_[1].described = lstm && states_[0].described;
    states_[2].described = states_[2].given || states_[3].given;
    states_[3].described = lstm && states_[2].described;
    // Constant W, R and B (or B left out) of the shapes infer will check, else taken on each run.
    auto constant = [&](size_t i, int64_t rank) -> const Tensor* {
      const Tensor* c = i < init.constants.size() ? init.constants[i] : nullptr;
      return c && c->dtype() == DType::kF32 && c->rank() == rank ? c : nullptr;
    };
    const Tensor* w = constant(1, 3);
    const Tensor* r = constant(2, 3);
    const Tensor* b = constant(3, 2);
    const bool b_given = !init.node.input(3).empty();
    if (!w || !r || (b_given && !b)) return;
    const int64_t g = static_cast<int64_t>(gates_.size()), dirs = w->dim(0), hidden = r->dim(2);
    if (w->dim(1) != g * hidden || r->shape() != Shape{dirs, g * hidden, hidden} ||
        (b && b->shape() != Shape{dirs, 2 * g * hidden}))
      return;
    weights_constant_ = true;
    permute(*w, w_plain_);
    permute(*r, r_plain_);
    make_bias(b, dirs, hidden);
  }

  bool owns_constant(size_t input) const override {
    return weights_constant_ && input >= 1 && input <= 3;
  }
  void input_shapes_fixed() override { shapes_fixed_ = true; }

  void infer(InferContext& ctx) override {
    const int64_t gates = static_cast<int64_t>(gates_.size());
    d_ = ops::rnn_infer(ctx, node_, a_, gates, cell_ == Cell::kLstm ? 2 : 1);
    // Y is written through the scratch when its layout is not oneDNN's dst_layer (see the top).
    y_direct_ = d_.dirs == 1 || d_.batch == 1;
    if (d_.seq == 0 || d_.batch == 0) return;
    const int64_t rows = d_.seq * d_.batch;
    const int64_t macs = rows * d_.dirs * gates * d_.hidden * (d_.input + d_.hidden);
    run_threads_ = threads_for(threads_, macs, 4 * (rows * (d_.input + d_.dirs * d_.hidden)));
    if (d_.seq != seq_ || d_.batch != batch_) {
      set_threads(run_threads_);
      seq_ = d_.seq;
      batch_ = d_.batch;
      make_primitive();
    }
    // Y left out: the primitive still writes its dst_layer, to the scratch.
    // States a side of the primitive needs but the node does not give: zeros or a sink, there too.
    size_t bytes = scratch_bytes_;
    bytes += has_y_ && y_direct_ ? 0 : static_cast<size_t>(rows * d_.dirs * d_.hidden) * 4;
    for (State& st : states_)
      if (st.described && !st.given) {
        st.offset = bytes;
        bytes += static_cast<size_t>(d_.dirs * d_.batch * d_.hidden) * 4;
      }
    ctx.request_scratch(bytes);
  }

  void run(RunContext& ctx) override {
    if (d_.seq == 0 || d_.batch == 0) return empty_sequence(ctx);
    set_threads(run_threads_);
    if (!weights_constant_) {
      permute(ctx.input(1), w_plain_);
      permute(ctx.input(2), r_plain_);
      make_bias(ctx.has_input(3) ? &ctx.input(3) : nullptr, d_.dirs, d_.hidden);
      pack_weights();
    }
    auto* scratch = static_cast<char*>(ctx.scratch);
    if (scratch_bytes_) scratchpad_.set_data_handle(scratch);
    float* y = has_y_ ? ctx.output(0).data<float>() : nullptr;
    float* dst = y && y_direct_ ? y : reinterpret_cast<float*>(scratch + scratch_bytes_);
    src_.set_data_handle(const_cast<void*>(ctx.input(0).raw()));
    dst_.set_data_handle(dst);
    for (size_t i = 0; i < 4; ++i) {
      State& st = states_[i];
      if (!st.described) continue;
      if (st.given) {
        st.mem.set_data_handle(i < 2 ? const_cast<void*>(ctx.input(5 + i).raw())
                                     : ctx.output(i - 1).raw());
      } else {
        st.mem.set_data_handle(scratch + st.offset);
        if (i < 2) std::memset(scratch + st.offset, 0, st.mem.get_desc().get_size());
      }
    }
    prim_.execute(stream(), args_);
    if (y && !y_direct_) split_directions(dst, y);
  }

 private:
  // ONNX [dirs][G*hidden][cols] to oneDNN's ldgoi [dirs][G][hidden][cols] in oneDNN's gate
  // order (blocks of hidden*cols floats move).
  void permute(const Tensor& w, std::vector<float>& out) const {
    const int64_t dirs = w.dim(0), g = static_cast<int64_t>(gates_.size());
    const int64_t block = w.dim(1) / g * w.dim(2);
    out.resize(static_cast<size_t>(w.numel()));
    const float* src = w.data<float>();
    for (int64_t d = 0; d < dirs; ++d)
      for (int64_t k = 0; k < g; ++k)
        std::memcpy(out.data() + (d * g + k) * block, src + (d * g + gates_[k]) * block,
                    static_cast<size_t>(block) * sizeof(float));
  }

  // oneDNN's bias [dirs][gates][hidden] from ONNX's B [dirs][2*G*hidden] (see the top); zeros
  // when B is left out.
  void make_bias(const Tensor* b, int64_t dirs, int64_t hidden) {
    const int64_t g = static_cast<int64_t>(gates_.size());
    const int64_t bias_gates = cell_ == Cell::kLbrGru ? 4 : g;
    bias_.assign(static_cast<size_t>(dirs * bias_gates * hidden), 0.f);
    if (!b) return;
    for (int64_t d = 0; d < dirs; ++d) {
      const float* wb = b->data<float>() + d * 2 * g * hidden;
      const float* rb = wb + g * hidden;
      float* out = bias_.data() + d * bias_gates * hidden;
      for (int64_t k = 0; k < g; ++k) {
        const int64_t o = gates_[k] * hidden;
        const bool split = cell_ == Cell::kLbrGru && k == 2;
        for (int64_t j = 0; j < hidden; ++j)
          out[k * hidden + j] = wb[o + j] + (split ? 0 : rb[o + j]);
        if (split) std::copy(rb + o, rb + o + hidden, out + 3 * hidden);
      }
    }
  }

  void make_primitive() {
    const int64_t T = d_.seq, N = d_.batch, I = d_.input, H = d_.hidden, D = d_.dirs;
    const int64_t G = static_cast<int64_t>(gates_.size());
    const dnnl::memory::desc src_md({T, N, I}, dt::f32, tag::tnc);
    const dnnl::memory::desc state_md({1, D, N, H}, dt::f32, tag::ldnc);
    const dnnl::memory::desc none;
    // Weights in oneDNN's choice of layout (brgemm's blocks) but for an LSTM over several
    // steps, where plain ldigo weights (its GEMM path) ran 17-26% faster (bench/README.md).
    const tag w_tag = cell_ == Cell::kLstm && T > 1 ? tag::ldigo : tag::any;
    const dnnl::memory::desc w_any({1, D, I, G, H}, dt::f32, w_tag);
    const dnnl::memory::desc r_any({1, D, H, G, H}, dt::f32, w_tag);
    const dnnl::memory::desc bias_md({1, D, cell_ == Cell::kLbrGru ? 4 : G, H}, dt::f32, tag::ldgo);
    const dnnl::memory::desc dst_md({T, N, D * H}, dt::f32, tag::tnc);
    const auto dir = D == 2            ? dnnl::rnn_direction::bidirectional_concat
                     : a_.reverse_only ? dnnl::rnn_direction::unidirectional_right2left
                                       : dnnl::rnn_direction::unidirectional_left2right;
    const auto fwd = dnnl::prop_kind::forward_inference;
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const dnnl::memory::desc& h0 = states_[0].described ? state_md : none;
    const dnnl::memory::desc& c0 = states_[1].described ? state_md : none;
    const dnnl::memory::desc& yh = states_[2].described ? state_md : none;
    const dnnl::memory::desc& yc = states_[3].described ? state_md : none;
    auto describe = [&]() -> dnnl::primitive_desc {  // the cell's primitive, as its base
      if (cell_ == Cell::kLstm)
        return dnnl::lstm_forward::primitive_desc(
            dnnl::lstm_forward::desc(fwd, dir, src_md, h0, c0, w_any, r_any, bias_md, dst_md, yh,
                                     yc),
            attr, engine());
      if (cell_ == Cell::kLbrGru)
        return dnnl::lbr_gru_forward::primitive_desc(
            dnnl::lbr_gru_forward::desc(fwd, dir, src_md, h0, w_any, r_any, bias_md, dst_md, yh),
            attr, engine());
      return dnnl::gru_forward::primitive_desc(
          dnnl::gru_forward::desc(fwd, dir, src_md, h0, w_any, r_any, bias_md, dst_md, yh), attr,
          engine());
    };
    const dnnl::primitive_desc pd = describe();
    prim_ = dnnl::primitive(pd);
    const dnnl::memory::desc scratch_md = pd.scratchpad_desc();
    w_ = dnnl::memory(pd.weights_desc(0), engine());  // weights_layer
    r_ = dnnl::memory(pd.weights_desc(1), engine());  // weights_iter
    w_user_ = user_memory(dnnl::memory::desc({1, D, I, G, H}, dt::f32, tag::ldgoi));
    r_user_ = user_memory(dnnl::memory::desc({1, D, H, G, H}, dt::f32, tag::ldgoi));
    w_reorder_ = dnnl::reorder(w_user_, w_);
    r_reorder_ = dnnl::reorder(r_user_, r_);
    bias_mem_ = dnnl::memory(bias_md, engine(), bias_.empty() ? nullptr : bias_.data());
    src_ = user_memory(src_md);
    dst_ = user_memory(dst_md);
    scratch_bytes_ = scratch_md.get_size();
    args_ = {{DNNL_ARG_SRC_LAYER, src_},
             {DNNL_ARG_WEIGHTS_LAYER, w_},
             {DNNL_ARG_WEIGHTS_ITER, r_},
             {DNNL_ARG_BIAS, bias_mem_},
             {DNNL_ARG_DST_LAYER, dst_}};
    const int state_args[4] = {DNNL_ARG_SRC_ITER, DNNL_ARG_SRC_ITER_C, DNNL_ARG_DST_ITER,
                               DNNL_ARG_DST_ITER_C};
    for (size_t i = 0; i < 4; ++i)
      if (states_[i].described) {
        states_[i].mem = user_memory(state_md);
        args_[state_args[i]] = states_[i].mem;
      }
    if (scratch_bytes_) {
      scratchpad_ = user_memory(scratch_md);
      args_[DNNL_ARG_SCRATCHPAD] = scratchpad_;
    }
    if (weights_constant_) {
      pack_weights();
      if (shapes_fixed_) {  // no other shape will want the plain weights again
        std::vector<float>().swap(w_plain_);
        std::vector<float>().swap(r_plain_);
      }
    }
  }

  // The plain weights and biases to the primitive's memories (reorders made with it).
  void pack_weights() {
    bias_mem_.set_data_handle(bias_.data());
    w_user_.set_data_handle(w_plain_.data());
    r_user_.set_data_handle(r_plain_.data());
    w_reorder_.execute(stream(), w_user_, w_);
    r_reorder_.execute(stream(), r_user_, r_);
  }

  // dst [seq][batch][dirs][hidden] to Y [seq][dirs][batch][hidden].
  void split_directions(const float* dst, float* y) const {
    const int64_t H = d_.hidden;
    for (int64_t t = 0; t < d_.seq; ++t)
      for (int64_t b = 0; b < d_.batch; ++b)
        for (int64_t dir = 0; dir < d_.dirs; ++dir)
          std::copy_n(dst + ((t * d_.batch + b) * d_.dirs + dir) * H, H, y + d_.y(t, dir, b));
  }

  // No step: the last states are the initial ones (zeros when left out).
  void empty_sequence(RunContext& ctx) const {
    for (size_t i = 1; i < ctx.out.size(); ++i) {
      if (!ctx.out[i] || ctx.out[i]->numel() == 0) continue;
      Tensor& out = ctx.output(i);
      if (ctx.has_input(4 + i))
        std::memcpy(out.raw(), ctx.input(4 + i).raw(), out.nbytes());
      else
        std::memset(out.raw(), 0, out.nbytes());
    }
  }

  Cell cell_;
  RnnAttrs a_;
  std::vector<int64_t> gates_;
  int threads_ = 1, run_threads_ = 1;
  const bool has_y_;  // the node has output Y
  // initial_h, initial_c, Y_h, Y_c (inputs 5, 6, outputs 1, 2): whether the node has it, whether
  // the primitive takes it (else its memory is in the scratch at `offset`).
  struct State {
    bool given = false, described = false;
    size_t offset = 0;
    dnnl::memory mem;
  };
  State states_[4];
  bool weights_constant_ = false, shapes_fixed_ = false;
  bool y_direct_ = true;
  RnnDims d_;
  int64_t seq_ = -1, batch_ = -1;
  std::vector<float> w_plain_, r_plain_, bias_;
  dnnl::primitive prim_;
  dnnl::memory w_user_, r_user_;  // the plain weights, reordered by these into w_, r_
  dnnl::reorder w_reorder_, r_reorder_;
  dnnl::memory w_, r_, bias_mem_, src_, dst_;
  dnnl::memory scratchpad_;
  std::unordered_map<int, dnnl::memory> args_;
  size_t scratch_bytes_ = 0;
};

// f32, and only what oneDNN's cells compute (see the top).
bool recurrent_accepts(const KernelInit& init) {
  if (!all_f32(init)) return false;
  const Node& n = init.node;
  const bool lstm = n.op_type == "LSTM";
  RnnAttrs a;
  try {
    a = ops::rnn_attrs(n, lstm ? kLstmActs : kGruActs);
  } catch (const Error&) {
    return false;  // the reference kernel reports it
  }
  if (a.layout != 0 || a.clip > 0 || !a.default_activations(lstm ? kLstmActs : kGruActs))
    return false;
  if (!n.input(4).empty()) return false;  // sequence_lens
  if (lstm && (n.attr_int("input_forget", 0) != 0 || !n.input(7).empty())) return false;
  return true;
}

std::unique_ptr<Kernel> make_recurrent(const KernelInit& i) {
  return std::make_unique<Recurrent>(i);
}

const bool registered = [] {
  KernelRegistry::global().add(
      KernelDef{kProvider, "", "GRU", 7, INT_MAX, make_recurrent, recurrent_accepts});
  KernelRegistry::global().add(
      KernelDef{kProvider, "", "LSTM", 7, INT_MAX, make_recurrent, recurrent_accepts});
  return true;
}();

}  // namespace
}  // namespace edgeopt::rt::onednn
