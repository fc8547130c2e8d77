// TorchGraph: ONNX ops as torch ops. One function per op below; each follows the ONNX operator
// definition (opset 13 unless noted) and lets autograd derive the backward pass.
#include "train/torch_graph.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <set>

#include "edgeopt/error.h"

namespace edgeopt::train {
namespace {

using TensorList = std::vector<torch::Tensor>;

torch::Dtype torch_dtype(DType t) {
  switch (t) {
    case DType::kF32:
      return torch::kFloat;
    case DType::kF64:
      return torch::kDouble;
    case DType::kF16:
      return torch::kHalf;
    case DType::kBF16:
      return torch::kBFloat16;
    case DType::kU8:
      return torch::kUInt8;
    case DType::kI8:
      return torch::kInt8;
    case DType::kI16:
      return torch::kInt16;
    case DType::kI32:
      return torch::kInt32;
    case DType::kI64:
      return torch::kLong;
    case DType::kBool:
      return torch::kBool;
    default:
      fail_unsupported("training backend: tensor type ", dtype_name(t), " is not supported");
  }
}

DType edgeopt_dtype(torch::Dtype t) {
  switch (t) {
    case torch::kFloat:
      return DType::kF32;
    case torch::kDouble:
      return DType::kF64;
    case torch::kHalf:
      return DType::kF16;
    case torch::kBFloat16:
      return DType::kBF16;
    case torch::kUInt8:
      return DType::kU8;
    case torch::kInt8:
      return DType::kI8;
    case torch::kInt16:
      return DType::kI16;
    case torch::kInt32:
      return DType::kI32;
    case torch::kLong:
      return DType::kI64;
    case torch::kBool:
      return DType::kBool;
    default:
      fail_unsupported("training backend: torch dtype not supported");
  }
}

std::vector<int64_t> values_i64(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kLong).contiguous().cpu();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

double value_f64(const torch::Tensor& t) { return t.to(torch::kDouble).item<double>(); }

int64_t norm_axis(int64_t axis, int64_t rank) { return axis < 0 ? axis + rank : axis; }

// Rounds in the forward pass, identity in the backward pass (straight-through estimator).
torch::Tensor round_ste(const torch::Tensor& v) { return v + (torch::round(v) - v).detach(); }

// Scales the gradient reaching a quantization scale by g = 1/√(elements per scale · qmax)
// without changing its value (LSQ, Esser et al. 2020): the scale gets the summed gradient of
// every element it quantizes, so unscaled it would move far faster than the weights.
torch::Tensor lsq_scale(const torch::Tensor& s, const torch::Tensor& x, double qmax) {
  if (!s.requires_grad()) return s;
  const double per_scale = static_cast<double>(x.numel()) / std::max<int64_t>(1, s.numel());
  const double g = 1.0 / std::sqrt(std::max(1.0, per_scale * qmax));
  return s * g + (s - s * g).detach();
}

// Reshapes a per-axis parameter (1-D of x.size(axis) elements) to broadcast against x.
torch::Tensor along_axis(const torch::Tensor& p, const torch::Tensor& x, int64_t axis) {
  if (p.dim() == 0 || p.numel() == 1 || x.dim() <= 1) return p.reshape({});
  std::vector<int64_t> shape(x.dim(), 1);
  shape[norm_axis(axis, x.dim())] = p.numel();
  return p.reshape(shape);
}

class Executor {
 public:
  // `s8_limit`: the int8 range of a QuantizeLinear is [−s8_limit, s8_limit] when below 128
  // (reduced-range weights).
  Executor(const Node& node, const TensorList& in, bool training, int64_t opset,
           torch::Dtype fdtype, int s8_limit = 127,
           const SumAcrossRanks* sum_across_ranks = nullptr)
      : n_(node),
        in_(in),
        training_(training),
        opset_(opset),
        fdtype_(fdtype),
        s8_limit_(s8_limit),
        sum_across_ranks_(sum_across_ranks) {}

