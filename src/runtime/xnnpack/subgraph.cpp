// edgeopt.xnnpack.Subgraph: runs a run of collapsed nodes (rewrite.cpp) as one XNNPACK
// runtime (XNNPACK 2022 subgraph API: xnn_define_* → xnn_create_runtime_v2 → setup → invoke).
//
// Layout: XNNPACK is NHWC. Rank-4 values inside the subgraph are NHWC; rank-4 inputs and
// outputs are converted NCHW ↔ NHWC in scratch memory at the boundary (this XNNPACK version
// has no transpose node). Other ranks are passed as they are.
//
// QDQ int8: a DequantizeLinear of an int8 activation is an alias of the int8 value (a float
// copy is made only for a float reader); a Conv, Gemm, MatMul, GlobalAveragePool, MaxPool or
// Flatten reading such aliases whose (clamped) result only a QuantizeLinear reads runs as
// XNNPACK's int8 operator writing the QuantizeLinear's output (qc8: int8 weights, one scale per
// output channel; Gemm and MatMul as 1x1 convolutions for that). Anything else runs in float,
// on dequantized weights. uint8 activations are XNNPACK's int8 ones (quant.h).
// Add and Mul stay in float (convert, add, convert): this XNNPACK's int8 add rescales its
// operands with fixed-point multipliers whose rounding moves more results by a step. On the FX
// int8 ResNet-18 (64x64, 8 inputs; tests/arm64), logits within one step of the reference
// provider's: 87.3% with the int8 add, 94.2% with the float one (ONNX Runtime: 94.2%).
//
// One runtime is built per set of input shapes (in infer(), when the session plans) and kept,
// so switching between planned shapes does not rebuild. Weights are repacked into XNNPACK's
// layouts once per runtime and owned by it.
#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "common.h"
#include "quant.h"
#include "runtime/kernel.h"

namespace edgeopt::rt::xnnpack {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

std::atomic<int64_t> int8_defined{0};

void check(xnn_status s, const Node& n, const char* what) {
  if (s != xnn_status_success)
    fail_unsupported("node ", n.describe(), ": XNNPACK ", what, " failed (status ",
                     static_cast<int>(s), ")");
}

void init_xnnpack() {
  static std::once_flag once;
  static xnn_status status = xnn_status_success;
  std::call_once(once, [] { status = xnn_initialize(nullptr); });
  if (status != xnn_status_success)
    fail_unsupported("XNNPACK cannot initialize on this CPU (status ", static_cast<int>(status),
                     ")");
}

size_t align64(size_t b) { return (b + 63) / 64 * 64; }

// NCHW [n, c, h, w] dims → NHWC dims, and back.
std::vector<size_t> to_nhwc(const Shape& s) {
  return {size_t(s[0]), size_t(s[2]), size_t(s[3]), size_t(s[1])};
}
Shape from_nhwc(const std::vector<size_t>& d) {
  return {int64_t(d[0]), int64_t(d[3]), int64_t(d[1]), int64_t(d[2])};
}

// dst[n][hw][c] = src[n][c][hw]
template <typename T>
void nchw_to_nhwc(const T* src, T* dst, int64_t n, int64_t c, int64_t hw) {
  for (int64_t b = 0; b < n; ++b, src += c * hw, dst += c * hw)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < hw; ++p) dst[p * c + ch] = src[ch * hw + p];
}
// dst[n][c][hw] = src[n][hw][c]
template <typename T>
void nhwc_to_nchw(const T* src, T* dst, int64_t n, int64_t c, int64_t hw) {
  for (int64_t b = 0; b < n; ++b, src += c * hw, dst += c * hw)
    for (int64_t p = 0; p < hw; ++p)
      for (int64_t ch = 0; ch < c; ++ch) dst[ch * hw + p] = src[p * c + ch];
}
// uint8 ↔ XNNPACK's int8 (q − 128), in place.
void flip_sign(uint8_t* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] ^= 0x80;
}

// Moves one boundary tensor between ONNX's form (NCHW, uint8) and XNNPACK's (NHWC, int8).
void to_xnnpack(const Tensor& t, void* dst, bool nhwc, bool flip) {
  const int64_t hw = nhwc ? t.dim(2) * t.dim(3) : 0;
  if (t.dtype() == DType::kF32) {
    nchw_to_nhwc(t.data<float>(), static_cast<float*>(dst), t.dim(0), t.dim(1), hw);
    return;
  }
  auto* d = static_cast<uint8_t*>(dst);
  if (nhwc)
    nchw_to_nhwc(static_cast<const uint8_t*>(t.raw()), d, t.dim(0), t.dim(1), hw);
  else
    std::memcpy(d, t.raw(), t.nbytes());
  if (flip) flip_sign(d, t.numel());
}
void from_xnnpack(void* src, Tensor& t, bool nhwc, bool flip) {
  if (t.dtype() == DType::kF32) {
    nhwc_to_nchw(static_cast<const float*>(src), t.data<float>(), t.dim(0), t.dim(1),
                 t.dim(2) * t.dim(3));
    return;
  }
  auto* s = static_cast<uint8_t*>(src);
  if (flip) flip_sign(s, t.numel());
  if (nhwc)
    nhwc_to_nchw(s, static_cast<uint8_t*>(t.raw()), t.dim(0), t.dim(1), t.dim(2) * t.dim(3));
  else
    std::memcpy(t.raw(), s, t.nbytes());
}

struct Value {
  uint32_t id = XNN_INVALID_VALUE_ID;
  std::vector<size_t> dims;  // in XNNPACK's order (NHWC when nhwc)
  bool nhwc = false;
  bool quantized = false;  // XNNPACK qint8 with parameters q (else fp32)
  ActQuant q;
};

