// Calibration: streams a dataset through the fp32 model with its intermediate tensors exposed as
// extra graph outputs, and accumulates one fixed-size histogram per tensor (memory does not grow
// with the number of samples).
#include <algorithm>
#include <cmath>

#include "edgeopt/error.h"
#include "edgeopt/eval.h"
#include "quant_internal.h"

namespace edgeopt::quant {
namespace {

Model with_probes(const Model& m, const std::vector<std::string>& tensors) {
  Model p = m;
  for (const std::string& t : tensors) {
    if (p.graph.is_graph_output(t)) continue;
    ValueInfo v;
    v.name = t;
    if (const ValueInfo* known = m.graph.find_value_info(t)) v.dtype = known->dtype;
    if (v.dtype == DType::kUndefined) v.dtype = DType::kF32;
    p.graph.outputs.push_back(v);
  }
  return p;
}

// Only f32-input models can be calibrated: checked before the session is built, so the error
// names the input instead of a kernel.
const Model& require_float_input(const Model& m) {
  const std::vector<const ValueInfo*> ins = m.graph.real_inputs();
  if (ins.empty()) fail_input("model has no input to feed calibration data to");
  const ValueInfo& in = *ins[0];
  if (in.dtype != DType::kF32)
    fail_input("model input '", in.name, "' is ", dtype_name(in.dtype),
               "; calibration data is f32 (only f32-input models can be calibrated)");
  return m;
}

}  // namespace

SessionOptions reference_session() {
  SessionOptions o;
  o.providers = {"reference"};
  return o;
}

ProbeRunner::ProbeRunner(const Model& m, const std::vector<std::string>& tensors)
    : session_(with_probes(require_float_input(m), tensors), reference_session()), names_(tensors) {
  const ValueInfo& in = *m.graph.real_inputs()[0];
  for (const Dim& d : in.dims) input_shape_.push_back(d.is_static() ? d.value : -1);
}

void ProbeRunner::check_data(Dataset& data) const {
  const Shape s = data.sample_shape();
  if (data.size() <= 0) fail_input("calibration set ", data.describe(), " is empty");
  // Reading one sample surfaces undecodable data (an unsupported dtype) before the long run,
  // with the data set named.
  try {
    data.read(0, 1);
  } catch (const Error& e) {
    fail_input("calibration data ", data.describe(), " cannot be read: ", e.what());
  }
  if (input_shape_.empty()) return;
  const Shape want(input_shape_.begin() + 1, input_shape_.end());
  bool ok = want.size() == s.size();
  for (size_t i = 0; ok && i < want.size(); ++i) ok = want[i] < 0 || want[i] == s[i];
  if (!ok) {
    // The same element count in another layout (N×1×28×28 data for an N×784 model) is fed
    // reshaped, as eval does.
    int64_t wn = 1;
    bool dynamic = false;
    for (int64_t d : want) d < 0 ? (dynamic = true) : (wn *= d, false);
    ok = !dynamic && wn == shape_numel(s);
  }
  if (!ok) {
    std::string ws;
    for (size_t i = 0; i < input_shape_.size(); ++i)
      ws += (i ? "x" : "") +
            (input_shape_[i] < 0 ? std::string("N") : std::to_string(input_shape_[i]));
    fail_input("calibration data samples are ", shape_str(s), " but the model input '",
               session_.inputs()[0].name, "' is ", ws);
  }
}

int64_t ProbeRunner::batch(int64_t requested) const { return eval_batch_size(session_, requested); }

std::vector<Tensor> ProbeRunner::run(Dataset& data, int64_t begin, int64_t n) {
  Batch b = data.read(begin, n);
  Shape shape = input_shape_;
  if (shape.empty()) {
    shape = b.x.shape();
  } else {
    shape[0] = n;
    for (size_t i = 1; i < shape.size(); ++i)
      if (shape[i] < 0) shape[i] = b.x.dim(static_cast<int>(i));
  }
  Tensor x = b.x.reshaped(shape);
  std::vector<Tensor> outs = session_.run(std::vector<Tensor>{x});
  const std::vector<ValueInfo>& ov = session_.outputs();
  std::vector<Tensor> probes;
  probes.reserve(names_.size());
  for (const std::string& t : names_) {
    size_t k = 0;
    while (k < ov.size() && ov[k].name != t) ++k;
    probes.push_back(k < ov.size() ? outs[k] : Tensor());
  }
  return probes;
}

std::map<std::string, Histogram> collect_histograms(const Model& m,
                                                    const std::vector<std::string>& tensors,
                                                    Dataset& calib,
                                                    const QuantizeOptions& options) {
  ProbeRunner runner(m, tensors);
  runner.check_data(calib);
  const int64_t total = std::min<int64_t>(options.samples, calib.size());
  const int64_t batch = runner.batch(options.batch);
  std::map<std::string, Histogram> hist;
  for (int64_t done = 0; done < total;) {
    int64_t n = std::min(batch, total - done);
    // A model with a static batch takes exactly that many samples per run.
    if (n < batch && runner.batch(0) == batch && batch > 1 && done > 0) break;
    std::vector<Tensor> outs = runner.run(calib, done, n);
    for (size_t i = 0; i < tensors.size(); ++i) {
      const Tensor& t = outs[i];
      if (!t.defined() || t.dtype() != DType::kF32 || !t.has_data()) continue;
      hist.try_emplace(tensors[i]).first->second.add(t.data<float>(), t.numel());
    }
    done += n;
    if (options.progress) options.progress("calibrate", done, total);
  }
  return hist;
}

std::map<std::string, Range> ranges_from_histograms(const std::map<std::string, Histogram>& h,
                                                    const QuantizeOptions& options) {
  std::map<std::string, Range> out;
  for (const auto& [name, hist] : h) {
    // A non-negative tensor quantized to u8 asymmetric uses all 255 steps on [0, T]; a signed
    // or symmetric one has 127 steps on each side.
    const bool one_sided =
        hist.min() >= 0 && options.activations == DType::kU8 && !options.symmetric;
    const double t =
        histogram_threshold(hist, options.method, options.percentile, one_sided ? 255 : 127);
    Range r;
    r.lo = std::max(hist.min(), static_cast<float>(-t));
    r.hi = std::min(hist.max(), static_cast<float>(t));
    out[name] = r;
  }
  return out;
}

}  // namespace edgeopt::quant