  TensorList run() {
    const std::string& op = n_.op_type;
    if (!n_.domain.empty() && n_.domain != "ai.onnx")
      fail_unsupported(n_.describe(), ": domain '", n_.domain, "' is not supported for training");
    static const std::map<std::string, TensorList (Executor::*)()> table = {
        {"Conv", &Executor::conv},
        {"ConvTranspose", &Executor::conv_transpose},
        {"Gemm", &Executor::gemm},
        {"MatMul", &Executor::matmul},
        {"BatchNormalization", &Executor::batch_norm},
        {"Relu", &Executor::relu},
        {"Clip", &Executor::clip},
        {"LeakyRelu", &Executor::leaky_relu},
        {"Sigmoid", &Executor::sigmoid},
        {"HardSwish", &Executor::hard_swish},
        {"HardSigmoid", &Executor::hard_sigmoid},
        {"Tanh", &Executor::tanh},
        {"Softmax", &Executor::softmax},
        {"LogSoftmax", &Executor::log_softmax},
        {"Add", &Executor::add},
        {"Sub", &Executor::sub},
        {"Mul", &Executor::mul},
        {"Div", &Executor::div},
        {"MaxPool", &Executor::max_pool},
        {"AveragePool", &Executor::average_pool},
        {"GlobalAveragePool", &Executor::global_average_pool},
        {"GlobalMaxPool", &Executor::global_max_pool},
        {"Flatten", &Executor::flatten},
        {"Reshape", &Executor::reshape},
        {"Transpose", &Executor::transpose},
        {"Concat", &Executor::concat},
        {"Dropout", &Executor::dropout},
        {"Identity", &Executor::identity},
        {"Constant", &Executor::constant},
        {"Shape", &Executor::shape},
        {"Gather", &Executor::gather},
        {"Unsqueeze", &Executor::unsqueeze},
        {"Squeeze", &Executor::squeeze},
        {"Cast", &Executor::cast},
        {"QuantizeLinear", &Executor::quantize_linear},
        {"DequantizeLinear", &Executor::dequantize_linear},
    };
    auto it = table.find(op);
    if (it == table.end())
      fail_unsupported(n_.describe(), ": op ", op, " is not supported by the training backend");
    return (this->*(it->second))();
  }

 private:
  // Input i, or an undefined tensor when absent.
  torch::Tensor in(size_t i) const { return i < in_.size() ? in_[i] : torch::Tensor(); }
  bool has(size_t i) const { return i < in_.size() && in_[i].defined(); }
  const torch::Tensor& x() const {
    if (!has(0)) fail_input(n_.describe(), ": missing input 0");
    return in_[0];
  }

  // Spatial pads [begin..., end...] for `spatial` dims, resolving auto_pad.
  std::vector<int64_t> pads(const torch::Tensor& input, const std::vector<int64_t>& kernel,
                            const std::vector<int64_t>& strides,
                            const std::vector<int64_t>& dilations) const {
    const size_t sp = kernel.size();
    const std::string auto_pad = n_.attr_string("auto_pad", "NOTSET");
    if (auto_pad == "NOTSET") {
      std::vector<int64_t> p = n_.attr_ints("pads", std::vector<int64_t>(2 * sp, 0));
      if (p.size() != 2 * sp) fail_input(n_.describe(), ": pads must have ", 2 * sp, " values");
      return p;
    }
    std::vector<int64_t> p(2 * sp, 0);
    if (auto_pad == "VALID") return p;
    // SAME_*: out = ceil(in / stride); total pad = (out − 1)·stride + (k − 1)·d + 1 − in.
    for (size_t i = 0; i < sp; ++i) {
      const int64_t size = input.size(2 + i);
      const int64_t out = (size + strides[i] - 1) / strides[i];
      const int64_t total =
          std::max<int64_t>(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size);
      const int64_t small = total / 2, big = total - small;
      p[i] = auto_pad == "SAME_LOWER" ? big : small;
      p[i + sp] = auto_pad == "SAME_LOWER" ? small : big;
    }
    return p;
  }

