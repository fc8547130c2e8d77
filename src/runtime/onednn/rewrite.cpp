// The oneDNN provider's graph rewrite (run by the session on its own copy of the model):
//
//  1. conv_bn_fold, identity_elimination, shape_folding and constant_folding (passes/) so that
//     BatchNorm is folded into Conv and Constant nodes, and Shape of a static value (an
//     exporter's computed Resize sizes), become initializers the fusions below can read.
//  2. int8 (int8_rewrite.cpp): QDQ / QLinear patterns around Conv, Gemm and MatMul become QConv
//     and QGemm with requantization, ReLU/Clip and residual Adds fused, u8 in and out;
//     squeeze-excitation pools and scales on 8-bit data (QGlobalAveragePool, QChannelMul). Then
//     float islands DQ → element-wise ops → Q become 256-entry tables, Lut (lut.cpp).
//  3. Fusion: a 2-D f32 Conv with constant weights absorbs the chain of nodes that alone read
//     its output — activations (Relu, LeakyRelu, Clip, Sigmoid, HardSwish, Tanh, Elu), SiLU
//     (Mul(y, Sigmoid(y))), HardSwish (Mul(y, HardSigmoid(y)), alpha 1/6), HardSigmoid (Linear
//     + Clip) and a residual Add of a tensor of the same shape — as oneDNN post-ops; it becomes
//     Conv of the edgeopt.onednn domain (channels-last). ConvTranspose the same way (oneDNN
//     deconvolution, conv_transpose.cpp). 2-D f32 pools become edgeopt.onednn pools; Resize /
//     Upsample (nearest, linear) the edgeopt.onednn Resize (resize.cpp).
//  4. Layout (to_layout, the one place that decides it): edgeopt.onednn nodes (QGemm excepted)
//     read and write one activation layout per graph (common.h). f32 graphs use oneDNN's
//     blocked layout (nChw8c on AVX2: [N, ceil(C/8), H, W, 8], the layout its f32 conv and pool
//     kernels are written for: resnet18's 3x3 convs run 1.1-1.7x faster than on nhwc at 1
//     thread on AVX2, 1x1 convs about the same; nChw16c with AVX-512); graphs with int8 nodes
//     stay channels-last [N, H, W, C] (what the int8 kernels use, QChannelMul and
//     QGlobalAveragePool included). Layout-agnostic nodes (unary activations, Add/Sub/Mul/Div,
//     Concat, per-tensor QuantizeLinear / DequantizeLinear, Lut) that read a laid-out value
//     run in that layout too (rank-4 constants are permuted or blocked,
//     Concat's axis remapped), so a network keeps the layout between its input and output:
//     ToNhwc / ToBlocked is inserted where a run reads an NCHW value and ToNchw where an NCHW
//     reader (or a graph output) needs a laid-out one. A blocked Conv whose input has fewer
//     channels than a block (an RGB stem) reads that NCHW input directly. Blocked runs track
//     each value's channel count (ToNchw needs it: the last block may be padded); the padded
//     lanes must stay finite, so an agnostic node joins a blocked run only when its operands
//     agree on the channels (or broadcast over them) and a Div divides by a constant (padded 1).
//     A blocked Resize whose output only NCHW readers need writes NCHW itself.
#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "common.h"
#include "ir/graph_util.h"

