// Loop: runs `body` while (no trip count M or i < M) and (no condition or cond is true).
// The body takes (iteration number i, cond, v_1..v_N) and gives (cond', v_1'..v_N',
// s_1..s_K): the v are loop-carried (each iteration reads the previous one's), the s are
// stacked along a new first axis into the scan outputs. Node outputs: final v, then the
// stacked s. The trip count and condition are data, so infer() runs the loop and gives the
// outputs' values (planned at run time).
#include "subgraph.h"

namespace edgeopt::rt::ref {
namespace {

class Loop final : public ControlFlowKernel {
 public:
  explicit Loop(const KernelInit& init) : ControlFlowKernel(init), body_(init, "body") {
    subgraphs_ = {&body_};
    const size_t carried = init.node.inputs.size() < 2 ? 0 : init.node.inputs.size() - 2;
    if (body_.num_inputs() != carried + 2 || body_.num_outputs() < carried + 1 ||
        init.node.outputs.size() != body_.num_outputs() - 1)
      fail_input("node ", node_.describe(), ": body takes ", body_.num_inputs(),
                 " input(s) and gives ", body_.num_outputs(), " output(s) for ", carried,
                 " loop-carried value(s) and ", init.node.outputs.size(), " node output(s)");
    num_carried_ = carried;
    for (size_t k = carried + 1; k < init.node.attr("body")->g->outputs.size(); ++k)
      scan_dtypes_.push_back(init.node.attr("body")->g->outputs[k].dtype);
  }

 private:
  std::vector<Tensor> execute(const std::vector<const Tensor*>& in) override {
    const bool has_m = in.size() > 0 && in[0];
    const bool has_cond = in.size() > 1 && in[1];
    const int64_t trip = has_m ? in[0]->get_i64(0) : 0;
    bool cond = has_cond ? in[1]->get_f64(0) != 0 : true;
    std::vector<Tensor> carried;
    for (size_t k = 0; k < num_carried_; ++k) {
      if (!in[2 + k])
        fail_input("node ", node_.describe(), ": loop-carried input ", k, " is absent");
      carried.push_back(*in[2 + k]);
    }
    const size_t num_scans = scan_dtypes_.size();
    std::vector<std::vector<Tensor>> scans(num_scans);
    for (int64_t i = 0; (!has_m || i < trip) && cond; ++i) {
      std::vector<Tensor> formal;
      formal.push_back(Tensor::scalar<int64_t>(i));
      formal.push_back(Tensor::scalar<bool>(cond));
      for (const Tensor& v : carried) formal.push_back(v);
      std::vector<Tensor> out = body_.run(std::move(formal), in);
      cond = out[0].get_f64(0) != 0;
      for (size_t k = 0; k < num_carried_; ++k) carried[k] = std::move(out[1 + k]);
      for (size_t k = 0; k < num_scans; ++k) {
        Tensor& s = out[1 + num_carried_ + k];
        if (!scans[k].empty() && s.shape() != scans[k][0].shape())
          fail_input("node ", node_.describe(), ": scan output ", k, " changes shape from ",
                     shape_str(scans[k][0].shape()), " to ", shape_str(s.shape()),
                     " between iterations");
        scans[k].push_back(std::move(s));
      }
    }
    std::vector<Tensor> result = std::move(carried);
    for (size_t k = 0; k < num_scans; ++k) {
      if (scans[k].empty()) {
        // No iteration ran: an empty stack (the per-iteration shape is unknown).
        const DType dt = scan_dtypes_[k] == DType::kUndefined ? DType::kF32 : scan_dtypes_[k];
        result.push_back(Tensor(dt, {0}));
      } else {
        result.push_back(stack_axis(scans[k], 0, scans[k][0].dtype(), scans[k][0].shape()));
      }
    }
    return result;
  }

  Subgraph body_;
  size_t num_carried_ = 0;
  std::vector<DType> scan_dtypes_;
};

EDGEOPT_REGISTER_KERNEL(kProvider, "", "Loop", 1, INT_MAX, Loop);

}  // namespace
}  // namespace edgeopt::rt::ref