  // Pads the spatial dims of `t` (begin/end per dim) with `value`.
  static torch::Tensor pad_explicit(const torch::Tensor& t, const std::vector<int64_t>& p,
                                    double value) {
    const size_t sp = p.size() / 2;
    // constant_pad_nd takes pairs starting from the last dim.
    std::vector<int64_t> tp;
    for (size_t i = sp; i-- > 0;) {
      tp.push_back(p[i]);
      tp.push_back(p[i + sp]);
    }
    return torch::constant_pad_nd(t, tp, value);
  }
  static bool symmetric(const std::vector<int64_t>& p) {
    const size_t sp = p.size() / 2;
    for (size_t i = 0; i < sp; ++i)
      if (p[i] != p[i + sp]) return false;
    return true;
  }
  // The pads a torch op takes (one per spatial dim, for both ends): the begin pads of p, or all
  // zero after padding `t` explicitly with `value` when the begin and end pads differ.
  static std::vector<int64_t> torch_pads(torch::Tensor& t, const std::vector<int64_t>& p,
                                         double value) {
    const size_t sp = p.size() / 2;
    if (symmetric(p)) return std::vector<int64_t>(p.begin(), p.begin() + sp);
    t = pad_explicit(t, p, value);
    return std::vector<int64_t>(sp, 0);
  }

  std::vector<int64_t> kernel_of(const torch::Tensor& w) const {
    std::vector<int64_t> k = n_.attr_ints("kernel_shape");
    if (k.empty())
      for (int64_t i = 2; i < w.dim(); ++i) k.push_back(w.size(i));
    return k;
  }

  TensorList conv() {
    torch::Tensor input = x(), w = in(1), b = in(2);
    if (!w.defined()) fail_input(n_.describe(), ": missing weight");
    const std::vector<int64_t> k = kernel_of(w);
    const size_t sp = k.size();
    const auto strides = n_.attr_ints("strides", std::vector<int64_t>(sp, 1));
    const auto dil = n_.attr_ints("dilations", std::vector<int64_t>(sp, 1));
    const std::vector<int64_t> sym = torch_pads(input, pads(input, k, strides, dil), 0.0);
    const int64_t group = n_.attr_int("group", 1);
    return {
        at::convolution(input, w, b, strides, sym, dil, false, std::vector<int64_t>(sp, 0), group)};
  }

  TensorList conv_transpose() {
    const torch::Tensor& input = x();
    torch::Tensor w = in(1), b = in(2);
    if (n_.has_attr("output_shape"))
      fail_unsupported(n_.describe(), ": output_shape is not supported for training");
    const std::vector<int64_t> k = kernel_of(w);
    const size_t sp = k.size();
    const auto strides = n_.attr_ints("strides", std::vector<int64_t>(sp, 1));
    const auto dil = n_.attr_ints("dilations", std::vector<int64_t>(sp, 1));
    const auto outpad = n_.attr_ints("output_padding", std::vector<int64_t>(sp, 0));
    std::vector<int64_t> p = n_.attr_ints("pads", std::vector<int64_t>(2 * sp, 0));
    const std::string auto_pad = n_.attr_string("auto_pad", "NOTSET");
    // Full output (no pads): (in − 1)·s + (k − 1)·d + 1 + output_padding, then crop the pads.
    std::vector<int64_t> full(sp);
    for (size_t i = 0; i < sp; ++i)
      full[i] = (input.size(2 + i) - 1) * strides[i] + (k[i] - 1) * dil[i] + 1 + outpad[i];
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      for (size_t i = 0; i < sp; ++i) {
        const int64_t total = full[i] - input.size(2 + i) * strides[i];
        const int64_t small = total / 2, big = total - small;
        p[i] = auto_pad == "SAME_UPPER" ? small : big;
        p[i + sp] = auto_pad == "SAME_UPPER" ? big : small;
      }
    } else if (auto_pad == "VALID") {
      p.assign(2 * sp, 0);
    }
    const int64_t group = n_.attr_int("group", 1);
    torch::Tensor y = at::convolution(input, w, b, strides, std::vector<int64_t>(sp, 0), dil, true,
                                      outpad, group);
    for (size_t i = 0; i < sp; ++i) y = y.narrow(2 + i, p[i], y.size(2 + i) - p[i] - p[i + sp]);
    return {y};
  }

  TensorList gemm() {
    torch::Tensor a = x(), b = in(1);
    if (n_.attr_int("transA", 0)) a = a.t();
    if (n_.attr_int("transB", 0)) b = b.t();
    const double alpha = n_.attr_float("alpha", 1.0f), beta = n_.attr_float("beta", 1.0f);
    torch::Tensor y = torch::matmul(a, b);
    if (alpha != 1.0) y = y * alpha;
    if (has(2)) y = y + (beta == 1.0 ? in(2) : in(2) * beta);
    return {y};
  }

  TensorList matmul() { return {torch::matmul(x(), in(1))}; }

