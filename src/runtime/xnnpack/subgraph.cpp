// edgeopt.xnnpack.Subgraph: runs a run of collapsed nodes (rewrite.cpp) as one XNNPACK
// runtime (XNNPACK 2022 subgraph API: xnn_define_* → xnn_create_runtime_v2 → setup → invoke).
//
// Layout: XNNPACK is NHWC. Rank-4 values inside the subgraph are NHWC; rank-4 inputs and
// outputs are converted NCHW ↔ NHWC in scratch memory at the boundary (this XNNPACK version
// has no transpose node). Other ranks are passed as they are.
//
// One runtime is built per set of input shapes (in infer(), when the session plans) and kept,
// so switching between planned shapes does not rebuild. Weights are repacked into XNNPACK's
// layouts once per runtime and owned by it.
#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "common.h"
#include "runtime/kernel.h"

namespace edgeopt::rt::xnnpack {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

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
void nchw_to_nhwc(const float* src, float* dst, int64_t n, int64_t c, int64_t hw) {
  for (int64_t b = 0; b < n; ++b, src += c * hw, dst += c * hw)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < hw; ++p) dst[p * c + ch] = src[ch * hw + p];
}
// dst[n][c][hw] = src[n][hw][c]
void nhwc_to_nchw(const float* src, float* dst, int64_t n, int64_t c, int64_t hw) {
  for (int64_t b = 0; b < n; ++b, src += c * hw, dst += c * hw)
    for (int64_t p = 0; p < hw; ++p)
      for (int64_t ch = 0; ch < c; ++ch) dst[ch * hw + p] = src[p * c + ch];
}

struct Value {
  uint32_t id = XNN_INVALID_VALUE_ID;
  std::vector<size_t> dims;  // in XNNPACK's order (NHWC when nhwc)
  bool nhwc = false;
};

// One XNNPACK runtime for one set of input shapes.
struct Built {
  std::vector<Shape> key;
  xnn_runtime_t runtime = nullptr;
  std::vector<std::vector<float>> weights;  // static data; must outlive the runtime
  std::vector<bool> packed;  // per weights entry: a conv or fc filter/bias the runtime packs
  std::vector<Shape> out_shapes;            // ONNX (NCHW) shapes of the node's outputs
  std::vector<bool> in_nhwc, out_nhwc;      // converted at the boundary
  std::vector<size_t> in_off, out_off;      // scratch offsets of converted tensors
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

class SubgraphKernel : public Kernel {
 public:
  explicit SubgraphKernel(const KernelInit& init) : node_(init.node) {
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
      if (ctx.dtype(i) != DType::kF32)
        fail_input("node ", node_.describe(), ": input '", node_.inputs[i], "' must be f32");
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
      ctx.set_output(o, DType::kF32, cur_->out_shapes[o]);
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
      const float* src = t.data<float>();
      void* p = const_cast<float*>(src);
      if (b.in_nhwc[id]) {
        float* dst = reinterpret_cast<float*>(scratch + b.in_off[id]);
        nchw_to_nhwc(src, dst, t.dim(0), t.dim(1), t.dim(2) * t.dim(3));
        p = dst;
      }
      ext.push_back({id++, p});
    }
    const uint32_t first_out = id;
    for (size_t o = 0; o < b.out_shapes.size(); ++o) {
      void* p = ctx.output(o).raw();
      if (b.out_nhwc[o]) p = scratch + b.out_off[o];
      ext.push_back({first_out + static_cast<uint32_t>(o), p});
    }
    check(xnn_setup_runtime(b.runtime, ext.size(), ext.data()), node_, "setup");
    check(xnn_invoke_runtime(b.runtime), node_, "invoke");
    for (size_t o = 0; o < b.out_shapes.size(); ++o) {
      if (!b.out_nhwc[o]) continue;
      const Shape& s = b.out_shapes[o];
      nhwc_to_nchw(reinterpret_cast<const float*>(scratch + b.out_off[o]),
                   ctx.output(o).data<float>(), s[0], s[1], s[2] * s[3]);
    }
  }

