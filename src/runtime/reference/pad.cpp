// Pad: grows (or, with negative pads, crops) each axis by pads[begin] before and pads[end]
// after. New elements are `value` (constant), the nearest edge element (edge), the mirror
// image without repeating the edge (reflect), or the wrapped-around input (wrap).
// Pads come from the `paddings` (opset 1) or `pads` (opset 2-10) attribute, or from inputs
// 1-3 (pads, constant_value, axes) from opset 11.
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

class Pad final : public NodeKernel {
 public:
  explicit Pad(const KernelInit& init)
      : NodeKernel(init), opset_(init.opset), value_attr_(init.node.attr_float("value", 0.0f)) {
    const std::string m = init.node.attr_string("mode", "constant");
    if (m == "constant")
      mode_ = PadMode::kConstant;
    else if (m == "reflect")
      mode_ = PadMode::kReflect;
    else if (m == "edge")
      mode_ = PadMode::kEdge;
    else if (m == "wrap")
      mode_ = PadMode::kWrap;
    else
      fail_input("node ", node_.describe(), ": unknown pad mode '", m, "'");
  }
  void infer(InferContext& ctx) override {
    const Shape& in = ctx.shape(0);
    std::vector<int64_t> pads;
    std::vector<int64_t> axes;
    if (opset_ < 11) {
      pads = node_.attr_ints(opset_ < 2 ? "paddings" : "pads");
    } else {
      pads = input_ints(ctx, 1);
      if (ctx.has_input(3)) axes = input_ints(ctx, 3);
    }
    const std::vector<int64_t> full = full_pads(in, pads, axes);
    const size_t r = in.size();
    Shape out(r);
    for (size_t d = 0; d < r; ++d) {
      out[d] = in[d] + full[d] + full[d + r];
      if (out[d] < 0) fail_input("node ", node_.describe(), ": pads crop axis ", d, " below zero");
      if (mode_ != PadMode::kConstant && in[d] == 0 && out[d] > 0)
        fail_input("node ", node_.describe(), ": cannot ", node_.attr_string("mode", ""),
                   "-pad an empty axis ", d);
    }
    ctx.set_output(0, ctx.dtype(0), out);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    const Shape& xs = x.shape();
    const Shape& ys = y.shape();
    const size_t r = xs.size();
    std::vector<int64_t> pads, axes;
    if (opset_ < 11) {
      pads = node_.attr_ints(opset_ < 2 ? "paddings" : "pads");
    } else {
      pads = ctx.input(1).to_i64_vector();
      if (ctx.has_input(3)) axes = ctx.input(3).to_i64_vector();
    }
    const std::vector<int64_t> full = full_pads(xs, pads, axes);
    // Per axis, the input coordinate each output coordinate reads, or -1 for the constant.
    std::vector<std::vector<int64_t>> src(r);
    for (size_t d = 0; d < r; ++d) {
      src[d].resize(ys[d]);
      for (int64_t o = 0; o < ys[d]; ++o) src[d][o] = source_index(o - full[d], xs[d]);
    }
    const Tensor fill = fill_value(ctx, x.dtype());
    const std::vector<int64_t> st = strides_of(xs);
    ElementCopier cp(x, y);
    const void* fill_ptr =
        x.dtype() == DType::kString ? static_cast<const void*>(fill.strings().data()) : fill.raw();
    if (y.numel() == 0) return;
    if (r == 0) {
      cp(0, 0);
      return;
    }
    // Row by row along the last axis: a row whose outer coordinates fall in the padding is
    // all `value`; otherwise its middle (the input row, or its cropped part) is one copy and
    // only the margins go element by element.
    const int64_t len = ys[r - 1], pb = full[r - 1];
    const int64_t mid_lo = std::clamp<int64_t>(pb, 0, len);
    const int64_t mid_hi = std::clamp<int64_t>(pb + xs[r - 1], mid_lo, len);
    const std::vector<int64_t>& last = src[r - 1];
    std::vector<int64_t> idx(r, 0);
    for (int64_t row = 0; row < y.numel(); row += len) {
      int64_t off = 0;
      bool inside = true;
      for (size_t d = 0; d + 1 < r; ++d) {
        const int64_t s = src[d][idx[d]];
        inside = inside && s >= 0;
        off += s * st[d];
      }
      auto margin = [&](int64_t o) {
        if (inside && last[o] >= 0)
          cp(row + o, off + last[o]);
        else
          cp.fill(row + o, fill_ptr);
      };
      if (inside) {
        for (int64_t o = 0; o < mid_lo; ++o) margin(o);
        cp.copy(row + mid_lo, off + mid_lo - pb, mid_hi - mid_lo);
        for (int64_t o = mid_hi; o < len; ++o) margin(o);
      } else {
        for (int64_t o = 0; o < len; ++o) margin(o);
      }
      for (int d = static_cast<int>(r) - 2; d >= 0; --d) {
        if (++idx[d] < ys[d]) break;
        idx[d] = 0;
      }
    }
  }