  TensorList batch_norm() {
    const double eps = n_.attr_float("epsilon", 1e-5f);
    const double momentum = n_.attr_float("momentum", 0.9f);
    if (training_ && sum_across_ranks_ && *sum_across_ranks_) return sync_batch_norm(eps, momentum);
    // torch: running = (1 − m_t)·running + m_t·batch, so m_t = 1 − ONNX momentum.
    return {
        torch::batch_norm(x(), in(1), in(2), in(3), in(4), training_, 1.0 - momentum, eps, false)};
  }

  // Batch statistics of the global batch of a data-parallel job: Σx and Σx² per channel, summed
  // in double and over the ranks in one all-reduce (differentiable: one more in the backward
  // pass), then mean = Σx / N and var = Σx² / N − mean². Running statistics as torch: the
  // unbiased variance.
  TensorList sync_batch_norm(double eps, double momentum) {
    const torch::Tensor& v = x();
    const int64_t channels = v.size(1);
    std::vector<int64_t> dims{0}, shape(v.dim(), 1);
    for (int64_t d = 2; d < v.dim(); ++d) dims.push_back(d);
    shape[1] = channels;
    const SumAcrossRanks& sum = *sum_across_ranks_;
    const torch::Tensor local =
        torch::full({1}, static_cast<double>(v.numel() / channels), torch::kDouble);
    const torch::Tensor vd = v.to(torch::kDouble);
    const torch::Tensor sums = sum(torch::cat({vd.sum(dims), vd.square().sum(dims), local}));
    const torch::Tensor count = sums.narrow(0, 2 * channels, 1).detach();
    const torch::Tensor mean = sums.narrow(0, 0, channels) / count;
    const torch::Tensor var = sums.narrow(0, channels, channels) / count - mean.square();
    torch::Tensor y = (v - mean.to(v.dtype()).reshape(shape)) *
                      torch::rsqrt(var + eps).to(v.dtype()).reshape(shape);
    if (has(1)) y = y * in(1).reshape(shape);
    if (has(2)) y = y + in(2).reshape(shape);
    torch::NoGradGuard no_grad;  // the running statistics are not differentiated
    const double n = count.item<double>();
    in(3).mul_(momentum).add_(mean.detach().to(in(3).dtype()), 1 - momentum);
    in(4).mul_(momentum).add_((var.detach() * (n / std::max(1.0, n - 1))).to(in(4).dtype()),
                              1 - momentum);
    return {y};
  }

  TensorList relu() { return {torch::relu(x())}; }

  TensorList clip() {
    torch::Tensor y = x();
    if (opset_ < 11) {
      return {torch::clamp(y, n_.attr_float("min", -std::numeric_limits<float>::max()),
                           n_.attr_float("max", std::numeric_limits<float>::max()))};
    }
    // Tensor bounds, so that trainable bounds get gradients too.
    c10::optional<torch::Tensor> lo, hi;
    if (has(1)) lo = in(1).to(y.dtype());
    if (has(2)) hi = in(2).to(y.dtype());
    return {torch::clamp(y, lo, hi)};
  }

  TensorList leaky_relu() { return {torch::leaky_relu(x(), n_.attr_float("alpha", 0.01f))}; }
  TensorList sigmoid() { return {torch::sigmoid(x())}; }
  // HardSwish(x) = x · max(0, min(1, x/6 + 1/2)).
  TensorList hard_swish() { return {x() * torch::clamp(x() / 6.0 + 0.5, 0.0, 1.0)}; }
  TensorList hard_sigmoid() {
    const double a = n_.attr_float("alpha", 0.2f), b = n_.attr_float("beta", 0.5f);
    return {torch::clamp(x() * a + b, 0.0, 1.0)};
  }
  TensorList tanh() { return {torch::tanh(x())}; }

  // Before opset 13, (Log)Softmax flattens to 2-D at `axis` (default 1) and normalises rows.
  TensorList softmax_like(bool log) {
    const torch::Tensor& v = x();
    if (opset_ >= 13) {
      const int64_t axis = norm_axis(n_.attr_int("axis", -1), v.dim());
      return {log ? torch::log_softmax(v, axis) : torch::softmax(v, axis)};
    }
    const int64_t axis = norm_axis(n_.attr_int("axis", 1), v.dim());
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= v.size(d);
    torch::Tensor flat = v.reshape({outer, -1});
    torch::Tensor y = log ? torch::log_softmax(flat, 1) : torch::softmax(flat, 1);
    return {y.reshape(v.sizes())};
  }
  TensorList softmax() { return softmax_like(false); }
  TensorList log_softmax() { return softmax_like(true); }

