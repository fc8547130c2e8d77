// A subgraph of a node (If branch, Loop or Scan body) run by a nested Session over the
// providers of the outer one. The body's formal inputs come first; the outer-scope values it
// reads follow, taken from the node's extra inputs (KernelInit::outer_inputs), so that the
// nested session sees them as ordinary inputs and plans by their shapes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common.h"
#include "edgeopt/session.h"

namespace edgeopt::rt::ref {

class Subgraph {
 public:
  // The graph attribute `attr` of init.node; throws Error naming the node when it is absent.
  Subgraph(const KernelInit& init, const std::string& attr);
  size_t num_inputs() const { return num_formal_; }
  size_t num_outputs() const { return num_outputs_; }
  // Runs the body. `node_inputs` are all inputs of the node as its kernel sees them (own
  // inputs, then outer values); every outer value the body reads must have data.
  std::vector<Tensor> run(std::vector<Tensor> formal,
                          const std::vector<const Tensor*>& node_inputs);
  // The body's outputs (dtype and shape, no data) for these inputs' dtypes and shapes, planned
  // as run() will find it; empty when the body's shapes depend on the data.
  std::vector<Tensor> planned_outputs(const std::vector<Tensor>& formal,
                                      const std::vector<const Tensor*>& node_inputs);
  // The nested session's profile, node names prefixed with the attribute ("body/...").
  void append_profile(std::vector<NodeProfile>& out) const;
  void reset_profile() { session_->reset_profile(); }

 private:
  const Node& node_;
  std::string attr_;
  size_t num_formal_ = 0;
  size_t num_outputs_ = 0;
  std::vector<size_t> outer_at_;  // per outer value of the body: its index in node_inputs
  std::unique_ptr<Session> session_;
};

// If, Loop and Scan: outputs are computed whole from the inputs' values, already while planning
// when those are known (so later nodes are planned by the real shapes), else at run time.
class ControlFlowKernel : public NodeKernel {
 public:
  using NodeKernel::NodeKernel;
  void infer(InferContext& ctx) override;
  void run(RunContext& ctx) override;
  void append_profile(std::vector<NodeProfile>& out) const override {
    for (const Subgraph* g : subgraphs_) g->append_profile(out);
  }
  void reset_profile() override {
    for (Subgraph* g : subgraphs_) g->reset_profile();
  }

 protected:
  // The node's outputs from all its inputs (own inputs, then outer values; nullptr if absent).
  virtual std::vector<Tensor> execute(const std::vector<const Tensor*>& in) = 0;
  // The node's subgraphs (for their profiles), set by the subclass's constructor.
  std::vector<Subgraph*> subgraphs_;
};

// Every input of the node with data (InferContext::value for present inputs, nullptr for
// absent ones); throws NeedValue while planning when one is not known yet.
std::vector<const Tensor*> input_values(const InferContext& ctx);

// Copies `src` into the preallocated `dst` of the same dtype and element count.
void copy_tensor(const Tensor& src, Tensor& dst);

// Element `i` along `axis` of `t`, with that axis removed (a copy).
Tensor slice_axis(const Tensor& t, int64_t axis, int64_t i);

// Stacks equally shaped tensors along a new axis `axis` (0 <= axis <= rank).
Tensor stack_axis(const std::vector<Tensor>& parts, int64_t axis, DType dtype,
                  const Shape& part_shape);

}  // namespace edgeopt::rt::ref
