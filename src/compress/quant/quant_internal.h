// Internals of the quantizer shared by its files (not a public API).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "edgeopt/data.h"
#include "edgeopt/ir.h"
#include "edgeopt/quantize.h"
#include "edgeopt/session.h"

namespace edgeopt::quant {

// Float range of an activation tensor after calibration.
struct Range {
  float lo = 0, hi = 0;
};

// Ops computing with weights: quantized with int8 weights.
bool is_weighted_op(const Node& n, const Graph& g);
// Ops whose float inputs and outputs are kept in int8 between quantized ops.
bool is_passthrough_op(const std::string& op);

// Folds BN into convs, removes identities and dead code (what quantization expects first).
void prepare_for_quantization(Model& m);

// The nodes that will be quantized: weighted and pass-through ops not in `excluded`.
std::set<std::string> select_nodes(const Model& m, const std::set<std::string>& excluded);

// Float activation tensors around the selected nodes (inputs that are not initializers and
// outputs), in graph order.
std::vector<std::string> tensors_to_calibrate(const Model& m, const std::set<std::string>& nodes);

// Feeds datasets to a model and returns intermediate tensors. The model's outputs are extended
// with `tensors` (names of any values); run() returns them in that order.
class ProbeRunner {
 public:
  ProbeRunner(const Model& m, const std::vector<std::string>& tensors);
  // Checks the data fits the model's inputs (one unnamed array for a single-input model, else
  // one array per input named after it; sample shapes) and maps arrays to inputs; throws Error
  // otherwise. run() calls it on first use.
  void check_data(Dataset& data);
  // Samples read per run(): `requested`, or the model's static batch / 64 when 0.
  int64_t batch(int64_t requested) const;
  // Runs samples [begin, begin + n) (any n, whatever the model's batch dim) and returns the
  // probed tensors with n rows.
  std::vector<Tensor> run(Dataset& data, int64_t begin, int64_t n);
  const std::vector<std::string>& names() const { return names_; }

 private:
  Session session_;
  std::vector<std::string> names_;
  std::vector<Shape> input_shapes_;  // per model input, -1 for a dynamic dim
  std::vector<size_t> source_;       // per model input: its array in the dataset (0 = x)
};

// Streams the calibration set through the model and returns one histogram per tensor.
std::map<std::string, Histogram> collect_histograms(const Model& m,
                                                    const std::vector<std::string>& tensors,
                                                    Dataset& calib, const QuantizeOptions& options);

// Ranges from histograms with the chosen method.
std::map<std::string, Range> ranges_from_histograms(const std::map<std::string, Histogram>& h,
                                                    const QuantizeOptions& options);

// Inserts QuantizeLinear/DequantizeLinear pairs (QDQ format) for the selected nodes.
// Returns the number of weighted nodes quantized.
int64_t build_qdq(Model& m, const std::set<std::string>& nodes,
                  const std::map<std::string, Range>& ranges, const QuantizeOptions& options);
// Turns DQ → Conv/MatMul → Q groups of a QDQ model into QLinearConv/QLinearMatMul.
int64_t qdq_to_qoperator(Model& m);

// Dynamic quantization of MatMul/Gemm; `qmax` is the weight range (127, or 63 for reduce-range).
int64_t quantize_dynamic(Model& m, const std::set<std::string>& excluded, bool per_channel,
                         int qmax);
void convert_fp16(Model& m);
// Cross-layer equalization of Conv → Relu → Conv pairs; returns the number of pairs.
int64_t cross_layer_equalize(Model& m);

// Sessions of the quantizer run on the reference provider: it is the oracle, so calibration
// ranges and accuracy figures never depend on a fast provider's rounding or coverage.
SessionOptions reference_session();

// Removes initializers no node or graph output references.
void remove_unused_initializers(Graph& g);

// Int8 symmetric weight quantization along `axis` (-1: per tensor): q = round(w / S_c),
// S_c = max|w_c| / qmax (127, or 63 for reduce_range). Returns q and the scales.
struct QuantizedWeight {
  Tensor q;      // i8
  Tensor scale;  // f32, scalar or 1-D
  Tensor zero;   // i8 zeros of the scale's shape
};
// `name` (the weight's) is for the error when a weight has inf or NaN values: their scale
// would be inf.
QuantizedWeight quantize_weight(const Tensor& w, int axis, int qmax = 127,
                                const std::string& name = "");
// The axis of a weighted node's weight that gets one scale per output channel (-1: per tensor).
int weight_axis(const Node& n, bool per_channel);

}  // namespace edgeopt::quant