  TensorList add() { return {x() + in(1)}; }
  TensorList sub() { return {x() - in(1)}; }
  TensorList mul() { return {x() * in(1)}; }
  TensorList div() {
    if (!x().is_floating_point()) return {torch::div(x(), in(1), "trunc")};
    return {x() / in(1)};
  }

  TensorList max_pool() {
    if (n_.outputs.size() > 1 && !n_.outputs[1].empty())
      fail_unsupported(n_.describe(), ": the Indices output is not supported for training");
    torch::Tensor input = x();
    const std::vector<int64_t> k = n_.attr_ints("kernel_shape");
    const size_t sp = k.size();
    const auto strides = n_.attr_ints("strides", std::vector<int64_t>(sp, 1));
    const auto dil = n_.attr_ints("dilations", std::vector<int64_t>(sp, 1));
    const std::vector<int64_t> sym =
        torch_pads(input, pads(input, k, strides, dil), -std::numeric_limits<double>::infinity());
    const bool ceil = n_.attr_int("ceil_mode", 0) != 0;
    if (sp == 1) return {torch::max_pool1d(input, k, strides, sym, dil, ceil)};
    if (sp == 2) return {torch::max_pool2d(input, k, strides, sym, dil, ceil)};
    if (sp == 3) return {torch::max_pool3d(input, k, strides, sym, dil, ceil)};
    fail_unsupported(n_.describe(), ": ", sp, "-D pooling");
  }

  TensorList average_pool() {
    torch::Tensor input = x();
    const std::vector<int64_t> k = n_.attr_ints("kernel_shape");
    const size_t sp = k.size();
    const auto strides = n_.attr_ints("strides", std::vector<int64_t>(sp, 1));
    const std::vector<int64_t> p = pads(input, k, strides, std::vector<int64_t>(sp, 1));
    bool include = n_.attr_int("count_include_pad", 0) != 0;
    if (!symmetric(p) && !include)
      fail_unsupported(n_.describe(), ": asymmetric pads with count_include_pad=0");
    const std::vector<int64_t> sym = torch_pads(input, p, 0.0);
    const bool ceil = n_.attr_int("ceil_mode", 0) != 0;
    if (sp == 1) return {torch::avg_pool1d(input, k, strides, sym, ceil, include)};
    if (sp == 2) return {torch::avg_pool2d(input, k, strides, sym, ceil, include)};
    if (sp == 3) return {torch::avg_pool3d(input, k, strides, sym, ceil, include)};
    fail_unsupported(n_.describe(), ": ", sp, "-D pooling");
  }

  TensorList global_average_pool() {
    std::vector<int64_t> dims;
    for (int64_t d = 2; d < x().dim(); ++d) dims.push_back(d);
    return {x().mean(dims, true)};
  }
  TensorList global_max_pool() {
    torch::Tensor y = x();
    for (int64_t d = 2; d < x().dim(); ++d) y = std::get<0>(y.max(d, true));
    return {y};
  }

  TensorList flatten() {
    const torch::Tensor& v = x();
    const int64_t axis = norm_axis(n_.attr_int("axis", 1), v.dim());
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= v.size(d);
    return {v.reshape({outer, outer == 0 ? 0 : v.numel() / outer})};
  }

  TensorList reshape() {
    const torch::Tensor& v = x();
    std::vector<int64_t> shape = values_i64(in(1));
    const bool allowzero = n_.attr_int("allowzero", 0) != 0;
    for (size_t i = 0; i < shape.size(); ++i)
      if (shape[i] == 0 && !allowzero) {
        if (static_cast<int64_t>(i) >= v.dim())
          fail_input(n_.describe(), ": shape copies dim ", i, " of a rank-", v.dim(), " input");
        shape[i] = v.size(i);
      }
    return {v.reshape(shape)};
  }

  TensorList transpose() {
    std::vector<int64_t> perm = n_.attr_ints("perm");
    if (perm.empty())
      for (int64_t d = x().dim(); d-- > 0;) perm.push_back(d);
    return {x().permute(perm)};
  }

