// Static analysis of a model: parameters, MACs, weight bytes, activation memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "edgeopt/ir.h"
#include "edgeopt/session.h"

namespace edgeopt {

struct NodeStats {
  std::string name;
  std::string op_type;
  std::vector<Shape> input_shapes;  // empty shape with unknown=true when not inferable
  std::vector<Shape> output_shapes;
  std::vector<bool> input_known, output_known;
  int64_t params = 0;        // elements of initializers this node reads
  int64_t macs = 0;          // multiply-accumulates (Conv, ConvTranspose, Gemm, MatMul and
                             // their quantized forms)
  int64_t weight_bytes = 0;  // bytes of initializers this node reads
  int64_t live_bytes = 0;    // activation bytes alive while this node runs
  bool quantized = false;    // runs on integer weights (QDQ or QOperator)
};

struct ModelStats {
  int64_t params = 0;
  int64_t macs = 0;
  int64_t file_bytes = 0;
  int64_t compressed_bytes = 0;  // the file deflated (what an app package ships)
  int64_t weight_bytes = 0;
  std::map<std::string, int64_t> weight_bytes_by_dtype;
  std::map<std::string, int64_t> ops;  // op type histogram
  double sparsity = 0;                 // fraction of zero weight elements (rank >= 2 initializers)
  double quantized_share = 0;          // fraction of MACs in quantized nodes
  int64_t peak_activation_bytes = 0;   // max bytes of activations alive at once
  std::string peak_at;                 // node where the peak occurs
  int64_t batch = 1;
  std::vector<std::string> symbolic_batch;  // inputs whose symbolic dim 0 was set to `batch`
  std::vector<NodeStats> nodes;
};

// Shapes for the given batch (symbolic first dims of inputs → batch; a static first dim is
// replaced too when batch != 1). Uses ONNX shape inference with data propagation. Any other
// symbolic input dim throws Error (invalid input) naming it (fix it with set_input_shapes).
std::map<std::string, ValueInfo> infer_shapes_for_batch(const Model& model, int64_t batch);

// `file` (optional) gives file_bytes and compressed_bytes.
ModelStats inspect_model(const Model& model, int64_t batch, const std::filesystem::path& file = {});

// The runtime's memory plan for the input shapes inspect_model reports (static dims, a symbolic
// dim 0 = batch): the activation arena a Session with `options` plans for them (Session::plan;
// nothing runs). The figure `bench` reports for the same shapes, providers and threads: the same
// planner.
struct ArenaPlan {
  int64_t bytes = -1;     // < 0: not planned (`why`); 0: shapes depend on the data
  std::string providers;  // the session's providers, comma-separated
  int threads = 1;
  std::string why;
};
ArenaPlan plan_arena(const Model& model, int64_t batch, const SessionOptions& options);

}  // namespace edgeopt
