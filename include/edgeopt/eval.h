// Evaluation: classification accuracy on a labelled dataset, and fidelity of a model's logits
// to a reference model's (how much an optimized model deviates from the original).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "edgeopt/data.h"
#include "edgeopt/session.h"
#include "edgeopt/tensor.h"

namespace edgeopt {

struct ClassificationMetrics {
  int64_t count = 0;
  int64_t top1_correct = 0;
  int64_t top5_correct = 0;
  // confusion[true][predicted] = count; per-class counts are its rows.
  std::vector<std::vector<int64_t>> confusion;

  double top1() const { return count ? double(top1_correct) / double(count) : 0.0; }
  double top5() const { return count ? double(top5_correct) / double(count) : 0.0; }
  int64_t class_count(int64_t c) const;
  // Recall of class c: confusion[c][c] / row sum (0 when the class has no samples).
  double class_accuracy(int64_t c) const;
};

// Accumulates accuracy batch by batch. The prediction is the first index of the largest
// logit; a label is in the top k when its rank, counting ties in index order as argmax does,
// is below k (k = min(5, classes)).
class ClassificationAccumulator {
 public:
  explicit ClassificationAccumulator(int64_t num_classes);
  // logits: N×C (any float dtype; N×C×1×1 and similar are flattened); labels: N integers.
  // Labels outside [0, C) and C smaller than the class count throw Error (invalid input).
  void add(const Tensor& logits, const Tensor& labels);
  const ClassificationMetrics& metrics() const { return m_; }

 private:
  int64_t classes_;
  ClassificationMetrics m_;
};

struct Fidelity {
  int64_t count = 0;
  double agreement = 0;  // fraction of samples with argmax(out) == argmax(ref)
  double cosine = 0;     // mean over samples of cos(ref_i, out_i); 1 when both are zero
  // 10·log10(Σ ref² / Σ (ref − out)²) over every logit; +inf when out == ref.
  double sqnr_db = 0;
};

class FidelityAccumulator {
 public:
  // ref and out: N×C logits of the same shape.
  void add(const Tensor& ref, const Tensor& out);
  Fidelity result() const;

 private:
  int64_t count_ = 0, agree_ = 0;
  double cosine_sum_ = 0, signal_ = 0, noise_ = 0;
};

struct EvalOptions {
  int64_t limit = 0;  // evaluate the first `limit` samples; 0 = all
  int64_t batch = 0;  // 0 = choose (see eval_batch_size)
  // Called after every batch with (samples done, total).
  std::function<void(int64_t, int64_t)> progress;
};

struct EvalResult {
  ClassificationMetrics metrics;
  std::vector<std::string> class_names;
  std::optional<Fidelity> fidelity;  // when a reference session was given
  int64_t batch = 0;                 // batch size used
};

// Batch size for a session: a static leading input dim is the only possible batch (models
// exported with batch 1 run one sample at a time); otherwise `requested`, or 64 when 0.
// A requested size that contradicts a static batch throws Error (invalid input).
int64_t eval_batch_size(const Session& session, int64_t requested);

// Runs `session` (first input fed with x, first output taken as logits) over the dataset.
// x is reshaped to the model's input when only the layout differs (N×1×28×28 → N×784);
// a static batch larger than what is left is filled by repeating the last sample and the
// extra outputs are dropped. With `reference`, the same batches also go through it and
// fidelity of session's logits to the reference's is measured.
EvalResult evaluate(Session& session, Dataset& data, const EvalOptions& options = {},
                    Session* reference = nullptr);

}  // namespace edgeopt