  TensorList concat() {
    TensorList parts;
    for (const torch::Tensor& t : in_)
      if (t.defined()) parts.push_back(t);
    if (parts.empty()) fail_input(n_.describe(), ": no inputs");
    return {torch::cat(parts, norm_axis(n_.attr_int("axis", 0), parts[0].dim()))};
  }

  TensorList dropout() {
    double ratio = opset_ >= 12 ? 0.5 : n_.attr_float("ratio", 0.5f);
    if (opset_ >= 12 && has(1)) ratio = value_f64(in(1));
    bool drop = training_;
    if (opset_ >= 12 && has(2)) drop = drop && value_f64(in(2)) != 0;
    if (!drop || ratio == 0) {
      TensorList out{x()};
      if (n_.outputs.size() > 1) out.push_back(torch::ones_like(x(), torch::kBool));
      return out;
    }
    // y = x · mask / (1 − ratio), mask ~ Bernoulli(1 − ratio).
    torch::Tensor mask = torch::rand_like(x()) >= ratio;
    TensorList out{x() * mask.to(x().dtype()) / (1.0 - ratio)};
    if (n_.outputs.size() > 1) out.push_back(mask);
    return out;
  }

  TensorList identity() { return {x()}; }

  TensorList constant() {
    if (const Attribute* a = n_.attr("value")) {
      torch::Tensor t = to_torch(a->t.tensor);
      return {t.is_floating_point() ? t.to(fdtype_) : t};
    }
    if (const Attribute* a = n_.attr("value_float"))
      return {torch::tensor(static_cast<double>(a->f), torch::TensorOptions().dtype(fdtype_))};
    if (const Attribute* a = n_.attr("value_floats"))
      return {torch::tensor(std::vector<double>(a->floats.begin(), a->floats.end()),
                            torch::TensorOptions().dtype(fdtype_))};
    if (const Attribute* a = n_.attr("value_int")) return {torch::tensor(a->i, torch::kLong)};
    if (const Attribute* a = n_.attr("value_ints")) return {torch::tensor(a->ints, torch::kLong)};
    fail_unsupported(n_.describe(), ": Constant without a tensor, float or int value");
  }

  TensorList shape() {
    const int64_t rank = x().dim();
    int64_t start = n_.attr_int("start", 0), end = n_.attr_int("end", rank);
    start = std::clamp<int64_t>(norm_axis(start, rank), 0, rank);
    end = std::clamp<int64_t>(norm_axis(end, rank), 0, rank);
    std::vector<int64_t> dims;
    for (int64_t d = start; d < end; ++d) dims.push_back(x().size(d));
    return {torch::tensor(dims, torch::kLong)};
  }

  TensorList gather() {
    const torch::Tensor& data = x();
    const int64_t axis = norm_axis(n_.attr_int("axis", 0), data.dim());
    torch::Tensor idx = in(1).to(torch::kLong);
    // Negative indices count from the end.
    idx = torch::where(idx < 0, idx + data.size(axis), idx);
    // out.shape = data.shape[:axis] + idx.shape + data.shape[axis+1:]
    torch::Tensor picked = data.index_select(axis, idx.reshape({-1}));
    std::vector<int64_t> shape(data.sizes().begin(), data.sizes().begin() + axis);
    for (int64_t s : idx.sizes()) shape.push_back(s);
    for (int64_t d = axis + 1; d < data.dim(); ++d) shape.push_back(data.size(d));
    return {picked.reshape(shape)};
  }

  std::vector<int64_t> axes_arg() const {
    if (opset_ >= 13) return has(1) ? values_i64(in(1)) : std::vector<int64_t>{};
    return n_.attr_ints("axes");
  }

  TensorList unsqueeze() {
    std::vector<int64_t> axes = axes_arg();
    const int64_t out_rank = x().dim() + static_cast<int64_t>(axes.size());
    for (int64_t& a : axes) a = norm_axis(a, out_rank);
    std::sort(axes.begin(), axes.end());
    torch::Tensor y = x();
    for (int64_t a : axes) y = y.unsqueeze(a);
    return {y};
  }