namespace edgeopt::rt::onednn {
namespace {

bool is_default(const Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

bool f32_or_unknown(const Graph& g, const std::string& v) {
  const DType d = dtype_of_value(g, v);
  return d == DType::kF32 || d == DType::kUndefined;
}

const std::vector<std::string>& unary_ops() {
  static const std::vector<std::string> ops = {"Relu",      "LeakyRelu", "Clip", "Sigmoid",
                                               "HardSwish", "Tanh",      "Elu"};
  return ops;
}
bool is_unary(const Node& n) {
  return is_default(n) && std::count(unary_ops().begin(), unary_ops().end(), n.op_type);
}
bool is_binary(const Node& n, int64_t opset) {
  return is_default(n) && opset >= 7 &&
         (n.op_type == "Add" || n.op_type == "Sub" || n.op_type == "Mul" || n.op_type == "Div");
}

class Rewriter {
 public:
  explicit Rewriter(Model& m) : m_(m), g_(m.graph) {}

  void run() {
    prepare();
    fuse_int8(m_);
    fuse_lut(m_);
    fuse();
    g_.topological_sort();  // a fused residual input may come from a later node
    to_layout();
    g_.topological_sort();
  }

 private:
  void prepare() {
    bool have = false;
    for (const OpsetImport& o : m_.opset_imports) have |= o.domain == kDomain;
    if (!have) m_.opset_imports.push_back({kDomain, 1});
  }

  // Eltwise post-op for node n (a unary activation), or op "" when it has none.
  PostOp as_post_op(const Node& n) {
    PostOp p{n.op_type, 0.f, 0.f};
    if (n.op_type == "LeakyRelu")
      p.alpha = n.attr_float("alpha", 0.01f);
    else if (n.op_type == "Elu")
      p.alpha = n.attr_float("alpha", 1.f);
    else if (n.op_type == "Clip") {
      p.alpha = -3.402823466e+38f;
      p.beta = 3.402823466e+38f;
      if (m_.opset() < 11) {
        p.alpha = n.attr_float("min", p.alpha);
        p.beta = n.attr_float("max", p.beta);
      } else {
        for (size_t i = 1; i <= 2; ++i) {
          const std::string& v = n.input(i);
          if (v.empty()) continue;
          const Tensor* c = constant_of(g_, v);
          if (!c || c->numel() != 1 || c->dtype() != DType::kF32) return {"", 0, 0};
          (i == 1 ? p.alpha : p.beta) = c->data<float>()[0];
        }
      }
    }
    return p;
  }

  // The one node reading `v` (not a graph output), or -1.
  int sole_reader(const std::string& v) {
    if (g_.is_graph_output(v) || g_.use_count(v) != 1) return -1;
    const std::vector<int> r = g_.readers(v);
    return r.size() == 1 ? r[0] : -1;
  }

  bool conv_eligible(const Node& n) {
    if (!is_default(n) || (n.op_type != "Conv" && n.op_type != "ConvTranspose") ||
        n.outputs.size() != 1)
      return false;
    const Tensor* w = constant_of(g_, n.input(1));
    if (!w || w->dtype() != DType::kF32 || w->rank() != 4) return false;
    if (!n.input(2).empty()) {
      const Tensor* b = constant_of(g_, n.input(2));
      if (!b || b->dtype() != DType::kF32) return false;
    }
    return f32_or_unknown(g_, n.inputs[0]) && rank_of(g_, n.inputs[0]) == 4;
  }

  bool pool_eligible(const Node& n) {
    if (!is_default(n)) return false;
    const std::string& op = n.op_type;
    if (op != "MaxPool" && op != "AveragePool" && op != "GlobalAveragePool" &&
        op != "GlobalMaxPool")
      return false;
    if (n.outputs.size() != 1 || rank_of(g_, n.inputs[0]) != 4 || !f32_or_unknown(g_, n.inputs[0]))
      return false;
    return !(op == "AveragePool" && n.attr_int("ceil_mode", 0) &&
             n.attr_int("count_include_pad", 0));
  }

  // Resize (opset 10+) / Upsample (7-9) of a 4-D f32 tensor that resize.cpp computes: nearest or
  // linear on H and W, no crop, antialias or axes. Rewritten to the edgeopt.onednn Resize with
  // inputs [X, "", scales, sizes] and the coordinate and rounding modes spelled out.
  bool to_onednn_resize(Node& n) {
    const int64_t opset = m_.opset();
    if (!is_default(n) || !resize_supported(n, opset) || rank_of(g_, n.inputs[0]) != 4)
      return false;
    // f32, or 8-bit where the int8 rewrite moved the Resize onto the quantized tensor.
    if (!f32_or_unknown(g_, n.inputs[0]) && !is_8bit(dtype_of_value(g_, n.inputs[0]))) return false;
    const bool upsample = n.op_type == "Upsample";
    std::string mode = n.attr_string("mode", "nearest");
    if (mode == "bilinear") mode = "linear";
    std::string coord = "asymmetric", nearest = upsample ? "floor" : "simple";
    if (!upsample && opset >= 11) {
      coord = n.attr_string("coordinate_transformation_mode", "half_pixel");
      nearest = n.attr_string("nearest_mode", "round_prefer_floor");
    }
    std::string scales, sizes;
    if (upsample && opset < 9) {
      const std::vector<float> s = n.attr_floats("scales");
      if (s.size() != 4) return false;
      scales = add_constant(m_, n.name + "_scales", Tensor::from_vector(s, {4}));
    } else if (upsample || opset == 10) {
      scales = n.input(1);
    } else {
      scales = n.input(2);
      sizes = n.input(3);
    }
    // Scales that would resample N or C stay with the reference.
    const Tensor* sc = scales.empty() ? nullptr : constant_of(g_, scales);
    if (sc && sc->numel() == 0)
      scales.clear();
    else if (sc && (sc->numel() != 4 || sc->get_f64(0) != 1 || sc->get_f64(1) != 1))
      return false;
    if (scales.empty() == sizes.empty()) return false;
    n.domain = kDomain;
    n.op_type = "Resize";
    n.inputs = {n.inputs[0], "", scales, sizes};
    g_.invalidate_index();
    n.attributes.clear();
    n.set_attr_string("mode", mode);
    n.set_attr_string("coordinate_transformation_mode", coord);
    n.set_attr_string("nearest_mode", nearest);
    return true;
  }

  // ReduceMean / ReduceMax over H and W of a 4-D f32 tensor (torchvision's x.mean([2, 3]) before
  // the classifier) become the global pools, which run on the blocked layout; with keepdims=0 a
  // Flatten (appended to `flatten`) drops the two unit dims. Other reductions with the axes
  // attribute and a known rank get their positive axes spelled negative, the trailing form the
  // oneDNN Reduce kernel claims (reduce.cpp).
  bool reduce_to_pool(int i, std::vector<Node>& flatten) {
    Node& n = g_.nodes[i];
    if (!is_default(n) || m_.opset() >= 18 || n.outputs.size() != 1) return false;
    const bool mean = n.op_type == "ReduceMean";
    if (!mean && n.op_type != "ReduceMax" && n.op_type != "ReduceSum" && n.op_type != "ReduceMin")
      return false;
    const int rank = rank_of(g_, n.inputs[0]);
    if (rank < 0) return false;
    auto negative = [rank](std::vector<int64_t> axes) {
      for (int64_t& a : axes)
        if (a >= 0 && a < rank) a -= rank;
      std::sort(axes.begin(), axes.end());
      return axes;
    };
    if (n.op_type == "ReduceSum" && m_.opset() >= 13) {  // axes from input 1
      const Tensor* t = n.inputs.size() > 1 ? constant_of(g_, n.inputs[1]) : nullptr;
      if (!t || t->numel() == 0) return false;
      const std::vector<int64_t> axes = negative(t->to_i64_vector());
      const std::string name = replace_constant(
          m_, n.inputs[1], i, Tensor::from_vector(axes, {static_cast<int64_t>(axes.size())}));
      g_.set_input(i, 1, name);
      return false;
    }
    const std::vector<int64_t> axes = negative(n.attr_ints("axes"));
    if (axes.empty()) return false;
    const bool spatial = rank == 4 && axes == std::vector<int64_t>{-2, -1};
    if (!spatial || (!mean && n.op_type != "ReduceMax") || !f32_or_unknown(g_, n.inputs[0])) {
      n.set_attr_ints("axes", axes);
      return false;
    }
    const bool keepdims = n.attr_int("keepdims", 1) != 0;
    n.domain = kDomain;
    n.op_type = mean ? "GlobalAveragePool" : "GlobalMaxPool";
    n.attributes.clear();
    if (!keepdims) {
      Node f;
      f.op_type = "Flatten";
      f.name = n.name + "_flatten";
      f.outputs = {n.outputs[0]};
      f.inputs = {g_.unique_name(n.outputs[0] + "_pooled")};
      f.set_attr_int("axis", 1);
      g_.set_output(i, 0, f.inputs[0]);
      flatten.push_back(std::move(f));
    }
    return true;
  }

  // Reshape [N, C, H, W] → [N, g, C/g, H, W], Transpose (0, 2, 1, 3, 4), Reshape back to
  // [N, C, H, W]: ShuffleNet's channel shuffle (three copies on the reference provider) becomes
  // one ChannelShuffle of group g (shuffle.cpp), which runs in the run's layout; f32, or 8-bit
  // where the int8 rewrite moved the Reshapes and the Transpose onto the quantized tensor.
  bool to_channel_shuffle(int i, std::vector<char>& dead) {
    const Node& n = g_.nodes[i];
    if (!is_default(n) || n.op_type != "Reshape") return false;
    if (!f32_or_unknown(g_, n.inputs[0]) && !is_8bit(dtype_of_value(g_, n.inputs[0]))) return false;
    const std::optional<Shape> xs = static_shape_of(g_, n.inputs[0]);
    const std::optional<Shape> gs = static_shape_of(g_, n.outputs[0]);
    if (!xs || !gs || xs->size() != 4 || gs->size() != 5) return false;
    const Shape& x = *xs;
    const Shape& s = *gs;
    if (s[0] != x[0] || s[1] < 2 || s[1] * s[2] != x[1] || s[3] != x[2] || s[4] != x[3])
      return false;
    const int t = sole_reader(n.outputs[0]);
    if (t < 0 || dead[t]) return false;
    const Node& tn = g_.nodes[t];
    if (!is_default(tn) || tn.op_type != "Transpose" ||
        tn.attr_ints("perm") != std::vector<int64_t>{0, 2, 1, 3, 4})
      return false;
    const int r = sole_reader(tn.outputs[0]);
    if (r < 0 || dead[r]) return false;
    const Node& rn = g_.nodes[r];
    if (!is_default(rn) || rn.op_type != "Reshape" || static_shape_of(g_, rn.outputs[0]) != xs)
      return false;
    const std::string y = rn.outputs[0];
    dead[t] = dead[r] = 1;
    clear(t);
    clear(r);
    Node& c = g_.nodes[i];
    c.domain = kDomain;
    c.op_type = "ChannelShuffle";
    c.attributes.clear();
    c.set_attr_int("group", s[1]);
    g_.set_input(i, 1, "");
    c.inputs.resize(1);
    g_.set_output(i, 0, y);
    return true;
  }

  void fuse() {
    std::vector<char> dead(g_.nodes.size(), 0);
    std::vector<Node> flatten;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      Node& n = g_.nodes[i];
      if (dead[i]) continue;
      if (reduce_to_pool(static_cast<int>(i), flatten)) continue;
      if (to_channel_shuffle(static_cast<int>(i), dead)) continue;
      if (pool_eligible(n)) {
        n.domain = kDomain;
        continue;
      }
      if (to_onednn_resize(n)) continue;
      if (!conv_eligible(n)) continue;
      n.domain = kDomain;
      n.inputs.resize(3);  // bias slot (maybe "") before residual inputs
      std::vector<PostOp> post;
      for (;;) {
        const std::string y = n.outputs[0];
        // SiLU: Mul(y, Sigmoid(y)) with y read only by those two and the sigmoid by the Mul;
        // HardSwish: Mul(y, HardSigmoid(y)) with HardSigmoid's alpha 1/6, beta 1/2 (PyTorch's
        // export of hardswish before opset 14), oneDNN's y * relu6(y + 3) / 6.
        int s = gated_by(y, "Sigmoid");
        const bool hard = s < 0 && (s = gated_by(y, "HardSigmoid")) >= 0;
        if (s >= 0) {
          const int mul = sole_reader(g_.nodes[s].outputs[0]);
          post.push_back({hard ? "HardSwish" : "SiLU", hard ? 0.f : 1.f, 0.f});
          g_.set_output(static_cast<int>(i), 0, g_.nodes[mul].outputs[0]);
          dead[s] = dead[mul] = 1;
          clear(s);
          clear(mul);
          continue;
        }
        const int r = sole_reader(y);
        if (r < 0 || dead[r]) break;
        Node& c = g_.nodes[r];
        if (is_unary(c) && c.inputs[0] == y && f32_or_unknown(g_, y)) {
          const PostOp p = as_post_op(c);
          if (p.op.empty()) break;
          post.push_back(p);
        } else if (is_default(c) && c.op_type == "HardSigmoid" && f32_or_unknown(g_, y)) {
          // max(0, min(1, alpha * y + beta)): the squeeze-excitation gate of MobileNetV3.
          post.push_back({"Linear", c.attr_float("alpha", 0.2f), c.attr_float("beta", 0.5f)});
          post.push_back({"Clip", 0.f, 1.f});
        } else if (is_default(c) && c.op_type == "Add" && m_.opset() >= 7 && c.inputs.size() == 2 &&
                   c.inputs[0] != c.inputs[1]) {
          const std::string other = c.inputs[0] == y ? c.inputs[1] : c.inputs[0];
          const std::vector<Dim> dy = known_dims(g_, y), dr = known_dims(g_, other);
          if (dy.size() != 4 || dy != dr || constant_of(g_, other)) break;
          post.push_back({"Add", 0.f, 0.f});
          g_.set_input(static_cast<int>(i), n.inputs.size(), other);
        } else {
          break;
        }
        g_.set_output(static_cast<int>(i), 0, c.outputs[0]);
        dead[r] = 1;
        clear(r);
      }
      set_post_ops(n, post);
    }
    std::vector<Node> kept;
    for (size_t i = 0; i < g_.nodes.size(); ++i)
      if (!dead[i]) kept.push_back(std::move(g_.nodes[i]));
    for (Node& f : flatten) kept.push_back(std::move(f));
    g_.nodes = std::move(kept);
    g_.invalidate_index();
  }

  // The gate node index when `y` feeds exactly gate(y) and Mul(y, that), else -1; gate is
  // Sigmoid or HardSigmoid(alpha 1/6, beta 1/2).
  int gated_by(const std::string& y, const char* gate) {
    if (g_.is_graph_output(y) || g_.use_count(y) != 2) return -1;
    const std::vector<int> r = g_.readers(y);
    if (r.size() != 2) return -1;
    for (int k = 0; k < 2; ++k) {
      const Node& s = g_.nodes[r[k]];
      const Node& mul = g_.nodes[r[1 - k]];
      if (!is_default(s) || s.op_type != gate || !is_default(mul) || mul.op_type != "Mul") continue;
      if (s.op_type == "HardSigmoid" && (std::fabs(s.attr_float("alpha", 0.2f) - 1.f / 6) > 1e-6f ||
                                         s.attr_float("beta", 0.5f) != 0.5f))
        continue;
      const int after = sole_reader(s.outputs[0]);
      if (after != r[1 - k]) continue;
      if ((mul.inputs[0] == y && mul.inputs[1] == s.outputs[0]) ||
          (mul.inputs[1] == y && mul.inputs[0] == s.outputs[0]))
        return r[k];
    }
    return -1;
  }

  // Detaches a fused node (its inputs no longer count as reads).
  // Disconnects node i, which the sweep drops (indices stay put until then).
  void clear(int i) {
    for (size_t k = 0; k < g_.nodes[i].inputs.size(); ++k) g_.set_input(i, k, "");
    for (size_t k = 0; k < g_.nodes[i].outputs.size(); ++k) g_.set_output(i, k, "");
    g_.nodes[i].inputs.clear();
    g_.nodes[i].outputs.clear();
  }

  // ------------------------------------------------------------------ layout
  // The laid-out twin of NCHW value v (ToNhwc or ToBlocked inserted once).
  std::string twin_of(const std::string& v) {
    auto it = twin_.find(v);
    if (it != twin_.end()) return it->second;
    const std::string out = fresh(v + (block_ ? "_blocked" : "_nhwc"));
    Node t;
    t.name = fresh((block_ ? "to_blocked_" : "to_nhwc_") + v);
    t.op_type = block_ ? "ToBlocked" : "ToNhwc";
    t.domain = kDomain;
    t.inputs = {v};
    t.outputs = {out};
    if (block_) t.set_attr_int("block", block_);
    added_.push_back(std::move(t));
    twin_[v] = out;
    return out;
  }

  // unique_name only sees the graph; keep names made in this pass unique as well.
  std::string fresh(const std::string& base) {
    std::string s = g_.unique_name(base);
    for (int k = 1; made_.count(s); ++k) s = g_.unique_name(base + "_" + std::to_string(k));
    made_.insert(s);
    return s;
  }

  // A constant of rank <= 4 broadcast-aligned to rank 4 [n, c, h, w], in the run's layout:
  // channels-last [n, h, w, c]; blocked [n, ceil(c/b), h, w, b] (lanes past c hold `pad`) or
  // [n, 1, h, w, 1] when c == 1 (broadcast over all channels). Its name.
  std::string laid_out_constant(const std::string& v, const Tensor& c, float pad) {
    Shape s = c.shape();
    while (s.size() < 4) s.insert(s.begin(), 1);
    const Tensor src = c.reshaped(s);
    const float* a = src.data<float>();
    const int64_t b = block_ && s[1] > 1 ? block_ : 1;
    const int64_t cb = (s[1] + b - 1) / b;
    Tensor t = block_ ? Tensor(c.dtype(), {s[0], cb, s[2], s[3], b})
                      : Tensor(c.dtype(), {s[0], s[2], s[3], s[1]});
    float* o = t.data<float>();
    std::fill_n(o, t.numel(), pad);
    for (int64_t n = 0; n < s[0]; ++n)
      for (int64_t ch = 0; ch < s[1]; ++ch)
        for (int64_t h = 0; h < s[2]; ++h)
          for (int64_t w = 0; w < s[3]; ++w) {
            const int64_t to = block_ ? (((n * cb + ch / b) * s[2] + h) * s[3] + w) * b + ch % b
                                      : ((n * s[2] + h) * s[3] + w) * s[1] + ch;
            o[to] = a[((n * s[1] + ch) * s[2] + h) * s[3] + w];
          }
    return add_constant(m_, v + (block_ ? "_blocked" : "_nhwc"), t);
  }

  // Channel count (dim 1) of a rank-4 NCHW value when known statically, else -1.
  int64_t nchw_channels(const std::string& v) {
    const std::vector<Dim> d = known_dims(g_, v);
    return d.size() == 4 && d[1].is_static() ? d[1].value : -1;
  }

  // Whether a layout-agnostic node can run in the run's layout: it reads a laid-out value, every
  // other data input is a rank-4 value or a small f32 constant (binary ops). Blocked runs also
  // need every laid-out input to have the same channel count (`channels` gets it; a channel
  // Concat sums them and needs whole blocks), constants of 1 or that many channels, and a Div
  // to divide by a constant (padded lanes must stay finite).
  bool agnostic_candidate(const Node& n, std::vector<size_t>& data, int64_t& channels) {
    const int64_t opset = m_.opset();
    data.clear();
    channels = -1;
    if (is_unary(n))
      data = {0};
    else if (per_tensor_qdq(n))
      data = {0};
    else if (is_binary(n, opset) && n.inputs.size() == 2)
      data = {0, 1};
    else if (is_default(n) && n.op_type == "Concat" && opset >= 4)
      for (size_t i = 0; i < n.inputs.size(); ++i) data.push_back(i);
    else
      return false;
    if (n.outputs.size() != 1) return false;
    const bool concat = n.op_type == "Concat";
    int64_t axis = concat ? n.attr_int("axis", 0) : 0;
    if (axis < 0) axis += 4;
    if (concat && (axis < 0 || axis > 3)) return false;
    bool any = false;
    int64_t sum = 0;
    for (size_t i : data) {
      const std::string& v = n.inputs[i];
      if (v.empty()) return false;
      int64_t ch = -1;
      if (twin_.count(v) && produced_.count(v)) {
        any = true;
        if (block_ && n.op_type == "Div" && i == 1) return false;
        ch = block_ ? channels_.at(v) : 0;
      } else if (const Tensor* c = constant_of(g_, v)) {
        if (concat || c->dtype() != DType::kF32 || c->rank() > 4) return false;
        if (block_ && c->rank() >= 3 && c->dim(c->rank() - 3) != 1) ch = c->dim(c->rank() - 3);
        if (block_ && n.op_type == "Div" && i == 0) return false;
        if (ch < 0) continue;  // broadcast over the channels
      } else {
        if (rank_of(g_, v) != 4 || !f32_or_unknown(g_, v)) return false;
        if (block_ && (n.op_type == "Div" || (ch = nchw_channels(v)) < 0)) return false;
      }
      if (!block_) continue;
      if (concat && axis == 1) {
        if (ch % block_) return false;
        sum += ch;
      } else if (channels >= 0 && ch != channels) {
        return false;
      }
      channels = ch;
    }
    if (concat && axis == 1) channels = sum;
    return any;
  }

  // QuantizeLinear / DequantizeLinear with a constant scalar scale and zero point: element-wise.
  bool per_tensor_qdq(const Node& n) {
    if (!is_default(n) || (n.op_type != "QuantizeLinear" && n.op_type != "DequantizeLinear"))
      return false;
    if (n.inputs.size() < 2 || n.attr_int("block_size", 0) != 0) return false;
    for (size_t i = 1; i < n.inputs.size(); ++i) {
      if (n.inputs[i].empty()) continue;
      const Tensor* c = constant_of(g_, n.inputs[i]);
      if (!c || c->numel() != 1) return false;
    }
    return true;
  }

  // The one place that picks the activation layout of the edgeopt.onednn runs: blocked for f32
  // graphs (oneDNN's native layout for its f32 kernels), channels-last when int8 nodes are
  // present (QConv / QGemm and the int8 pools work on NHWC).
  int64_t choose_block() {
    for (const Node& n : g_.nodes)
      if (n.domain == kDomain && (n.op_type == "QConv" || n.op_type == "QGemm" ||
                                  n.op_type == "QChannelMul" || n.op_type == "QGlobalAveragePool"))
        return 0;
    return activation_block();
  }

  void to_layout() {
    block_ = choose_block();
    const size_t count = g_.nodes.size();
    std::vector<char> converted(count, 0);
    std::unordered_set<std::string> plain_readers;  // laid-out values a Conv reads as NCHW
    for (size_t i = 0; i < count; ++i) {
      Node& n = g_.nodes[i];
      std::vector<size_t> data;
      int64_t channels = 0;
      bool plain_src = false;  // a blocked Conv reading its NCHW input as it is
      if (n.domain == kDomain && n.op_type == "QConv" && rank_of(g_, n.inputs[0]) == 5) {
        continue;  // 3-D: reads and writes NCDHW, channels-last inside (qconv.cpp)
      } else if (n.domain == kDomain && (n.op_type == "Conv" || n.op_type == "QConv")) {
        // Residual inputs follow the bias (Conv) or the output scales (QConv).
        data.push_back(0);
        for (size_t k = n.op_type == "Conv" ? 3 : 4; k < n.inputs.size(); ++k) data.push_back(k);
        if (block_) {
          const Tensor* w = constant_of(g_, n.inputs[1]);
          channels = w->dim(0);
          n.set_attr_int("block", block_);
          // Fewer input channels than a block: oneDNN's jit kernels read them as NCHW (an
          // RGB stem, LeNet's 6-channel conv2); on a padded blocked input oneDNN 2.6 falls
          // back to its reference conv (28 ms instead of 0.1 for LeNet's conv2).
          const int64_t group = n.attr_int("group", 1);
          plain_src = w->dim(1) * group < block_ && (group == 1 || !produced_.count(n.inputs[0]));
          if (plain_src && produced_.count(n.inputs[0])) plain_readers.insert(n.inputs[0]);
        }
      } else if (n.domain == kDomain && n.op_type == "ConvTranspose") {
        data.push_back(0);
        for (size_t k = 3; k < n.inputs.size(); ++k) data.push_back(k);
        if (block_) {
          const Tensor* w = constant_of(g_, n.inputs[1]);
          channels = w->dim(1) * n.attr_int("group", 1);
          n.set_attr_int("block", block_);
        }
      } else if (n.domain == kDomain && n.op_type == "Resize") {
        // Channel-preserving, any lane count: joins the run (channels as its input) or stays
        // NCHW when C is unknown.
        const std::string& x = n.inputs[0];
        channels = produced_.count(x) ? (block_ ? channels_.at(x) : 0) : nchw_channels(x);
        if (block_ && channels < 0) continue;
        n.set_attr_int("channels_last", 1);
        data.push_back(0);
      } else if (n.domain == kDomain && n.op_type == "ChannelShuffle") {
        // Channel-preserving: joins the run its input is in (blocked: when C is known), or
        // shuffles NCHW.
        const std::string& x = n.inputs[0];
        if (!produced_.count(x)) continue;
        if (block_) {
          channels = channels_.at(x);
          n.set_attr_int("channels", channels);
        } else {
          n.set_attr_int("channels_last", 1);
        }
        data.push_back(0);
      } else if (n.domain == kDomain && n.op_type == "QGemm") {
        continue;
      } else if (n.domain == kDomain && n.op_type == "QChannelMul") {
        data = {0, 1};  // both channels-last: x [N, H, W, C], the scales [N, 1, 1, C]
      } else if (n.domain == kDomain && n.op_type == "Lut") {
        // Element-wise on its input alone (input 1 is the table): follows a laid-out input.
        const std::string& x = n.inputs[0];
        if (!twin_.count(x) || !produced_.count(x)) continue;
        data.push_back(0);
        channels = block_ ? channels_.at(x) : 0;
      } else if (n.domain == kDomain) {  // pools
        data.push_back(0);
        if (block_) {
          const std::string& x = n.inputs[0];
          channels = produced_.count(x) ? channels_.at(x) : nchw_channels(x);
          if (channels < 0) {  // C unknown here: the pool stays NCHW
            n.domain.clear();
            continue;
          }
        }
      } else if (agnostic_candidate(n, data, channels)) {
        if (n.op_type == "Concat") {
          int64_t axis = n.attr_int("axis", 0);
          if (axis < 0) axis += 4;
          static const int64_t to_nhwc_axis[4] = {0, 3, 1, 2};
          n.set_attr_int("axis", block_ ? axis : to_nhwc_axis[axis]);
        }
      } else {
        continue;
      }
      converted[i] = 1;
      for (size_t k : data) {
        const std::string v = n.inputs[k];
        if (is_unary(n) && k > 0) continue;
        if (k == 0 && plain_src) continue;
        if (const Tensor* c = constant_of(g_, v)) {
          const float pad = n.op_type == "Div" ? 1.f : 0.f;
          g_.set_input(static_cast<int>(i), k, laid_out_constant(v, *c, pad));
          continue;
        }
        g_.set_input(static_cast<int>(i), k, twin_of(v));
      }
      const std::string y = n.outputs[0];
      const std::string yn = fresh(y + (block_ ? "_blocked" : "_nhwc"));
      g_.set_output(static_cast<int>(i), 0, yn);
      twin_[y] = yn;
      produced_.insert(y);
      channels_[y] = channels;
    }
    // NCHW readers and graph outputs of values now laid out get them back via ToNchw.
    std::unordered_set<std::string> needed = plain_readers;
    for (size_t i = 0; i < count; ++i) {
      if (converted[i]) continue;
      for (const std::string& v : g_.nodes[i].inputs)
        if (produced_.count(v)) needed.insert(v);
    }
    for (const ValueInfo& o : g_.outputs)
      if (produced_.count(o.name)) needed.insert(o.name);
    for (const std::string& v : needed) {
      Node t;
      t.name = fresh("to_nchw_" + v);
      t.op_type = "ToNchw";
      t.domain = kDomain;
      t.inputs = {twin_[v]};
      t.outputs = {v};
      if (block_) t.set_attr_int("channels", channels_[v]);
      if (block_ && resize_writes_nchw(twin_[v], v)) continue;
      added_.push_back(std::move(t));
    }
    for (Node& t : added_) g_.add_node(std::move(t));
  }

  // A blocked Resize whose output only an NCHW reader (or the graph output) needs writes NCHW
  // itself (resize.cpp, attribute nchw_channels): a segmenter's last up-sampling to the full
  // image is the largest tensor of the model, written once instead of blocked and reordered.
  bool resize_writes_nchw(const std::string& twin, const std::string& v) {
    if (g_.use_count(twin) != 0) return false;
    const int p = g_.producer(twin);
    if (p < 0) return false;
    Node& r = g_.nodes[p];
    if (r.domain != kDomain || r.op_type != "Resize") return false;
    g_.set_output(p, 0, v);
    r.set_attr_int("nchw_channels", channels_.at(v));
    return true;
  }

  Model& m_;
  Graph& g_;
  int64_t block_ = 0;                                  // blocked run lanes, 0 for channels-last
  std::unordered_map<std::string, std::string> twin_;  // value → its laid-out twin
  std::unordered_set<std::string> produced_;           // values whose producer was laid out
  std::unordered_map<std::string, int64_t> channels_;  // blocked: their channel count
  std::unordered_set<std::string> made_;
  std::vector<Node> added_;
};

const GraphRewriteRegistrar registrar(GraphRewrite{
    kProvider, "onednn_channels_last", [](Model& model, int) { Rewriter(model).run(); }});

// The x86 fast provider: before XNNPACK wherever both are built (CMake builds it on x86-64).
// Its rewrite wants static shapes (blocked layouts) and BatchNormalization folded into Conv.
EDGEOPT_REGISTER_PROVIDER(kProvider, /*priority=*/0, /*default_here=*/true, /*fallback=*/false,
                          {"identity_elimination", "shape_folding", "constant_folding",
                           "conv_bn_fold"});

}  // namespace
}  // namespace edgeopt::rt::onednn
