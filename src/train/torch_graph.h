// TorchGraph: an edgeopt::Model executed op by op with libtorch tensors, so that autograd gives
// the gradients of every float initializer. The ONNX graph stays the one model format: trained
// values are written back into the Model's initializers.
//
// Internal to src/train (includes torch). Values are torch tensors keyed by ONNX value name;
// integer tensors (shapes, indices) are int64 torch tensors and shape math runs as tensor ops.
// QuantizeLinear/DequantizeLinear run as fake quantization: QuantizeLinear yields the integer
// levels as floats, q = clamp(round_ste(x / s) + z, qmin, qmax), where round_ste rounds in the
// forward pass and passes the gradient straight through; DequantizeLinear gives (q − z)·s.
// Together the gradient w.r.t. x is 1 inside the clipping range and 0 outside, and the
// gradient w.r.t. s is the LSQ one (round(x/s) − x/s inside, qmin/qmax − z outside).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "edgeopt/ir.h"

namespace edgeopt::train {

// Σ over the ranks of a data-parallel job, differentiable (distributed.h).
using SumAcrossRanks = std::function<torch::Tensor(const torch::Tensor&)>;

struct GraphOptions {
  // Floating point type of parameters and computation (kDouble for gradient checks).
  torch::Dtype dtype = torch::kFloat;
  // Make QuantizeLinear/DequantizeLinear scales trainable (QAT). Otherwise they are constants.
  bool train_quant_scales = false;
  // QuantizeLinear of a float initializer to int8 (a weight) saturates to
  // [−weight_qmax, weight_qmax]: 127 for 8-bit weights, 63 for 7-bit ones (reduce range).
  int weight_qmax = 127;
  // Set in a data-parallel job: BatchNormalization in train mode takes the statistics of the
  // global batch (synchronised BN).
  SumAcrossRanks sum_across_ranks;
};

class TorchGraph {
 public:
  // Copies what it needs from `model`; float initializers become parameters (requires_grad),
  // BatchNormalization running mean/var become buffers. Throws Error for unsupported ops.
  explicit TorchGraph(const Model& model, GraphOptions options = {});

  // Train mode: BatchNormalization uses batch statistics and updates its running statistics
  // (running = momentum·running + (1 − momentum)·batch, ONNX's convention), Dropout drops.
  void train(bool on) { training_ = on; }
  bool is_training() const { return training_; }

  // Runs the graph. Inputs by position of the graph's real inputs. With `capture`, every
  // computed value is stored there by name (calibration, debugging).
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs,
                                     std::map<std::string, torch::Tensor>* capture = nullptr);

  // Trainable tensors in initializer order, and BN running statistics.
  const std::vector<std::pair<std::string, torch::Tensor>>& parameters() const { return params_; }
  const std::vector<std::pair<std::string, torch::Tensor>>& buffers() const { return buffers_; }

  // Copies parameter and buffer values (as f32) into the initializers of `model` (same names).
  void write_back(Model& model) const;

  // Names and (possibly symbolic) shapes of the real inputs.
  const std::vector<ValueInfo>& inputs() const { return inputs_; }

 private:
  std::vector<Node> nodes_;
  std::vector<ValueInfo> inputs_;
  std::vector<std::string> outputs_;
  std::vector<int> s8_limit_;  // per node: int8 range of a QuantizeLinear (weights: weight_qmax)
  std::map<std::string, torch::Tensor> constants_;  // params, buffers and other initializers
  std::vector<std::pair<std::string, torch::Tensor>> params_, buffers_;
  GraphOptions options_;
  int64_t opset_ = 13;
  bool training_ = false;
};

// edgeopt::Tensor ⇄ torch::Tensor (deep copies). Float tensors keep their dtype.
torch::Tensor to_torch(const Tensor& t);
Tensor from_torch(const torch::Tensor& t);

}  // namespace edgeopt::train