 private:
  // ------------------------------------------------------------------ subgraph building
  struct Builder {
    xnn_subgraph_t sg = nullptr;
    Built* built = nullptr;
    std::unordered_map<std::string, Value> values;
    std::unordered_map<std::string, uint32_t> out_ext;  // subgraph output → external id
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
      check(xnn_define_tensor_value(B.sg, xnn_datatype_fp32, v.dims.size(), v.dims.data(), nullptr,
                                    id, XNN_VALUE_FLAG_EXTERNAL_INPUT, &v.id),
            node_, "define input");
      built->in_nhwc.push_back(v.nhwc);
      built->in_off.push_back(scratch);
      if (v.nhwc) scratch += align64(shape_numel(s) * sizeof(float));
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
    for (size_t k = 0; k < nodes.size(); ++k) {
      if (fused_into[k] >= 0) continue;
      define(B, nodes[k], final_out[k], bounds[k]);
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
      built->out_nhwc.push_back(v.nhwc);
      built->out_shapes.push_back(v.nhwc ? from_nhwc(v.dims) : Shape(v.dims.begin(), v.dims.end()));
      built->out_off.push_back(scratch);
      if (v.nhwc) scratch += align64(shape_numel(built->out_shapes.back()) * sizeof(float));
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

  const Value& value(Builder& B, const Node& n, size_t i) const {
    auto it = B.values.find(n.input(i));
    if (it == B.values.end())
      throw Error(ErrorKind::kInternal,
                  "node " + n.describe() + ": value " + n.input(i) + " is not in the subgraph");
    return it->second;
  }

  // Defines the output value `name` (external when it is an output of the Subgraph node).
  uint32_t define_out(Builder& B, const Node& n, const std::string& name, std::vector<size_t> dims,
                      bool nhwc) {
    Value v;
    v.dims = std::move(dims);
    v.nhwc = nhwc;
    auto it = B.out_ext.find(name);
    const uint32_t ext = it == B.out_ext.end() ? XNN_INVALID_VALUE_ID : it->second;
    const uint32_t flags = it == B.out_ext.end() ? 0 : XNN_VALUE_FLAG_EXTERNAL_OUTPUT;
    check(xnn_define_tensor_value(B.sg, xnn_datatype_fp32, v.dims.size(), v.dims.data(), nullptr,
                                  ext, flags, &v.id),
          n, "define value");
    B.values[name] = v;
    return v.id;
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
    if (op == "MaxPool" || op == "AveragePool") return define_pool(B, n, out, lo, hi);
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

  void define_conv(Builder& B, const Node& n, const std::string& out, float lo, float hi) {
    const Value x = value(B, n, 0);
    const Tensor& w = constant(n, 1);
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
    if (n.inputs.size() > 2 && !n.inputs[2].empty()) bias = floats(constant(n, 2));
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

  void define_pool(Builder& B, const Node& n, const std::string& out, float lo, float hi) {
    const Value x = value(B, n, 0);
    const std::vector<int64_t> ks = n.attr_ints("kernel_shape");
    const std::vector<int64_t> st = n.attr_ints("strides", {1, 1});
    const std::vector<int64_t> dl = n.attr_ints("dilations", {1, 1});
    const Axis ah = spatial(n, 0, x.dims[1], ks[0], st[0], dl[0]);
    const Axis aw = spatial(n, 1, x.dims[2], ks[1], st[1], dl[1]);
    const uint32_t y =
        define_out(B, n, out, {x.dims[0], size_t(ah.out), size_t(aw.out), x.dims[3]}, true);
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
    const Tensor& w = constant(n, 1);
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
      const Tensor& c = constant(n, 2);
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
      if (constants_.count(n.input(i))) {
        rank = std::max<size_t>(rank, constant(n, i).rank());
      } else {
        const Value& v = value(B, n, i);
        rank = std::max(rank, v.dims.size());
        nhwc |= v.nhwc;
      }
    }
    uint32_t ids[2];
    std::vector<size_t> dims[2];
    for (size_t i = 0; i < 2; ++i) {
      if (!constants_.count(n.input(i))) {
        const Value& v = value(B, n, i);
        if (v.dims.size() != rank)
          fail_unsupported("node ", n.describe(), ": operand ranks differ");
        ids[i] = v.id;
        dims[i] = v.dims;
        continue;
      }
      const Tensor& c = constant(n, i);
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

  const Node& node_;
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

}  // namespace edgeopt::rt::xnnpack
