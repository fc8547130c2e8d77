// Scan: iterates `body` over slices of the M scan inputs along their scan axes
// (scan_input_axes, default 0; scan_input_directions 1 walks from the end). The body takes
// (s_1..s_N, x_1..x_M) and gives (s_1'..s_N', y_1..y_K): the N states are carried from one
// iteration to the next, the y are stacked along scan_output_axes (in reverse order when
// scan_output_directions is 1). Node inputs: initial states, scan inputs; outputs: final
// states, stacked y. Outputs are given while planning once the inputs are known.
// Opset 8 puts a batch axis 0 on every state, scan input and output and takes
// sequence_lens first (only full lengths are supported) and `directions`: each batch row is
// scanned on its own along axis 1 and the results are stacked again.
#include "shape_common.h"
#include "subgraph.h"

namespace edgeopt::rt::ref {
namespace {

class Scan final : public ControlFlowKernel {
 public:
  explicit Scan(const KernelInit& init)
      : ControlFlowKernel(init),
        body_(init, "body"),
        num_scan_in_(init.node.attr_int("num_scan_inputs", -1)),
        batched_(init.opset < 9) {
    subgraphs_ = {&body_};
    const int64_t own = static_cast<int64_t>(init.node.inputs.size()) - (batched_ ? 1 : 0);
    if (num_scan_in_ < 1 || num_scan_in_ > own)
      fail_input("node ", node_.describe(), ": num_scan_inputs must be in [1, ", own, "]");
    num_states_ = static_cast<size_t>(own - num_scan_in_);
    num_scan_out_ = init.node.outputs.size() - std::min(num_states_, init.node.outputs.size());
    if (body_.num_inputs() != static_cast<size_t>(own) ||
        body_.num_outputs() != init.node.outputs.size() || init.node.outputs.size() < num_states_)
      fail_input("node ", node_.describe(), ": body takes ", body_.num_inputs(),
                 " input(s) and gives ", body_.num_outputs(), " for ", own, " input(s) and ",
                 init.node.outputs.size(), " output(s)");
    in_axes_ = init.node.attr_ints("scan_input_axes", std::vector<int64_t>(num_scan_in_, 0));
    in_dirs_ = init.node.attr_ints(batched_ ? "directions" : "scan_input_directions",
                                   std::vector<int64_t>(num_scan_in_, 0));
    out_axes_ = init.node.attr_ints("scan_output_axes", std::vector<int64_t>(num_scan_out_, 0));
    out_dirs_ =
        init.node.attr_ints("scan_output_directions", std::vector<int64_t>(num_scan_out_, 0));
    if (in_axes_.size() != static_cast<size_t>(num_scan_in_) ||
        in_dirs_.size() != static_cast<size_t>(num_scan_in_) || out_axes_.size() != num_scan_out_ ||
        out_dirs_.size() != num_scan_out_)
      fail_input("node ", node_.describe(),
                 ": scan axes/directions attributes must have one entry per scan input/output");
  }

 private:
  std::vector<Tensor> execute(const std::vector<const Tensor*>& in) override {
    if (!batched_) {
      std::vector<Tensor> own;
      for (size_t k = 0; k < num_states_ + num_scan_in_; ++k) own.push_back(*in[k]);
      return scan(own, in);
    }
    const Tensor& x0 = *in[1 + num_states_];
    if (x0.rank() < 2)
      fail_input("node ", node_.describe(), ": scan inputs need batch and sequence axes");
    if (in[0])
      for (int64_t b = 0; b < in[0]->numel(); ++b)
        if (in[0]->get_i64(b) != x0.shape()[1])
          fail_unsupported("node ", node_.describe(),
                           ": Scan-8 with a sequence_lens shorter than the sequence");
    std::vector<std::vector<Tensor>> rows(num_states_ + num_scan_out_);
    for (int64_t b = 0; b < x0.shape()[0]; ++b) {
      std::vector<Tensor> own;
      for (size_t k = 0; k < num_states_ + num_scan_in_; ++k)
        own.push_back(slice_axis(*in[1 + k], 0, b));
      std::vector<Tensor> out = scan(own, in);
      for (size_t o = 0; o < out.size(); ++o) rows[o].push_back(std::move(out[o]));
    }
    std::vector<Tensor> result;
    for (auto& r : rows) result.push_back(stack_axis(r, 0, r[0].dtype(), r[0].shape()));
    return result;
  }

  // Scans one set of states and scan inputs (`own`); `in` are the node's inputs, for the
  // outer values the body reads.
  std::vector<Tensor> scan(const std::vector<Tensor>& own, const std::vector<const Tensor*>& in) {
    std::vector<Tensor> states(own.begin(), own.begin() + num_states_);
    std::vector<int64_t> axes;
    int64_t length = -1;
    for (int64_t k = 0; k < num_scan_in_; ++k) {
      const Tensor& x = own[num_states_ + k];
      axes.push_back(normalize_axis(in_axes_[k], x.rank(), node_));
      const int64_t n = x.shape()[axes.back()];
      if (length >= 0 && n != length)
        fail_input("node ", node_.describe(), ": scan inputs have different lengths (", length,
                   " and ", n, ")");
      length = n;
    }
    std::vector<std::vector<Tensor>> ys(num_scan_out_);
    for (int64_t t = 0; t < length; ++t) {
      std::vector<Tensor> formal = states;
      for (int64_t k = 0; k < num_scan_in_; ++k)
        formal.push_back(
            slice_axis(own[num_states_ + k], axes[k], in_dirs_[k] ? length - 1 - t : t));
      std::vector<Tensor> out = body_.run(std::move(formal), in);
      for (size_t k = 0; k < num_states_; ++k) states[k] = std::move(out[k]);
      for (size_t k = 0; k < num_scan_out_; ++k) ys[k].push_back(std::move(out[num_states_ + k]));
    }
    std::vector<Tensor> result = std::move(states);
    for (size_t k = 0; k < num_scan_out_; ++k) {
      if (ys[k].empty()) fail_unsupported("node ", node_.describe(), ": scan over zero slices");
      if (out_dirs_[k]) std::reverse(ys[k].begin(), ys[k].end());
      const Shape& part = ys[k][0].shape();
      for (const Tensor& y : ys[k])
        if (y.shape() != part)
          fail_input("node ", node_.describe(), ": scan output ", k, " changes shape from ",
                     shape_str(part), " to ", shape_str(y.shape()), " between iterations");
      const int64_t axis =
          normalize_axis(out_axes_[k], static_cast<int64_t>(part.size()) + 1, node_);
      result.push_back(stack_axis(ys[k], axis, ys[k][0].dtype(), part));
    }
    return result;
  }

  Subgraph body_;
  int64_t num_scan_in_;
  bool batched_;  // opset 8
  size_t num_states_ = 0;
  size_t num_scan_out_ = 0;
  std::vector<int64_t> in_axes_, in_dirs_, out_axes_, out_dirs_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Scan", 8, INT_MAX, Scan);

}  // namespace
}  // namespace edgeopt::rt::ref