// One XNNPACK runtime for one set of input shapes.
struct Built {
  std::vector<Shape> key;
  xnn_runtime_t runtime = nullptr;
  // Static data (f32, or int8 / int32 in 4-byte words); must outlive the runtime.
  std::vector<std::vector<float>> weights;
  std::vector<bool> packed;  // per weights entry: a conv or fc filter/bias the runtime packs
  std::vector<std::vector<float>> channel_scales;  // of int8 filters and int32 biases
  std::vector<Shape> out_shapes;                   // ONNX (NCHW) shapes of the node's outputs
  std::vector<DType> out_dtypes;
  std::vector<bool> in_nhwc, out_nhwc;  // converted at the boundary
  std::vector<bool> in_flip, out_flip;  // uint8 at the boundary
  std::vector<size_t> in_off, out_off;  // scratch offsets of converted tensors
  size_t scratch = 0;
  ~Built() {
    if (runtime) xnn_delete_runtime(runtime);
  }
};

// Output spatial extent and the begin/end padding of one axis (ONNX Conv/pool semantics).
struct Axis {
  int64_t out, pad_begin, pad_end;
};
Axis spatial(const Node& n, int axis, int64_t in, int64_t k, int64_t stride, int64_t dilation) {
  const int64_t ek = (k - 1) * dilation + 1;
  const std::string ap = n.attr_string("auto_pad", "NOTSET");
  int64_t b = 0, e = 0;
  if (ap == "SAME_UPPER" || ap == "SAME_LOWER") {
    const int64_t out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>(0, (out - 1) * stride + ek - in);
    b = ap == "SAME_UPPER" ? total / 2 : total - total / 2;
    e = total - b;
  } else if (ap == "NOTSET") {
    const std::vector<int64_t> pads = n.attr_ints("pads", {0, 0, 0, 0});
    b = pads[axis];
    e = pads[axis + 2];
  }
  if (b < 0 || e < 0) fail_input("node ", n.describe(), ": negative pads");
  const int64_t span = in + b + e - ek;
  if (span < 0) fail_input("node ", n.describe(), ": window larger than the padded input");
  return {span / stride + 1, b, e};
}

class SubgraphKernel : public NodeKernel {
 public:
  explicit SubgraphKernel(const KernelInit& init) : NodeKernel(init) {
    init_xnnpack();
    const Attribute* a = init.node.attr(kBodyAttr);
    if (!a || !a->g) fail_input("node ", init.node.describe(), ": no body graph");
    body_ = a->g;
    opset_ = init.node.attr_int(kOpsetAttr, 13);
    // Copies share the data (the session's constants vector may move while loading).
    for (size_t i = 0; i < init.constants.size(); ++i)
      if (init.constants[i]) constants_[init.node.inputs[i]] = *init.constants[i];
    if (init.threads > 1) pool_ = pthreadpool_create(static_cast<size_t>(init.threads));
  }
  ~SubgraphKernel() override {
    built_.clear();  // runtimes before the thread pool they use
    if (pool_) pthreadpool_destroy(pool_);
  }

