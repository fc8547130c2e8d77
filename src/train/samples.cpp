// Labelled samples held in memory as torch tensors (samples.h).
#include "train/samples.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "edgeopt/error.h"
#include "train/torch_graph.h"

namespace edgeopt::train {
namespace {

std::string shape_text(const ValueInfo& input) {
  std::string s;
  for (size_t i = 0; i < input.dims.size(); ++i) {
    if (i) s += "x";
    s += input.dims[i].is_static() ? std::to_string(input.dims[i].value) : std::string("N");
  }
  return s;
}

}  // namespace

Samples read_rows(Dataset& data, const std::vector<int64_t>& indices) {
  std::vector<torch::Tensor> xs, ys;
  constexpr int64_t kChunk = 4096;
  for (size_t i = 0; i < indices.size();) {
    size_t j = i + 1;
    while (j < indices.size() && indices[j] == indices[j - 1] + 1 &&
           static_cast<int64_t>(j - i) < kChunk)
      ++j;
    Batch batch = data.read(indices[i], static_cast<int64_t>(j - i));
    xs.push_back(to_torch(batch.x).to(torch::kFloat));
    ys.push_back(to_torch(batch.y).to(torch::kLong));
    i = j;
  }
  return {torch::cat(xs), torch::cat(ys)};
}

int64_t checked_count(Dataset& data, int64_t limit) {
  const int64_t n = limit > 0 ? std::min(limit, data.size()) : data.size();
  if (n <= 0) fail_input("training: the dataset ", data.describe(), " is empty");
  require_labels(data, "training");
  return n;
}

Samples load_samples(Dataset& data, int64_t limit) {
  std::vector<int64_t> all(checked_count(data, limit));
  std::iota(all.begin(), all.end(), int64_t{0});
  return read_rows(data, all);
}

torch::Tensor fit_input(const torch::Tensor& x, const ValueInfo& input) {
  if (!input.has_shape) return x;
  if (static_cast<int64_t>(input.dims.size()) == x.dim()) {
    for (int64_t i = 1; i < x.dim(); ++i)
      if (input.dims[i].is_static() && input.dims[i].value != x.size(i))
        fail_input("training: input '", input.name, "' expects samples of shape ",
                   shape_text(input), ", the data has ", x.sizes());
    return x;
  }
  std::vector<int64_t> shape{x.size(0)};
  int64_t numel = 1;
  for (size_t i = 1; i < input.dims.size(); ++i) {
    if (!input.dims[i].is_static()) return x;
    shape.push_back(input.dims[i].value);
    numel *= input.dims[i].value;
  }
  if (numel * x.size(0) != x.numel())
    fail_input("training: samples of shape ", x.sizes(), " do not fit the model input '",
               input.name, "'");
  return x.reshape(shape);
}

}  // namespace edgeopt::train
