// Evaluating a session over a dataset, batch by batch.
#include <algorithm>
#include <cstring>

#include "edgeopt/error.h"
#include "edgeopt/eval.h"

namespace edgeopt {

namespace {

// Static leading dim of the first input, or 0 when dynamic/unknown.
int64_t static_batch(const Session& s) {
  if (s.inputs().empty()) fail_input("model has no inputs to feed data to");
  const ValueInfo& in = s.inputs()[0];
  if (in.has_shape && !in.dims.empty() && in.dims[0].is_static()) return in.dims[0].value;
  return 0;
}

// Per-sample shape the model wants, given the dataset's: the model's static trailing dims when
// they hold the same number of elements (a pure layout change), else the dataset's own.
Shape sample_shape_for(const Session& s, const Shape& data_sample) {
  const ValueInfo& in = s.inputs()[0];
  if (!in.has_shape || in.dims.empty()) return data_sample;
  Shape want;
  for (size_t d = 1; d < in.dims.size(); ++d) {
    if (!in.dims[d].is_static()) return data_sample;
    want.push_back(in.dims[d].value);
  }
  if (shape_numel(want) != shape_numel(data_sample))
    fail_input("model input '", in.name, "' wants samples of ", shape_str(want),
               " but the dataset gives ", shape_str(data_sample));
  return want;
}

// Runs x (N samples) through the session in chunks of its static batch (padding the last
// chunk by repeating the last sample) and returns the first output as N×C f32 logits.
Tensor run_logits(Session& s, const Tensor& x) {
  if (s.inputs().size() != 1)
    fail_unsupported("evaluation feeds one input; the model has ", s.inputs().size(), " (",
                     s.inputs()[0].name, ", ...)");
  const ValueInfo& in = s.inputs()[0];
  if (in.dtype != DType::kF32 && in.dtype != DType::kUndefined)
    fail_unsupported("model input '", in.name, "' is ", dtype_name(in.dtype),
                     "; evaluation feeds f32 data");
  const int64_t n = x.dim(0);
  const Shape data_sample(x.shape().begin() + 1, x.shape().end());
  const Shape sample = sample_shape_for(s, data_sample);
  const int64_t per = shape_numel(sample);
  const int64_t sb = static_batch(s);
  const int64_t chunk = sb ? sb : n;
  Tensor logits;
  int64_t classes = 0;
  for (int64_t begin = 0; begin < n; begin += chunk) {
    const int64_t valid = std::min(chunk, n - begin);
    Shape shape = sample;
    shape.insert(shape.begin(), chunk);
    Tensor feed;
    if (begin == 0 && valid == n && chunk == n) {
      feed = x.reshaped(shape);
    } else {
      feed = Tensor(DType::kF32, shape);
      const float* src = x.data<float>() + begin * per;
      std::memcpy(feed.data<float>(), src, sizeof(float) * valid * per);
      for (int64_t i = valid; i < chunk; ++i)
        std::memcpy(feed.data<float>() + i * per, src + (valid - 1) * per, sizeof(float) * per);
    }
    std::vector<Tensor> outs = s.run({feed});
    if (outs.empty()) fail_input("model has no outputs");
    const Tensor& out = outs[0];
    if (out.rank() < 1 || out.dim(0) != chunk)
      fail_input("model output '", s.outputs()[0].name, "' has shape ", shape_str(out.shape()),
                 ", expected ", chunk, " rows of logits (one per sample)");
    const int64_t c = out.numel() / chunk;
    if (!logits.defined()) {
      classes = c;
      logits = Tensor(DType::kF32, {n, c});
    }
    float* dst = logits.data<float>() + begin * classes;
    if (out.dtype() == DType::kF32) {
      std::memcpy(dst, out.data<float>(), sizeof(float) * valid * classes);
    } else {
      if (!dtype_is_float(out.dtype()))
        fail_input("model output '", s.outputs()[0].name, "' is ", dtype_name(out.dtype()),
                   ", expected float logits");
      for (int64_t i = 0; i < valid * classes; ++i) dst[i] = static_cast<float>(out.get_f64(i));
    }
  }
  return logits;
}

}  // namespace

int64_t eval_batch_size(const Session& session, int64_t requested) {
  if (requested < 0) fail_input("batch size must be positive, got ", requested);
  if (requested > 0) return requested;
  const int64_t sb = static_batch(session);
  return sb ? sb : 64;
}

EvalResult evaluate(Session& session, Dataset& data, const EvalOptions& options,
                    Session* reference) {
  if (options.limit < 0) fail_input("limit must be positive, got ", options.limit);
  require_labels(data, "eval");
  EvalResult r;
  r.batch = eval_batch_size(session, options.batch);
  const int64_t total = options.limit ? std::min(options.limit, data.size()) : data.size();
  if (total == 0) fail_input(data.describe(), ": no samples to evaluate");
  std::optional<ClassificationAccumulator> acc;
  FidelityAccumulator fid;
  r.class_names = data.class_names();
  for (int64_t begin = 0; begin < total; begin += r.batch) {
    const Batch b = data.read(begin, std::min(r.batch, total - begin));
    const Tensor logits = run_logits(session, b.x);
    if (!acc) {
      // Numbered classes (npz labels: the largest label seen + 1) extend to the model's output
      // width; named classes (folders, Fashion-MNIST) stay as they are.
      bool numbered = true;
      for (size_t k = 0; k < r.class_names.size(); ++k)
        numbered = numbered && r.class_names[k] == std::to_string(k);
      const int64_t c = numbered ? logits.dim(1) : 0;
      for (int64_t k = static_cast<int64_t>(r.class_names.size()); k < c; ++k)
        r.class_names.push_back(std::to_string(k));
      acc.emplace(static_cast<int64_t>(r.class_names.size()));
    }
    acc->add(logits, b.y);
    if (reference) fid.add(run_logits(*reference, b.x), logits);
    if (options.progress) options.progress(begin + b.y.numel(), total);
  }
  r.metrics = acc->metrics();
  if (reference) r.fidelity = fid.result();
  return r;
}

}  // namespace edgeopt