  void infer(InferContext& ctx) override {
    std::vector<Shape> key;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      if (constants_.count(node_.inputs[i])) continue;
      const DType dt = ctx.dtype(i);
      if (dt != DType::kF32 && dt != DType::kU8 && dt != DType::kI8)
        fail_input("node ", node_.describe(), ": input '", node_.inputs[i],
                   "' must be f32, uint8 or int8");
      key.push_back(ctx.shape(i));
    }
    cur_ = nullptr;
    for (auto& b : built_)
      if (b->key == key) cur_ = b.get();
    if (!cur_) {
      if (built_.size() >= 8) built_.erase(built_.begin());
      built_.push_back(build(ctx, key));
      cur_ = built_.back().get();
    }
    for (size_t o = 0; o < cur_->out_shapes.size(); ++o)
      ctx.set_output(o, cur_->out_dtypes[o], cur_->out_shapes[o]);
    ctx.request_scratch(cur_->scratch);
  }

  // Constant inputs are read from constants_ only (to build).
  bool owns_constant(size_t input) const override {
    return input < node_.inputs.size() && constants_.count(node_.inputs[input]);
  }
  void input_shapes_fixed() override { shapes_fixed_ = true; }

  void run(RunContext& ctx) override {
    Built& b = *cur_;
    auto* scratch = static_cast<uint8_t*>(ctx.scratch);
    std::vector<xnn_external_value> ext;
    uint32_t id = 0;
    for (size_t i = 0; i < node_.inputs.size(); ++i) {
      if (constants_.count(node_.inputs[i])) continue;
      const Tensor& t = ctx.input(i);
      void* p = const_cast<void*>(t.raw());
      if (b.in_nhwc[id] || b.in_flip[id]) {
        p = scratch + b.in_off[id];
        to_xnnpack(t, p, b.in_nhwc[id], b.in_flip[id]);
      }
      ext.push_back({id++, p});
    }
    const uint32_t first_out = id;
    for (size_t o = 0; o < b.out_shapes.size(); ++o) {
      void* p = ctx.output(o).raw();
      if (b.out_nhwc[o] || b.out_flip[o]) p = scratch + b.out_off[o];
      ext.push_back({first_out + static_cast<uint32_t>(o), p});
    }
    check(xnn_setup_runtime(b.runtime, ext.size(), ext.data()), node_, "setup");
    check(xnn_invoke_runtime(b.runtime), node_, "invoke");
    for (size_t o = 0; o < b.out_shapes.size(); ++o)
      if (b.out_nhwc[o] || b.out_flip[o])
        from_xnnpack(scratch + b.out_off[o], ctx.output(o), b.out_nhwc[o], b.out_flip[o]);
  }

 private:
  // ------------------------------------------------------------------ subgraph building
  struct Builder {
    xnn_subgraph_t sg = nullptr;
    Built* built = nullptr;
    std::unordered_map<std::string, Value> values;
    std::unordered_map<std::string, uint32_t> out_ext;  // subgraph output → external id
    // DequantizeLinear of an activation: its output → its int8 input (an alias, see value()).
    std::unordered_map<std::string, std::string> deq;
    // DequantizeLinear of constants: its output → the quantized data, and its real values once
    // a float operator asked for them.
    std::unordered_map<std::string, StaticQuant> statics;
    std::unordered_map<std::string, Tensor> dequantized;
    ~Builder() {
      if (sg) xnn_delete_subgraph(sg);
    }
  };

  std::unique_ptr<Built> build(InferContext& ctx, const std::vector<Shape>& key) {
    auto built = std::make_unique<Built>();
    built->key = key;
    Builder B;
    B.built = built.get();
    const size_t n_out = node_.outputs.size();
    const uint32_t n_ext = static_cast<uint32_t>(key.size() + n_out);
    check(xnn_create_subgraph(n_ext, 0, &B.sg), node_, "create_subgraph");
    uint32_t id = 0;
    size_t scratch = 0;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const std::string& name = node_.inputs[i];
      if (constants_.count(name)) continue;
      const Shape& s = ctx.shape(i);
      if (s.empty() || s.size() > XNN_MAX_TENSOR_DIMS)
        fail_unsupported("node ", node_.describe(), ": input '", name, "' of rank ", s.size());
      Value v;
      v.nhwc = s.size() == 4;
      v.dims = v.nhwc ? to_nhwc(s) : std::vector<size_t>(s.begin(), s.end());
      const DType dt = ctx.dtype(i);
      if (dt == DType::kF32) {
        check(xnn_define_tensor_value(B.sg, xnn_datatype_fp32, v.dims.size(), v.dims.data(),
                                      nullptr, id, XNN_VALUE_FLAG_EXTERNAL_INPUT, &v.id),
              node_, "define input");
      } else {
        // An 8-bit input is read by DequantizeLinear nodes with one set of parameters (the
        // rewrite's rule): the value takes theirs.
        v.quantized = true;
        v.q = reader_quant(name, dt);
        check(xnn_define_quantized_tensor_value(B.sg, xnn_datatype_qint8, v.q.signed_zero_point(),
                                                v.q.scale, v.dims.size(), v.dims.data(), nullptr,
                                                id, XNN_VALUE_FLAG_EXTERNAL_INPUT, &v.id),
              node_, "define input");
      }
      const bool flip = dt == DType::kU8;
      built->in_nhwc.push_back(v.nhwc);
      built->in_flip.push_back(flip);
      built->in_off.push_back(scratch);
      if (v.nhwc || flip) scratch += align64(shape_numel(s) * dtype_size(dt));
      B.values[name] = v;
      ++id;
    }
    for (size_t o = 0; o < n_out; ++o) B.out_ext[node_.outputs[o]] = id + static_cast<uint32_t>(o);

    // Relu/Clip that alone read a value computed by an op with output bounds fold into it.
    const std::vector<Node>& nodes = body_->nodes;
    std::unordered_map<std::string, int> uses;
    for (const Node& n : nodes)
      for (const std::string& v : n.inputs) uses[v]++;
    std::unordered_set<std::string> outs(node_.outputs.begin(), node_.outputs.end());
    std::vector<int> fused_into(nodes.size(), -1);  // clamp node → producer
    std::unordered_map<std::string, int> prod;
    for (size_t k = 0; k < nodes.size(); ++k) {
      const Node& n = nodes[k];
      if ((n.op_type == "Relu" || n.op_type == "Clip") && prod.count(n.inputs[0]) &&
          uses[n.inputs[0]] == 1 && !outs.count(n.inputs[0]))
        fused_into[k] = prod[n.inputs[0]];
      if (has_bounds(n)) prod[n.outputs[0]] = static_cast<int>(k);
    }
    std::vector<std::pair<float, float>> bounds(nodes.size(), {-kInf, kInf});
    std::vector<std::string> final_out(nodes.size());
    for (size_t k = 0; k < nodes.size(); ++k) final_out[k] = nodes[k].outputs[0];
    for (size_t k = 0; k < nodes.size(); ++k)
      if (fused_into[k] >= 0) {
        bounds[fused_into[k]] = clamp_bounds(nodes[k]);
        final_out[fused_into[k]] = nodes[k].outputs[0];
      }

    // DequantizeLinear nodes define nothing here: a static one's data is read by the node that
    // uses it, an activation's int8 value is read as it is (or converted for a float reader,
    // see value()); only one that is an output of the subgraph is converted where it stands.
    std::vector<char> done(nodes.size(), 0);
    std::unordered_map<std::string, int> reader;  // value → its last reader in the body
    for (size_t k = 0; k < nodes.size(); ++k) {
      const Node& n = nodes[k];
      for (const std::string& v : n.inputs) reader[v] = static_cast<int>(k);
      if (n.op_type != "DequantizeLinear") continue;
      if (constants_.count(n.inputs[0])) {
        if (auto q = static_quant(n, lookup()))
          B.statics.emplace(n.outputs[0], *q);
        else
          fail_unsupported("node ", n.describe(), ": not a DequantizeLinear XNNPACK can take");
        done[k] = 1;
      } else {
        B.deq[n.outputs[0]] = n.inputs[0];
        done[k] = !outs.count(n.outputs[0]);
      }
    }
    // The QuantizeLinear that alone reads node k's (clamped) result: the node may compute
    // straight into its int8 output.
    auto quantize_after = [&](size_t k) -> int {
      const std::string& v = final_out[k];
      if (outs.count(v) || uses[v] != 1) return -1;
      const int r = reader[v];
      return nodes[r].op_type == "QuantizeLinear" ? r : -1;
    };

    for (size_t k = 0; k < nodes.size(); ++k) {
      if (fused_into[k] >= 0 || done[k]) continue;
      const int q = quantize_after(k);
      const std::optional<ActQuant> yq = q >= 0 ? act_quant(nodes[q], lookup()) : std::nullopt;
      if (yq && define_int8(B, nodes[k], nodes[q].outputs[0], *yq, bounds[k])) {
        done[q] = 1;
        ++int8_defined;
      } else {
        define(B, nodes[k], final_out[k], bounds[k]);
      }
      // With no other shape to come, a constant read by this node alone has been copied into
      // the node's static data: let it go now, not after the whole network is defined.
      if (shapes_fixed_)
        for (const std::string& v : nodes[k].inputs) {
          auto c = constants_.find(v);
          if (c != constants_.end() && uses[v] == 1)
            c->second = Tensor::meta(c->second.dtype(), c->second.shape());
        }
    }

    for (size_t o = 0; o < n_out; ++o) {
      auto it = B.values.find(node_.outputs[o]);
      if (it == B.values.end())
        throw Error(ErrorKind::kInternal,
                    "node " + node_.describe() + ": output " + node_.outputs[o] + " not defined");
      const Value& v = it->second;
      const DType dt = v.quantized ? v.q.dtype : DType::kF32;
      const bool flip = dt == DType::kU8;
      built->out_nhwc.push_back(v.nhwc);
      built->out_flip.push_back(flip);
      built->out_dtypes.push_back(dt);
      built->out_shapes.push_back(v.nhwc ? from_nhwc(v.dims) : Shape(v.dims.begin(), v.dims.end()));
      built->out_off.push_back(scratch);
      if (v.nhwc || flip)
        scratch += align64(shape_numel(built->out_shapes.back()) * dtype_size(dt));
    }
    built->scratch = scratch;
    check(xnn_create_runtime_v2(B.sg, pool_, 0, &built->runtime), node_, "create_runtime");
    // Conv and fc operators pack their filter and bias when the runtime is created and never
    // read the static data again; only the statics other ops read (binary operands) stay.
    for (size_t i = 0; i < built->weights.size(); ++i)
      if (built->packed[i]) std::vector<float>().swap(built->weights[i]);
    // With no other shape to come, the constants (read only to build) go too.
    if (shapes_fixed_)
      for (auto& [name, t] : constants_) t = Tensor::meta(t.dtype(), t.shape());
    return built;
  }

  static bool has_bounds(const Node& n) {
    const std::string& op = n.op_type;
    return op == "Conv" || op == "Gemm" || op == "MatMul" || op == "MaxPool" ||
           op == "AveragePool" || op == "GlobalAveragePool" || op == "Add" || op == "Mul";
  }

  // [lo, hi] of a Relu or Clip.
  std::pair<float, float> clamp_bounds(const Node& n) const {
    if (n.op_type == "Relu") return {0.f, kInf};
    float lo = -kInf, hi = kInf;
    if (opset_ < 11) {
      lo = n.attr_float("min", lo);
      hi = n.attr_float("max", hi);
    } else {
      if (n.inputs.size() > 1 && !n.inputs[1].empty()) lo = constant(n, 1).data<float>()[0];
      if (n.inputs.size() > 2 && !n.inputs[2].empty()) hi = constant(n, 2).data<float>()[0];
    }
    return {lo, hi};
  }

  const Tensor& constant(const Node& n, size_t i) const {
    auto it = constants_.find(n.input(i));
    if (it == constants_.end())
      fail_unsupported("node ", n.describe(), ": input '", n.input(i), "' must be a constant");
    return it->second;
  }

  // A constant input of a float operator: an initializer, or the real values of a static
  // DequantizeLinear.
  const Tensor& constant(Builder& B, const Node& n, size_t i) const {
    auto s = B.statics.find(n.input(i));
    if (s == B.statics.end()) return constant(n, i);
    auto d = B.dequantized.find(s->first);
    if (d == B.dequantized.end()) d = B.dequantized.emplace(s->first, dequantize(s->second)).first;
    return d->second;
  }
  bool is_constant(const Builder& B, const std::string& v) const {
    return constants_.count(v) || B.statics.count(v);
  }

  ConstantLookup lookup() const {
    return [this](const std::string& v) -> const Tensor* {
      auto it = constants_.find(v);
      return it == constants_.end() ? nullptr : &it->second;
    };
  }

  // The parameters of the DequantizeLinear nodes that read the 8-bit subgraph input `name`.
  ActQuant reader_quant(const std::string& name, DType dt) const {
    for (const Node& n : body_->nodes)
      if (n.op_type == "DequantizeLinear" && n.inputs[0] == name)
        if (std::optional<ActQuant> q = act_quant(n, lookup()); q && q->dtype == dt) return *q;
    fail_unsupported("node ", node_.describe(), ": 8-bit input '", name,
                     "' is not read by a DequantizeLinear");
  }

  // A float input of a node. A dequantized activation is converted from its int8 value here,
  // the first time a float operator reads it.
  const Value& value(Builder& B, const Node& n, size_t i) {
    const std::string& name = n.input(i);
    auto it = B.values.find(name);
    if (it != B.values.end()) return it->second;
    auto d = B.deq.find(name);
    if (d == B.deq.end() || !B.values.count(d->second))
      throw Error(ErrorKind::kInternal,
                  "node " + n.describe() + ": value " + name + " is not in the subgraph");
    const Value src = B.values.at(d->second);
    const uint32_t y = define_out(B, n, name, src.dims, src.nhwc);
    check(xnn_define_convert(B.sg, src.id, y, 0), n, "convert");
    return B.values.at(name);
  }

  // The int8 value a node's input dequantizes, or nullptr when it is not such an input.
  const Value* int8_input(Builder& B, const Node& n, size_t i) const {
    auto d = B.deq.find(n.input(i));
    if (d == B.deq.end()) return nullptr;
    auto it = B.values.find(d->second);
    return it == B.values.end() || !it->second.quantized ? nullptr : &it->second;
  }

  // Defines the output value `name` (external when it is an output of the Subgraph node):
  // float, or XNNPACK int8 with the parameters q.
  uint32_t define_out(Builder& B, const Node& n, const std::string& name, std::vector<size_t> dims,
                      bool nhwc, const ActQuant* q = nullptr) {
    Value v;
    v.dims = std::move(dims);
    v.nhwc = nhwc;
    auto it = B.out_ext.find(name);
    const uint32_t ext = it == B.out_ext.end() ? XNN_INVALID_VALUE_ID : it->second;
    const uint32_t flags = it == B.out_ext.end() ? 0 : XNN_VALUE_FLAG_EXTERNAL_OUTPUT;
    if (q) {
      v.quantized = true;
      v.q = *q;
      check(xnn_define_quantized_tensor_value(B.sg, xnn_datatype_qint8, q->signed_zero_point(),
                                              q->scale, v.dims.size(), v.dims.data(), nullptr, ext,
                                              flags, &v.id),
            n, "define value");
    } else {
      check(xnn_define_tensor_value(B.sg, xnn_datatype_fp32, v.dims.size(), v.dims.data(), nullptr,
                                    ext, flags, &v.id),
            n, "define value");
    }
    B.values[name] = v;
    return v.id;
  }
  // An internal int8 value (between two XNNPACK operators of one node).
  uint32_t define_int8_temp(Builder& B, const Node& n, const std::vector<size_t>& dims,
                            const ActQuant& q) {
    uint32_t id = 0;
    check(xnn_define_quantized_tensor_value(B.sg, xnn_datatype_qint8, q.signed_zero_point(),
                                            q.scale, dims.size(), dims.data(), nullptr,
                                            XNN_INVALID_VALUE_ID, 0, &id),
          n, "define value");
    return id;
  }

  // `packed`: a filter or bias of a conv or fc (copied into the operator's own packed buffer).
  uint32_t define_static(Builder& B, const Node& n, std::vector<size_t> dims,
                         std::vector<float> data, bool packed = false) {
    B.built->weights.push_back(std::move(data));
    B.built->packed.push_back(packed);
    uint32_t id = 0;
    check(xnn_define_tensor_value(B.sg, xnn_datatype_fp32, dims.size(), dims.data(),
                                  B.built->weights.back().data(), XNN_INVALID_VALUE_ID, 0, &id),
          n, "define constant");
    return id;
  }

  static std::vector<float> floats(const Tensor& t) {
    return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
  }

  void define(Builder& B, const Node& n, const std::string& out, std::pair<float, float> bounds) {
    const std::string& op = n.op_type;
    const auto [lo, hi] = bounds;
    if (op == "Conv") return define_conv(B, n, out, lo, hi);
    if (op == "MaxPool" || op == "AveragePool")
      return define_pool(B, n, out, lo, hi, value(B, n, 0), nullptr);
    if (op == "QuantizeLinear") {
      const Value x = value(B, n, 0);
      const ActQuant q = *act_quant(n, lookup());  // the rewrite took it: parameters are known
      const uint32_t y = define_out(B, n, out, x.dims, x.nhwc, &q);
      check(xnn_define_convert(B.sg, x.id, y, 0), n, "convert");
      return;
    }
    if (op == "DequantizeLinear") {  // an output of the subgraph (others are aliases)
      const Value x = value(B, n, 0);
      const uint32_t y = define_out(B, n, out, x.dims, x.nhwc);
      check(xnn_define_convert(B.sg, x.id, y, 0), n, "convert");
      return;
    }
    if (op == "Gemm" || op == "MatMul") return define_fc(B, n, out, lo, hi);
    if (op == "Add" || op == "Mul") return define_binary(B, n, out, lo, hi);
    const Value x = value(B, n, 0);
    if (op == "GlobalAveragePool") {
      const uint32_t y = define_out(B, n, out, {x.dims[0], 1, 1, x.dims[3]}, true);
      check(xnn_define_global_average_pooling_2d(B.sg, lo, hi, x.id, y, 0), n,
            "global_average_pooling_2d");
      return;
    }
    if (op == "Flatten") {
      if (!x.nhwc || x.dims[1] != 1 || x.dims[2] != 1)
        fail_unsupported("node ", n.describe(), ": only [N, C, 1, 1] inputs are taken");
      const std::vector<size_t> d = {x.dims[0], x.dims[3]};
      const uint32_t y = define_out(B, n, out, d, false);
      check(xnn_define_static_reshape(B.sg, d.size(), d.data(), x.id, y, 0), n, "reshape");
      return;
    }
    const uint32_t y = define_out(B, n, out, x.dims, x.nhwc);
    xnn_status s = xnn_status_success;
    if (op == "Relu" || op == "Clip") {
      const auto [clo, chi] = clamp_bounds(n);
      s = xnn_define_clamp(B.sg, clo, chi, x.id, y, 0);
    } else if (op == "Sigmoid") {
      s = xnn_define_sigmoid(B.sg, x.id, y, 0);
    } else if (op == "HardSwish") {
      s = xnn_define_hardswish(B.sg, x.id, y, 0);
    } else if (op == "LeakyRelu") {
      s = xnn_define_leaky_relu(B.sg, n.attr_float("alpha", 0.01f), x.id, y, 0);
    } else if (op == "Elu") {
      s = xnn_define_elu(B.sg, n.attr_float("alpha", 1.f), x.id, y, 0);
    } else {
      throw Error(ErrorKind::kInternal, "node " + n.describe() + ": not an XNNPACK op");
    }
    check(s, n, op.c_str());
  }

  // ------------------------------------------------------------------ int8 operators
  // Node n reads dequantized int8 activations, and a QuantizeLinear with parameters yq alone
  // reads its result (see build()). Defines n as XNNPACK's int8 operator writing that
  // QuantizeLinear's output `out` and returns true, or returns false having defined nothing (n
  // then runs in float).
  bool define_int8(Builder& B, const Node& n, const std::string& out, const ActQuant& yq,
                   std::pair<float, float> bounds) {
    const std::string& op = n.op_type;
    const auto [lo, hi] = bounds;
    const Value* x = int8_input(B, n, 0);
    if (!x) return false;
    if (op == "Conv" || op == "Gemm" || op == "MatMul")
      return define_int8_conv(B, n, *x, yq, out, lo, hi);
    if (op == "GlobalAveragePool") {
      const float r = x->q.scale / yq.scale;
      if (!x->nhwc || r < 0x1.0p-8f || r >= 256.f) return false;
      const Value a = *x;
      const uint32_t y = define_out(B, n, out, {a.dims[0], 1, 1, a.dims[3]}, true, &yq);
      check(xnn_define_global_average_pooling_2d(B.sg, lo, hi, a.id, y, 0), n,
            "global_average_pooling_2d");
      return true;
    }
    // Max pooling and Flatten move values without arithmetic: only with unchanged parameters.
    if (!(x->q == yq)) return false;
    if (op == "MaxPool") {
      define_pool(B, n, out, lo, hi, *x, &yq);
      return true;
    }
    if (op == "Flatten" && x->nhwc && x->dims[1] == 1 && x->dims[2] == 1 && lo == -kInf &&
        hi == kInf) {
      const Value a = *x;
      const std::vector<size_t> d = {a.dims[0], a.dims[3]};
      const uint32_t y = define_out(B, n, out, d, false, &yq);
      check(xnn_define_static_reshape(B.sg, d.size(), d.data(), a.id, y, 0), n, "reshape");
      return true;
    }
    return false;
  }

  // Conv, and Gemm / MatMul as a 1x1 convolution of [P, 1, 1, K], with int8 weights (zero
  // points 0, one scale per output channel or per tensor): XNNPACK's qc8 convolution. Its
  // int32 bias is in units of input scale × weight scale, as in ONNX's QLinearConv.
  bool define_int8_conv(Builder& B, const Node& n, const Value& x, const ActQuant& yq,
                        const std::string& out, float lo, float hi) {
    auto ws = B.statics.find(n.input(1));
    if (ws == B.statics.end()) return false;
    const StaticQuant& w = ws->second;
    const Tensor& wd = *w.data;
    if (wd.dtype() != DType::kI8 || !w.zero_points_are_zero()) return false;
    const bool conv = n.op_type == "Conv";
    // Output channels M, filter OHWI dims, and where w[o][c][y][x] (conv) or w[k][o] /
    // w[o][k] (Gemm, MatMul) lives.
    int64_t M = 0, cg = 0, kh = 1, kw = 1, group = 1, K = 0;
    bool trans = false;  // Gemm's transB: w is [N, K]
    if (conv) {
      if (wd.rank() != 4 || !x.nhwc) return false;
      M = wd.dim(0), cg = wd.dim(1), kh = wd.dim(2), kw = wd.dim(3);
      group = n.attr_int("group", 1);
      if (w.per_axis() && w.axis != 0) return false;
      if (cg * group != static_cast<int64_t>(x.dims[3]) || M % group != 0) return false;
    } else {
      if (wd.rank() != 2 || x.nhwc) return false;
      const bool gemm = n.op_type == "Gemm";
      if (gemm && (n.attr_int("transA", 0) != 0 || n.attr_float("alpha", 1.f) != 1.f ||
                   n.attr_float("beta", 1.f) != 1.f))
        return false;
      trans = gemm && n.attr_int("transB", 0) != 0;
      K = trans ? wd.dim(1) : wd.dim(0);
      M = trans ? wd.dim(0) : wd.dim(1);
      cg = K;
      if (w.per_axis() && w.axis != (trans ? 0 : 1)) return false;
      if (x.dims.back() != static_cast<size_t>(K)) return false;
    }
    // Weight and bias scales, and the requantization scale XNNPACK takes (2^-32 ≤ r < 256).
    std::vector<float> w_scale(M), b_scale(M);
    for (int64_t o = 0; o < M; ++o) {
      w_scale[o] = w.scale_at(o);
      b_scale[o] = x.q.scale * w_scale[o];
      const float r = b_scale[o] / yq.scale;
      if (!(w_scale[o] > 0) || !(r >= 0x1.0p-32f && r < 256.f)) return false;
    }
    std::vector<int32_t> bias(M, 0);
    if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
      auto bs = B.statics.find(n.inputs[2]);
      // Taken as it is when its scales are input scale × weight scale (QDQ exporters write
      // that), else requantized from its real values.
      bool exact = bs != B.statics.end() && bs->second.data->dtype() == DType::kI32 &&
                   bs->second.zero_points_are_zero() && bs->second.data->numel() == M;
      for (int64_t o = 0; exact && o < M; ++o) exact = bs->second.scale_at(o) == b_scale[o];
      if (exact) {
        std::copy_n(bs->second.data->data<int32_t>(), M, bias.data());
      } else {
        const Tensor& b = constant(B, n, 2);  // real values: f32 or another scale
        if (b.dtype() != DType::kF32 || (b.numel() != M && b.numel() != 1)) return false;
        for (int64_t o = 0; o < M; ++o) {
          const double v =
              std::nearbyint(double(b.data<float>()[b.numel() == 1 ? 0 : o]) / double(b_scale[o]));
          bias[o] = static_cast<int32_t>(std::clamp(v, -2147483648.0, 2147483647.0));
        }
      }
    }
    const bool depthwise = conv && group > 1 && group == static_cast<int64_t>(x.dims[3]) && cg == 1;
    // The filter, int8: OHWI [M, kh, kw, cg], or [1, kh, kw, M] for depthwise.
    std::vector<float> words((M * kh * kw * cg + 3) / 4 + 4);
    auto* f = reinterpret_cast<int8_t*>(words.data());
    const int8_t* src = wd.data<int8_t>();
    for (int64_t o = 0; o < M; ++o)
      for (int64_t c = 0; c < cg; ++c)
        for (int64_t p = 0; p < kh * kw; ++p) {
          const int64_t from = conv ? (o * cg + c) * kh * kw + p : (trans ? o * K + c : c * M + o);
          f[depthwise ? p * M + o : (o * kh * kw + p) * cg + c] = src[from];
        }
    const std::vector<size_t> fdims =
        depthwise ? std::vector<size_t>{1, size_t(kh), size_t(kw), size_t(M)}
                  : std::vector<size_t>{size_t(M), size_t(kh), size_t(kw), size_t(cg)};
    const uint32_t fid = define_int8_static(B, n, xnn_datatype_qcint8, fdims, depthwise ? 3 : 0,
                                            std::move(words), std::move(w_scale));
    std::vector<float> bwords(M + 4);
    std::memcpy(bwords.data(), bias.data(), M * sizeof(int32_t));
    const uint32_t bid = define_int8_static(B, n, xnn_datatype_qcint32, {size_t(M)}, 0,
                                            std::move(bwords), std::move(b_scale));
    if (!conv) {
      // [.., K] → [P, 1, 1, K] → 1x1 convolution → [P, 1, 1, M] → [.., M].
      size_t P = 1;
      for (size_t d = 0; d + 1 < x.dims.size(); ++d) P *= x.dims[d];
      const std::vector<size_t> in4 = {P, 1, 1, size_t(K)}, out4 = {P, 1, 1, size_t(M)};
      const uint32_t xi = define_int8_temp(B, n, in4, x.q);
      check(xnn_define_static_reshape(B.sg, in4.size(), in4.data(), x.id, xi, 0), n, "reshape");
      const uint32_t yi = define_int8_temp(B, n, out4, yq);
      check(xnn_define_convolution_2d(B.sg, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, K, M, lo, hi, xi, fid,
                                      bid, yi, 0),
            n, "convolution_2d");
      std::vector<size_t> d = x.dims;
      d.back() = M;
      const uint32_t y = define_out(B, n, out, d, false, &yq);
      check(xnn_define_static_reshape(B.sg, d.size(), d.data(), yi, y, 0), n, "reshape");
      return true;
    }
    const std::vector<int64_t> st = n.attr_ints("strides", {1, 1});
    const std::vector<int64_t> dl = n.attr_ints("dilations", {1, 1});
    const Axis ah = spatial(n, 0, x.dims[1], kh, st[0], dl[0]);
    const Axis aw = spatial(n, 1, x.dims[2], kw, st[1], dl[1]);
    const uint32_t y =
        define_out(B, n, out, {x.dims[0], size_t(ah.out), size_t(aw.out), size_t(M)}, true, &yq);
    if (depthwise)
      check(xnn_define_depthwise_convolution_2d(B.sg, ah.pad_begin, aw.pad_end, ah.pad_end,
                                                aw.pad_begin, kh, kw, st[0], st[1], dl[0], dl[1],
                                                M / group, group, lo, hi, x.id, fid, bid, y, 0),
            n, "depthwise_convolution_2d");
    else
      check(xnn_define_convolution_2d(B.sg, ah.pad_begin, aw.pad_end, ah.pad_end, aw.pad_begin, kh,
                                      kw, st[0], st[1], dl[0], dl[1], group, cg, M / group, lo, hi,
                                      x.id, fid, bid, y, 0),
            n, "convolution_2d");
    return true;
  }

  // Channelwise-quantized static data (a qc8 filter or bias) in 4-byte words; the runtime
  // packs it.
  uint32_t define_int8_static(Builder& B, const Node& n, xnn_datatype dt,
                              const std::vector<size_t>& dims, size_t channel_dim,
                              std::vector<float> words, std::vector<float> scales) {
    B.built->weights.push_back(std::move(words));
    B.built->packed.push_back(true);
    B.built->channel_scales.push_back(std::move(scales));
    uint32_t id = 0;
    check(xnn_define_channelwise_quantized_tensor_value(
              B.sg, dt, B.built->channel_scales.back().data(), dims.size(), channel_dim,
              dims.data(), B.built->weights.back().data(), XNN_INVALID_VALUE_ID, 0, &id),
          n, "define constant");
    return id;
  }

  void define_conv(Builder& B, const Node& n, const std::string& out, float lo, float hi) {
    const Value x = value(B, n, 0);
    const Tensor& w = constant(B, n, 1);
    const size_t N = x.dims[0], H = x.dims[1], W = x.dims[2], C = x.dims[3];
    const int64_t M = w.dim(0), cg = w.dim(1), kh = w.dim(2), kw = w.dim(3);
    const int64_t group = n.attr_int("group", 1);
    if (!x.nhwc || cg * group != static_cast<int64_t>(C))
      fail_input("node ", n.describe(), ": weight ", shape_str(w.shape()), " does not match ", C,
                 " input channels and group ", group);
    const std::vector<int64_t> st = n.attr_ints("strides", {1, 1});
    const std::vector<int64_t> dl = n.attr_ints("dilations", {1, 1});
    const Axis ah = spatial(n, 0, H, kh, st[0], dl[0]);
    const Axis aw = spatial(n, 1, W, kw, st[1], dl[1]);
    std::vector<float> bias(M, 0.f);
    if (n.inputs.size() > 2 && !n.inputs[2].empty()) bias = floats(constant(B, n, 2));
    const uint32_t b = define_static(B, n, {size_t(M)}, std::move(bias), true);
    const uint32_t y = define_out(B, n, out, {N, size_t(ah.out), size_t(aw.out), size_t(M)}, true);
    const float* src = w.data<float>();
    if (group > 1 && group == static_cast<int64_t>(C) && cg == 1) {
      // Depthwise: filter [1, kh, kw, M], f[y][x][o] = w[o][0][y][x].
      std::vector<float> f(M * kh * kw);
      for (int64_t o = 0; o < M; ++o)
        for (int64_t p = 0; p < kh * kw; ++p) f[p * M + o] = src[o * kh * kw + p];
      const uint32_t fid =
          define_static(B, n, {1, size_t(kh), size_t(kw), size_t(M)}, std::move(f), true);
      check(xnn_define_depthwise_convolution_2d(B.sg, ah.pad_begin, aw.pad_end, ah.pad_end,
                                                aw.pad_begin, kh, kw, st[0], st[1], dl[0], dl[1],
                                                M / group, C, lo, hi, x.id, fid, b, y, 0),
            n, "depthwise_convolution_2d");
      return;
    }
    // Filter [M, kh, kw, cg], f[o][y][x][c] = w[o][c][y][x].
    std::vector<float> f(M * kh * kw * cg);
    for (int64_t o = 0; o < M; ++o)
      for (int64_t c = 0; c < cg; ++c)
        for (int64_t p = 0; p < kh * kw; ++p)
          f[(o * kh * kw + p) * cg + c] = src[(o * cg + c) * kh * kw + p];
    const uint32_t fid =
        define_static(B, n, {size_t(M), size_t(kh), size_t(kw), size_t(cg)}, std::move(f), true);
    check(xnn_define_convolution_2d(B.sg, ah.pad_begin, aw.pad_end, ah.pad_end, aw.pad_begin, kh,
                                    kw, st[0], st[1], dl[0], dl[1], group, cg, M / group, lo, hi,
                                    x.id, fid, b, y, 0),
          n, "convolution_2d");
  }

  // q: the int8 output's parameters (x is then int8 with the same ones), or nullptr.
  void define_pool(Builder& B, const Node& n, const std::string& out, float lo, float hi,
                   const Value x, const ActQuant* q) {
    const std::vector<int64_t> ks = n.attr_ints("kernel_shape");
    const std::vector<int64_t> st = n.attr_ints("strides", {1, 1});
    const std::vector<int64_t> dl = n.attr_ints("dilations", {1, 1});
    const Axis ah = spatial(n, 0, x.dims[1], ks[0], st[0], dl[0]);
    const Axis aw = spatial(n, 1, x.dims[2], ks[1], st[1], dl[1]);
    const uint32_t y =
        define_out(B, n, out, {x.dims[0], size_t(ah.out), size_t(aw.out), x.dims[3]}, true, q);
    if (n.op_type == "MaxPool")
      check(xnn_define_max_pooling_2d(B.sg, ah.pad_begin, aw.pad_end, ah.pad_end, aw.pad_begin,
                                      ks[0], ks[1], st[0], st[1], dl[0], dl[1], lo, hi, x.id, y, 0),
            n, "max_pooling_2d");
    else
      check(xnn_define_average_pooling_2d(B.sg, ah.pad_begin, aw.pad_end, ah.pad_end, aw.pad_begin,
                                          ks[0], ks[1], st[0], st[1], lo, hi, x.id, y, 0),
            n, "average_pooling_2d");
  }

  // Gemm / MatMul with constant weights: y = x · Wᵀ + b with the filter W stored [N, K].
  void define_fc(Builder& B, const Node& n, const std::string& out, float lo, float hi) {
    const Value x = value(B, n, 0);
    const Tensor& w = constant(B, n, 1);
    const bool gemm = n.op_type == "Gemm";
    const bool trans = gemm && n.attr_int("transB", 0) != 0;  // w is [N, K] already
    const int64_t K = trans ? w.dim(1) : w.dim(0), Nout = trans ? w.dim(0) : w.dim(1);
    if (x.nhwc || x.dims.back() != static_cast<size_t>(K))
      fail_input("node ", n.describe(), ": input's last dim ", x.dims.back(),
                 " does not match weight ", shape_str(w.shape()));
    const float alpha = gemm ? n.attr_float("alpha", 1.f) : 1.f;
    const float beta = gemm ? n.attr_float("beta", 1.f) : 1.f;
    std::vector<float> f(Nout * K);
    const float* src = w.data<float>();
    for (int64_t o = 0; o < Nout; ++o)
      for (int64_t k = 0; k < K; ++k)
        f[o * K + k] = alpha * (trans ? src[o * K + k] : src[k * Nout + o]);
    const uint32_t fid = define_static(B, n, {size_t(Nout), size_t(K)}, std::move(f), true);
    uint32_t bid = XNN_INVALID_VALUE_ID;
    if (gemm && n.inputs.size() > 2 && !n.inputs[2].empty()) {
      const Tensor& c = constant(B, n, 2);
      std::vector<float> b(Nout);
      for (int64_t o = 0; o < Nout; ++o) b[o] = beta * c.data<float>()[c.numel() == 1 ? 0 : o];
      bid = define_static(B, n, {size_t(Nout)}, std::move(b), true);
    }
    std::vector<size_t> d = x.dims;
    d.back() = Nout;
    const uint32_t y = define_out(B, n, out, d, false);
    check(xnn_define_fully_connected(B.sg, lo, hi, x.id, fid, bid, y, 0), n, "fully_connected");
  }

  // Add / Mul with numpy broadcasting. A constant operand is aligned to the output rank and,
  // when the output is NHWC, permuted to NHWC.
  void define_binary(Builder& B, const Node& n, const std::string& out, float lo, float hi) {
    size_t rank = 0;
    bool nhwc = false;
    for (size_t i = 0; i < 2; ++i) {
      if (is_constant(B, n.input(i))) {
        rank = std::max<size_t>(rank, constant(B, n, i).rank());
      } else {
        const Value& v = value(B, n, i);
        rank = std::max(rank, v.dims.size());
        nhwc |= v.nhwc;
      }
    }
    uint32_t ids[2];
    std::vector<size_t> dims[2];
    for (size_t i = 0; i < 2; ++i) {
      if (!is_constant(B, n.input(i))) {
        const Value& v = value(B, n, i);
        if (v.dims.size() != rank)
          fail_unsupported("node ", n.describe(), ": operand ranks differ");
        ids[i] = v.id;
        dims[i] = v.dims;
        continue;
      }
      const Tensor& c = constant(B, n, i);
      Shape s = c.shape();
      while (s.size() < rank) s.insert(s.begin(), 1);
      std::vector<float> data = floats(c);
      if (nhwc) {
        // c'[n][h][w][ch] = c[n][ch][h][w]
        std::vector<float> p(data.size());
        nchw_to_nhwc(data.data(), p.data(), s[0], s[1], s[2] * s[3]);
        data = std::move(p);
        dims[i] = to_nhwc(s);
      } else {
        dims[i] = std::vector<size_t>(s.begin(), s.end());
      }
      ids[i] = define_static(B, n, dims[i], std::move(data));
    }
    std::vector<size_t> d(rank);
    for (size_t k = 0; k < rank; ++k) {
      const size_t a = dims[0][k], b = dims[1][k];
      if (a != b && a != 1 && b != 1)
        fail_input("node ", n.describe(), ": operands do not broadcast");
      d[k] = a == 1 ? b : a;
    }
    const uint32_t y = define_out(B, n, out, d, nhwc);
    if (n.op_type == "Add")
      check(xnn_define_add2(B.sg, lo, hi, ids[0], ids[1], y, 0), n, "add2");
    else
      check(xnn_define_multiply2(B.sg, lo, hi, ids[0], ids[1], y, 0), n, "multiply2");
  }

  std::shared_ptr<Graph> body_;
  int64_t opset_ = 13;
  std::unordered_map<std::string, Tensor> constants_;
  pthreadpool_t pool_ = nullptr;
  std::vector<std::unique_ptr<Built>> built_;
  Built* cur_ = nullptr;
  bool shapes_fixed_ = false;  // input_shapes_fixed(): constants dropped after the build
};

}  // namespace

EDGEOPT_REGISTER_KERNEL(kProvider, kDomain, "Subgraph", 1, INT_MAX, SubgraphKernel);

int64_t int8_operators_defined() { return int8_defined.load(); }

}  // namespace edgeopt::rt::xnnpack