 private:
  // Pads for every axis, laid out [begin_0 .. begin_{r-1}, end_0 .. end_{r-1}].
  std::vector<int64_t> full_pads(const Shape& in, const std::vector<int64_t>& pads,
                                 const std::vector<int64_t>& axes) const {
    const int64_t r = static_cast<int64_t>(in.size());
    std::vector<int64_t> full(2 * r, 0);
    if (axes.empty()) {
      if (static_cast<int64_t>(pads.size()) != 2 * r)
        fail_input("node ", node_.describe(), ": ", pads.size(), " pads for rank ", r);
      return pads;
    }
    const int64_t n = static_cast<int64_t>(axes.size());
    if (static_cast<int64_t>(pads.size()) != 2 * n)
      fail_input("node ", node_.describe(), ": ", pads.size(), " pads for ", n, " axes");
    for (int64_t i = 0; i < n; ++i) {
      const int64_t a = normalize_axis(axes[i], r, node_);
      full[a] = pads[i];
      full[a + r] = pads[i + n];
    }
    return full;
  }
  int64_t source_index(int64_t c, int64_t dim) const {
    if (c >= 0 && c < dim) return c;
    switch (mode_) {
      case PadMode::kConstant:
        return -1;
      case PadMode::kEdge:
        return std::clamp<int64_t>(c, 0, dim - 1);
      case PadMode::kWrap:
        return ((c % dim) + dim) % dim;
      case PadMode::kReflect: {
        if (dim == 1) return 0;
        // Reflection about the edges has period 2 * (dim - 1).
        const int64_t period = 2 * (dim - 1);
        c = ((c % period) + period) % period;
        return c < dim ? c : period - c;
      }
    }
    return -1;
  }
  // The constant as a one-element tensor of the data's dtype.
  Tensor fill_value(const RunContext& ctx, DType dt) const {
    if (opset_ >= 11 && ctx.has_input(2) && ctx.input(2).numel() > 0) return ctx.input(2);
    Tensor v(dt, {});
    const double f = opset_ >= 11 ? 0.0 : value_attr_;
    switch (dt) {
      case DType::kString:
        break;
      case DType::kBool:
        v.data<uint8_t>()[0] = f != 0;
        break;
      case DType::kF16:
        v.data<uint16_t>()[0] = f32_to_f16(static_cast<float>(f));
        break;
      case DType::kBF16:
        v.data<uint16_t>()[0] = f32_to_bf16(static_cast<float>(f));
        break;
      default:
        EDGEOPT_DISPATCH_NUMERIC(dt, node_, { v.data<T>()[0] = static_cast<T>(f); });
    }
    return v;
  }

  int64_t opset_;
  float value_attr_;
  PadMode mode_ = PadMode::kConstant;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Pad", 1, INT_MAX, Pad);

}  // namespace
}  // namespace edgeopt::rt::ref