  TensorList squeeze() {
    std::vector<int64_t> axes = axes_arg();
    if (axes.empty()) return {x().squeeze()};
    for (int64_t& a : axes) a = norm_axis(a, x().dim());
    std::sort(axes.begin(), axes.end());
    torch::Tensor y = x();
    for (size_t i = axes.size(); i-- > 0;) y = y.squeeze(axes[i]);
    return {y};
  }

  TensorList cast() {
    const DType to = static_cast<DType>(n_.attr_int("to", 1));
    if (dtype_is_float(to)) return {x().to(fdtype_)};
    return {x().to(torch_dtype(to))};
  }

  // Integer range of a QuantizeLinear output, given by the zero point's type (u8 default).
  std::pair<double, double> qrange(const torch::Tensor& zp) const {
    if (!zp.defined() || zp.scalar_type() == torch::kUInt8) return {0, 255};
    if (zp.scalar_type() == torch::kInt8)
      return s8_limit_ < 127 ? std::pair<double, double>{-s8_limit_, s8_limit_}
                             : std::pair<double, double>{-128, 127};
    fail_unsupported("QuantizeLinear: zero point type must be uint8 or int8");
  }

  TensorList quantize_linear() {
    const torch::Tensor& v = x();
    const int64_t axis = n_.attr_int("axis", 1);
    torch::Tensor zp = has(2) ? in(2) : torch::Tensor();
    const auto [qmin, qmax] = qrange(zp);
    torch::Tensor s = along_axis(lsq_scale(in(1), v, qmax - qmin), v, axis);
    torch::Tensor z =
        zp.defined() ? along_axis(zp.to(v.dtype()), v, axis) : torch::zeros({}, v.options());
    // q = clamp(round_ste(x / s) + z, qmin, qmax) (values of the integer type, held as floats).
    return {torch::clamp(round_ste(v / s) + z, qmin, qmax)};
  }

  TensorList dequantize_linear() {
    const int64_t axis = n_.attr_int("axis", 1);
    torch::Tensor q = x().is_floating_point() ? x() : x().to(fdtype_);
    const double levels = has(2) && in(2).scalar_type() == torch::kInt8 ? s8_limit_ : 255;
    torch::Tensor s = along_axis(lsq_scale(in(1), q, levels), q, axis);
    torch::Tensor z =
        has(2) ? along_axis(in(2).to(q.dtype()), q, axis) : torch::zeros({}, q.options());
    // x = (q − z) · s
    return {(q - z) * s};
  }

  const Node& n_;
  const TensorList& in_;
  bool training_;
  int64_t opset_;
  torch::Dtype fdtype_;
  int s8_limit_;
  const SumAcrossRanks* sum_across_ranks_;
};

}  // namespace

torch::Tensor to_torch(const Tensor& t) {
  if (!t.has_data()) fail_input("training backend: tensor without data");
  std::vector<int64_t> shape(t.shape().begin(), t.shape().end());
  const torch::Dtype dt = torch_dtype(t.dtype());
  torch::Tensor out = torch::empty(shape, torch::TensorOptions().dtype(dt));
  if (t.nbytes() > 0) std::memcpy(out.data_ptr(), t.raw(), t.nbytes());
  return out;
}

Tensor from_torch(const torch::Tensor& t) {
  torch::Tensor c = t.detach().contiguous().cpu();
  Tensor out(edgeopt_dtype(c.scalar_type()), Shape(c.sizes().begin(), c.sizes().end()));
  if (out.nbytes() > 0) std::memcpy(out.raw(), c.data_ptr(), out.nbytes());
  return out;
}

