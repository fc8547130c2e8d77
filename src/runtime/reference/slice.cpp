// Slice: out takes, along each sliced axis, the elements start, start+step, ... before end.
// Opset 1-9 read starts/ends/axes from attributes (step 1); opset >= 10 from inputs 1-4.
// Bounds follow numpy: a negative start/end counts from the end, then both are clamped to
// [0, dim] for a positive step and [-1, dim-1] (start: [0, dim-1]) for a negative one.
#include "shape_common.h"

namespace edgeopt::rt::ref {
namespace {

struct SliceParams {
  std::vector<int64_t> starts, ends, axes, steps;
};

// Per axis of the input: first element, step and element count of the slice.
struct SliceGeometry {
  std::vector<int64_t> start, step;
  Shape out;
};

class Slice final : public NodeKernel {
 public:
  explicit Slice(const KernelInit& init) : NodeKernel(init), opset_(init.opset) {}
  void infer(InferContext& ctx) override {
    // starts and ends are required: input_ints() fails on their absence.
    const SliceParams p =
        params([&](size_t i) { return i < 3 || ctx.has_input(i) ? input_ints(ctx, i) : Ints{}; });
    ctx.set_output(0, ctx.dtype(0), geometry(ctx.shape(0), p).out);
  }
  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    Tensor& y = ctx.output(0);
    if (y.numel() == 0) return;
    const SliceParams p =
        params([&](size_t i) { return ctx.has_input(i) ? ctx.input(i).to_i64_vector() : Ints{}; });
    const SliceGeometry g = geometry(x.shape(), p);
    // out[i] = in[start + i * step] per axis: a strided view with offset sum(start * stride).
    const std::vector<int64_t> st = strides_of(x.shape());
    std::vector<int64_t> in_strides(st.size());
    int64_t base = 0;
    for (size_t d = 0; d < st.size(); ++d) {
      in_strides[d] = st[d] * g.step[d];
      base += g.start[d] * st[d];
    }
    copy_view(x, base, in_strides, y);
  }

 private:
  using Ints = std::vector<int64_t>;

  // Opset 1-9: the attributes; opset >= 10: inputs 1-4, read by input(i) (empty when absent).
  template <class Input>
  SliceParams params(Input&& input) const {
    if (opset_ < 10)
      return {node_.attr_ints("starts"), node_.attr_ints("ends"), node_.attr_ints("axes"), {}};
    return {input(1), input(2), input(3), input(4)};
  }

  SliceGeometry geometry(const Shape& in, SliceParams p) const {
    const int64_t r = static_cast<int64_t>(in.size());
    const size_t n = p.starts.size();
    if (p.axes.empty())
      for (size_t i = 0; i < n; ++i) p.axes.push_back(static_cast<int64_t>(i));
    if (p.steps.empty()) p.steps.assign(n, 1);
    if (p.ends.size() != n || p.axes.size() != n || p.steps.size() != n)
      fail_input("node ", node_.describe(), ": starts, ends, axes and steps differ in length");
    SliceGeometry g{std::vector<int64_t>(r, 0), std::vector<int64_t>(r, 1), in};
    std::vector<char> seen(r, 0);
    for (size_t i = 0; i < n; ++i) {
      const int64_t a = normalize_axis(p.axes[i], r, node_);
      if (seen[a]++) fail_input("node ", node_.describe(), ": axis ", a, " sliced twice");
      const int64_t dim = in[a], step = p.steps[i];
      if (step == 0) fail_input("node ", node_.describe(), ": step is 0");
      int64_t s = p.starts[i], e = p.ends[i];
      if (s < 0) s += dim;
      if (e < 0) e += dim;
      if (step > 0) {
        s = std::clamp<int64_t>(s, 0, dim);
        e = std::clamp<int64_t>(e, 0, dim);
        g.out[a] = e > s ? (e - s - 1) / step + 1 : 0;  // ceil((e - s) / step)
      } else if (dim == 0) {
        s = 0;
        g.out[a] = 0;
      } else {
        s = std::clamp<int64_t>(s, 0, dim - 1);
        e = std::clamp<int64_t>(e, -1, dim - 1);
        g.out[a] = s > e ? (s - e - 1) / -step + 1 : 0;  // ceil((s - e) / -step)
      }
      g.start[a] = s;
      g.step[a] = step;
    }
    return g;
  }

  int64_t opset_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Slice", 1, INT_MAX, Slice);

}  // namespace
}  // namespace edgeopt::rt::ref
