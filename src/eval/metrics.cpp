// Accuracy and fidelity metrics over logits.
#include <cmath>
#include <limits>

#include "edgeopt/error.h"
#include "edgeopt/eval.h"

namespace edgeopt {

namespace {

// Logits as N rows of C doubles: rows = dim 0, C = the rest.
struct Rows {
  int64_t n = 0, c = 0;
  std::vector<double> v;
  double at(int64_t i, int64_t j) const { return v[i * c + j]; }
};

Rows as_rows(const Tensor& t, const char* what) {
  if (!t.has_data()) fail_input(what, " has no data");
  if (!dtype_is_float(t.dtype()))
    fail_input(what, " must be floating point logits, got ", dtype_name(t.dtype()));
  if (t.rank() < 1) fail_input(what, " must be N×C, got a scalar");
  Rows r;
  r.n = t.dim(0);
  r.c = r.n ? t.numel() / r.n : 0;
  r.v.resize(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) r.v[i] = t.get_f64(i);
  return r;
}

int64_t argmax(const Rows& r, int64_t i) {
  int64_t best = 0;
  for (int64_t j = 1; j < r.c; ++j)
    if (r.at(i, j) > r.at(i, best)) best = j;
  return best;
}

}  // namespace

int64_t ClassificationMetrics::class_count(int64_t c) const {
  int64_t n = 0;
  for (int64_t v : confusion[c]) n += v;
  return n;
}

double ClassificationMetrics::class_accuracy(int64_t c) const {
  const int64_t n = class_count(c);
  return n ? double(confusion[c][c]) / double(n) : 0.0;
}

ClassificationAccumulator::ClassificationAccumulator(int64_t num_classes) : classes_(num_classes) {
  m_.confusion.assign(num_classes, std::vector<int64_t>(num_classes, 0));
}

void ClassificationAccumulator::add(const Tensor& logits, const Tensor& labels) {
  const Rows r = as_rows(logits, "logits");
  if (labels.numel() != r.n)
    fail_input("logits have ", r.n, " rows but there are ", labels.numel(), " labels");
  if (r.n && r.c < classes_)
    fail_input("model output has ", r.c, " values per sample but the dataset has ", classes_,
               " classes");
  const int64_t k = std::min<int64_t>(5, r.c);
  for (int64_t i = 0; i < r.n; ++i) {
    const int64_t y = labels.get_i64(i);
    if (y < 0 || y >= classes_) fail_input("label ", y, " outside [0, ", classes_, ")");
    const int64_t pred = argmax(r, i);
    // Rank of the label: logits above it, plus equal ones at lower indices (argmax order).
    int64_t rank = 0;
    const double ly = r.at(i, y);
    for (int64_t j = 0; j < r.c; ++j)
      if (r.at(i, j) > ly || (r.at(i, j) == ly && j < y)) ++rank;
    m_.count++;
    m_.top1_correct += pred == y;
    m_.top5_correct += rank < k;
    // Predictions beyond the dataset's classes count as errors but have no column.
    if (pred < classes_) m_.confusion[y][pred]++;
  }
}

void FidelityAccumulator::add(const Tensor& ref, const Tensor& out) {
  const Rows a = as_rows(ref, "reference logits"), b = as_rows(out, "logits");
  if (a.n != b.n || a.c != b.c)
    fail_input("reference output has shape ", shape_str(ref.shape()), " but the model's has ",
               shape_str(out.shape()));
  for (int64_t i = 0; i < a.n; ++i) {
    double dot = 0, na = 0, nb = 0;
    for (int64_t j = 0; j < a.c; ++j) {
      const double x = a.at(i, j), y = b.at(i, j);
      dot += x * y;
      na += x * x;
      nb += y * y;
      signal_ += x * x;
      noise_ += (x - y) * (x - y);
    }
    // cos = <a, b> / (|a| |b|); two zero vectors agree perfectly, one zero vector not at all.
    if (na == 0 && nb == 0)
      cosine_sum_ += 1;
    else if (na > 0 && nb > 0)
      cosine_sum_ += dot / (std::sqrt(na) * std::sqrt(nb));
    agree_ += argmax(a, i) == argmax(b, i);
    count_++;
  }
}

Fidelity FidelityAccumulator::result() const {
  Fidelity f;
  f.count = count_;
  if (!count_) return f;
  f.agreement = double(agree_) / double(count_);
  f.cosine = cosine_sum_ / double(count_);
  // SQNR = 10·log10(signal / noise); no noise → +inf, no signal (but noise) → -inf.
  if (noise_ == 0)
    f.sqnr_db = std::numeric_limits<double>::infinity();
  else if (signal_ == 0)
    f.sqnr_db = -std::numeric_limits<double>::infinity();
  else
    f.sqnr_db = 10.0 * std::log10(signal_ / noise_);
  return f;
}

}  // namespace edgeopt
