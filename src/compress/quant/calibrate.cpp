// Calibration: streams a dataset through the fp32 model with its intermediate tensors exposed as
// extra graph outputs, and accumulates one fixed-size histogram per tensor (memory does not grow
// with the number of samples).
#include <algorithm>
#include <cmath>
#include <cstring>

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
  for (const ValueInfo* in : ins)
    if (in->dtype != DType::kF32)
      fail_input("model input '", in->name, "' is ", dtype_name(in->dtype),
                 "; calibration data is f32 (only f32-input models can be calibrated)");
  return m;
}

std::string wanted_str(const Shape& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += 'x';
    out += s[i] < 0 ? std::string("N") : std::to_string(s[i]);
  }
  return out;
}

// Whether samples of `have` fit an input of `want` (-1: any): the same dims, or, for a fully
// static input, the same element count in another layout (N×1×28×28 data for an N×784 model),
// fed reshaped as eval does.
bool fits(const Shape& want, const Shape& have) {
  const Shape w(want.begin() + 1, want.end());
  bool ok = w.size() == have.size();
  for (size_t i = 0; ok && i < w.size(); ++i) ok = w[i] < 0 || w[i] == have[i];
  if (ok) return true;
  for (int64_t d : w)
    if (d < 0) return false;
  return shape_numel(w) == shape_numel(have);
}

// Rows [0, valid) of every chunk's tensor, concatenated: what one run over all rows gives.
// Tensors without the chunk's leading dim (not per sample) are taken from the first chunk.
Tensor concat_rows(const std::vector<Tensor>& parts, int64_t chunk, int64_t n) {
  const Tensor& first = parts[0];
  if (chunk == n || !first.has_data() || first.rank() < 1 || first.dim(0) != chunk ||
      first.dtype() == DType::kString)
    return first;
  Shape shape = first.shape();
  shape[0] = n;
  Tensor out(first.dtype(), shape);
  const size_t row = first.nbytes() / static_cast<size_t>(chunk);
  auto* dst = static_cast<uint8_t*>(out.raw());
  for (size_t k = 0; k < parts.size(); ++k) {
    const int64_t valid = std::min(chunk, n - static_cast<int64_t>(k) * chunk);
    std::memcpy(dst, parts[k].raw(), row * static_cast<size_t>(valid));
    dst += row * static_cast<size_t>(valid);
  }
  return out;
}

}  // namespace

SessionOptions reference_session() {
  SessionOptions o;
  o.providers = {"reference"};
  return o;
}

ProbeRunner::ProbeRunner(const Model& m, const std::vector<std::string>& tensors)
    : session_(with_probes(require_float_input(m), tensors), reference_session()), names_(tensors) {
  for (const ValueInfo* in : m.graph.real_inputs()) {
    Shape s;
    for (const Dim& d : in->dims) s.push_back(d.is_static() ? d.value : -1);
    input_shapes_.push_back(std::move(s));
  }
}

void ProbeRunner::check_data(Dataset& data) {
  if (data.size() <= 0) fail_input("calibration set ", data.describe(), " is empty");
  // Reading one sample surfaces undecodable data (an unsupported dtype) before the long run,
  // with the data set named.
  try {
    data.read(0, 1);
  } catch (const Error& e) {
    fail_input("calibration data ", data.describe(), " cannot be read: ", e.what());
  }
  const std::vector<ValueInfo>& ins = session_.inputs();
  const std::vector<std::string> names = data.input_names();
  const std::vector<Shape> shapes = data.input_shapes();
  source_.assign(ins.size(), 0);
  if (names.empty()) {
    if (ins.size() != 1) {
      std::string list;
      for (const ValueInfo& v : ins) list += (list.empty() ? "" : ", ") + v.name;
      fail_input("the model has ", ins.size(), " inputs (", list, "); calibration data ",
                 data.describe(),
                 " feeds one: give an .npz with one array per input, named after it");
    }
  } else {
    for (const std::string& a : names) {
      bool known = false;
      for (const ValueInfo& v : ins) known = known || v.name == a;
      if (!known)
        fail_input("calibration data ", data.describe(), ": array '", a,
                   "' is not an input of the model");
    }
    for (size_t i = 0; i < ins.size(); ++i) {
      size_t k = 0;
      while (k < names.size() && names[k] != ins[i].name) ++k;
      if (k == names.size())
        fail_input("calibration data ", data.describe(), " has no array for model input '",
                   ins[i].name, "'");
      source_[i] = k;
    }
  }
  for (size_t i = 0; i < ins.size(); ++i) {
    const Shape& want = input_shapes_[i];
    const Shape& have = shapes[source_[i]];
    if (!want.empty() && !fits(want, have))
      fail_input("calibration data samples are ", shape_str(have), " but the model input '",
                 ins[i].name, "' is ", wanted_str(want));
  }
}

int64_t ProbeRunner::batch(int64_t requested) const { return eval_batch_size(session_, requested); }

std::vector<Tensor> ProbeRunner::run(Dataset& data, int64_t begin, int64_t n) {
  if (source_.empty()) check_data(data);
  Batch b = data.read(begin, n);
  // Each input's n samples, shaped as the model wants them.
  std::vector<Tensor> feeds;
  for (size_t i = 0; i < input_shapes_.size(); ++i) {
    const Tensor& x = source_[i] == 0 ? b.x : b.more[source_[i] - 1];
    Shape shape = input_shapes_[i];
    if (shape.empty()) {
      shape = x.shape();
    } else {
      shape[0] = n;
      for (size_t d = 1; d < shape.size(); ++d)
        if (shape[d] < 0) shape[d] = x.dim(static_cast<int>(d));
    }
    feeds.push_back(x.reshaped(shape));
  }
  // A model exported with a static batch B takes B samples per run: the samples go in chunks
  // of B, the last one padded by repeating its last sample, and only real samples' rows are
  // kept, so the probes are what a dynamic-batch model gives for the same n samples.
  const int64_t sb = input_shapes_[0].empty() ? -1 : input_shapes_[0][0];
  const int64_t chunk = sb > 0 ? sb : n;
  std::vector<std::vector<Tensor>> parts(names_.size());
  for (int64_t c0 = 0; c0 < n; c0 += chunk) {
    std::vector<Tensor> in;
    for (const Tensor& f : feeds) {
      if (chunk == n) {
        in.push_back(f);
        continue;
      }
      Shape shape = f.shape();
      shape[0] = chunk;
      Tensor t(DType::kF32, shape);
      const int64_t per = shape_numel(shape) / chunk;
      const int64_t valid = std::min(chunk, n - c0);
      const float* src = f.data<float>() + c0 * per;
      std::memcpy(t.data<float>(), src, sizeof(float) * valid * per);
      for (int64_t r = valid; r < chunk; ++r)
        std::memcpy(t.data<float>() + r * per, src + (valid - 1) * per, sizeof(float) * per);
      in.push_back(t);
    }
    std::vector<Tensor> outs = session_.run(in);
    const std::vector<ValueInfo>& ov = session_.outputs();
    for (size_t p = 0; p < names_.size(); ++p) {
      size_t k = 0;
      while (k < ov.size() && ov[k].name != names_[p]) ++k;
      parts[p].push_back(k < ov.size() ? outs[k] : Tensor());
    }
  }
  std::vector<Tensor> probes;
  probes.reserve(names_.size());
  for (const std::vector<Tensor>& ps : parts) probes.push_back(concat_rows(ps, chunk, n));
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
    const int64_t n = std::min(batch, total - done);
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
