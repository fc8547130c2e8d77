// The int8 rewrite of the oneDNN provider (int8_rewrite.cpp describes what is fused and why),
// shared by the files of its phases. Internal to src/runtime/onednn.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common.h"

namespace edgeopt::rt::onednn::int8 {

inline bool is_default(const Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

// Per-tensor quantization parameters of a value.
struct QP {
  float scale = 1;
  int32_t zp = 0;
  DType dt = DType::kUndefined;
  bool operator==(const QP& o) const { return scale == o.scale && zp == o.zp && dt == o.dt; }
};

// A constant positive finite f32 scalar.
bool scalar_scale(const Graph& g, const std::string& v, float& s);

// A constant u8/s8 scalar zero point; absent: 0 of dtype `def`.
bool scalar_zp(const Graph& g, const std::string& v, DType def, int32_t& zp, DType& dt);

// Positive finite f32 scales: one, or `count` along a 1-D tensor.
bool scales(const Graph& g, const std::string& v, int64_t count, std::vector<float>& out);

// True when the optional zero-point input is absent or all zeros.
bool zero_zp(const Graph& g, const std::string& v);

inline float at(const std::vector<float>& v, int64_t i) { return v.size() == 1 ? v[0] : v[i]; }

// Fuses the int8 patterns of one model (fuse_int8). Each phase's members are defined in the file
// named above them.
class Int8Fuser {
 public:
  explicit Int8Fuser(Model& m) : m_(m), g_(m.graph) {}

  void run();

 private:
  // What a seed computes before its chain: v = acc_scale[m] * (acc + bias_acc[m]).
  struct Seed {
    std::string x;
    QP xq;
    std::string w;                 // s8 constant: conv [M, C/g, kh, kw], gemm [K, N]
    std::vector<float> acc_scale;  // per output channel or one
    std::vector<float> bias_acc;   // empty: no bias
    std::string out;               // the seed's output value
    bool quantized_out = false;    // QLinear*: `out` is already quantized with params outq
    QP outq;
  };

  // int8_rewrite.cpp: the pass itself and what every phase shares: per-tensor parameters of Q/DQ
  // nodes, single readers, retiring absorbed nodes.
  bool node_qp(const Node& n, QP& p);
  bool dq_of(const std::string& v, std::string& q, QP& p);
  int sole_reader(const std::string& v);
  void retire(int u);
  int sole_q(const std::string& v, QP& p);
  void remove_unread_dq();

  // int8_seed.cpp: the seeds, Conv / Gemm / MatMul over DQ(x), DQ(w) and QLinearConv /
  // QLinearMatMul.
  bool dq_weights(const std::string& v, int rank, int64_t axis, std::string& w,
                  std::vector<float>& ws);
  bool real_bias(const std::string& v, int64_t count, std::vector<float>& b);
  bool conv_seed(const Node& n, Seed& s);
  bool gemm_seed(const Node& n, Seed& s);
  std::string transposed(const std::string& name, const Tensor& t);
  void finish_qdq_seed(Seed& s, const std::vector<float>& ws, const std::vector<float>& b,
                       int64_t m);
  bool qlinear_seed(const Node& n, bool conv, Seed& s);

  // int8_chain.cpp: the chain after a seed (Q → DQ → Add / Relu / Clip → Q) as oneDNN post-ops, and
  // the fused node.
  bool clip_bounds(const Node& n, float& lo, float& hi);
  std::string activations(std::string v, std::vector<PostOp>& acts, std::vector<int>& used);
  static void append_scaled(std::vector<PostOp>& post, const std::vector<PostOp>& acts, float unit);
  static std::vector<PostOp> merge_clamps(const std::vector<PostOp>& post);
  void try_seed(int i, bool conv);

  // int8_integer_ops.cpp: ops that run on the 8-bit integers unchanged: MaxPool, Resize, Concat
  // (and requantizing a Concat's inputs).
  void try_max_pool(int i);
  bool run_on_8bit(int i);
  void try_data_movement(int i);
  void try_resize(int i);
  void try_concat(int i);
  void requantize_concat_inputs();

  // int8_squeeze_excitation.cpp: squeeze-excitation, the channel Mul and the GlobalAveragePool on
  // 8-bit data.
  static Node qchannel_node(const char* op, const std::string& name,
                            std::vector<std::string> inputs, const std::string& output,
                            const QP& xq, const QP* y);
  void try_channel_mul(int i);
  void try_global_average_pool(int i);

  Model& m_;
  Graph& g_;
  std::vector<char> dead_;
};

}  // namespace edgeopt::rt::onednn::int8