TorchGraph::TorchGraph(const Model& model, GraphOptions options)
    : nodes_(model.graph.nodes), options_(options) {
  opset_ = model.opset("");
  if (opset_ == 0) opset_ = 13;
  for (const ValueInfo* v : model.graph.real_inputs()) inputs_.push_back(*v);
  for (const ValueInfo& v : model.graph.outputs) outputs_.push_back(v.name);
  // Roles of initializers decide what trains: BN mean/var are buffers, Q/DQ scales train only
  // in QAT, every other float initializer is a parameter.
  std::set<std::string> bn_stats, qscales, fixed;
  s8_limit_.assign(nodes_.size(), 127);
  for (size_t k = 0; k < nodes_.size(); ++k) {
    const Node& n = nodes_[k];
    if (n.op_type == "BatchNormalization") {
      if (n.inputs.size() > 3) bn_stats.insert(n.inputs[3]);
      if (n.inputs.size() > 4) bn_stats.insert(n.inputs[4]);
    }
    if ((n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear") && n.inputs.size() > 1)
      qscales.insert(n.inputs[1]);
    if (n.op_type == "QuantizeLinear" && !n.outputs.empty())
      if (const NamedTensor* w = model.graph.find_initializer(n.inputs[0]);
          w && dtype_is_float(w->tensor.dtype()))
        s8_limit_[k] = options_.weight_qmax;
    // Clip bounds (ReLU6) and dropout ratios are hyper-parameters, not weights.
    if (n.op_type == "Clip")
      for (size_t i = 1; i < n.inputs.size(); ++i) fixed.insert(n.inputs[i]);
    if (n.op_type == "Dropout")
      for (size_t i = 1; i < n.inputs.size(); ++i) fixed.insert(n.inputs[i]);
  }
  for (const NamedTensor& init : model.graph.initializers) {
    torch::Tensor t = to_torch(init.tensor);
    if (!t.is_floating_point()) {
      constants_[init.name] = t;
      continue;
    }
    t = t.to(options_.dtype);
    if (bn_stats.count(init.name)) {
      buffers_.emplace_back(init.name, t);
    } else if (fixed.count(init.name) ||
               (qscales.count(init.name) && !options_.train_quant_scales)) {
      // a constant
    } else {
      t.set_requires_grad(true);
      params_.emplace_back(init.name, t);
    }
    constants_[init.name] = t;
  }
}

std::vector<torch::Tensor> TorchGraph::forward(const std::vector<torch::Tensor>& inputs,
                                               std::map<std::string, torch::Tensor>* capture) {
  if (inputs.size() != inputs_.size())
    fail_input("training backend: the model takes ", inputs_.size(), " inputs, got ",
               inputs.size());
  std::map<std::string, torch::Tensor> env = constants_;
  for (size_t i = 0; i < inputs.size(); ++i) {
    torch::Tensor t = inputs[i];
    env[inputs_[i].name] = t.is_floating_point() ? t.to(options_.dtype) : t;
  }
  for (size_t k = 0; k < nodes_.size(); ++k) {
    const Node& n = nodes_[k];
    TensorList in;
    in.reserve(n.inputs.size());
    for (const std::string& name : n.inputs) {
      if (name.empty()) {
        in.emplace_back();
        continue;
      }
      auto it = env.find(name);
      if (it == env.end())
        fail_input(n.describe(), ": input '", name, "' is not computed before the node");
      in.push_back(it->second);
    }
    TensorList out;
    try {
      out = Executor(n, in, training_, opset_, options_.dtype, s8_limit_[k],
                     &options_.sum_across_ranks)
                .run();
    } catch (const c10::Error& e) {
      // libtorch's message (shape mismatch, ...) without its backtrace, on one line.
      std::string msg = e.what_without_backtrace();
      msg = msg.substr(0, msg.find('\n'));
      fail_input(n.describe(), ": ", msg);
    }
    for (size_t i = 0; i < n.outputs.size() && i < out.size(); ++i) {
      if (n.outputs[i].empty()) continue;
      env[n.outputs[i]] = out[i];
      if (capture) (*capture)[n.outputs[i]] = out[i];
    }
  }
  std::vector<torch::Tensor> result;
  for (const std::string& name : outputs_) {
    auto it = env.find(name);
    if (it == env.end()) fail_input("training backend: graph output '", name, "' is not computed");
    result.push_back(it->second);
  }
  return result;
}

void TorchGraph::write_back(Model& model) const {
  torch::NoGradGuard no_grad;
  auto store = [&](const std::string& name, const torch::Tensor& t) {
    NamedTensor* init = model.graph.find_initializer(name);
    if (!init || init->tensor.dtype() != DType::kF32) return;
    torch::Tensor v = t.detach().to(torch::kFloat).contiguous();
    if (v.numel() != init->tensor.numel())
      fail_input("training backend: initializer '", name, "' changed size");
    init->tensor = from_torch(v).reshaped(init->tensor.shape());
  };
  for (const auto& [name, t] : params_) store(name, t);
  for (const auto& [name, t] : buffers_) store(name, t);
}

}  // namespace edgeopt::train
