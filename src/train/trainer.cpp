// The training loop, its optimizers and schedules, checkpoints, distillation and QAT insertion.
//
// Determinism: the order of samples and the augmentation of epoch e come from a generator seeded
// with (seed, e), and torch's generator (dropout) is re-seeded with (seed, e) at the start of
// every epoch, so an epoch depends only on the weights and optimizer state it starts from. A
// checkpoint stores exactly those (weights in ONNX as f32, optimizer moments, step counter),
// which makes a resumed run identical to an uninterrupted one.
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <random>
#include <set>

#include "edgeopt/error.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/passes.h"
#include "edgeopt/quantize.h"
#include "edgeopt/session.h"
#include "train/distributed.h"
#include "train/torch_graph.h"
#include "train/train.h"

namespace edgeopt::train {
namespace {

constexpr double kPi = 3.14159265358979323846;

struct Samples {
  torch::Tensor x;  // f32, N × sample shape
  torch::Tensor y;  // i64, N
};

// The samples at `indices` (ascending, below data.size()), read run by run of consecutive
// indices, in chunks: a rank of a data-parallel job reads its share of an epoch, not the set.
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

// The number of samples a `limit` (0 = all) takes from `data`, checked: some, and labelled.
int64_t checked_count(Dataset& data, int64_t limit) {
  const int64_t n = limit > 0 ? std::min(limit, data.size()) : data.size();
  if (n <= 0) fail_input("training: the dataset ", data.describe(), " is empty");
  require_labels(data, "training");
  return n;
}

// Reads the first `limit` samples (0 = all) into memory.
Samples load_samples(Dataset& data, int64_t limit) {
  std::vector<int64_t> all(checked_count(data, limit));
  std::iota(all.begin(), all.end(), int64_t{0});
  return read_rows(data, all);
}

std::string shape_text(const ValueInfo& input) {
  std::string s;
  for (size_t i = 0; i < input.dims.size(); ++i) {
    if (i) s += "x";
    s += input.dims[i].is_static() ? std::to_string(input.dims[i].value) : std::string("N");
  }
  return s;
}

// Reshapes a batch to the model's input when only the layout differs (N×1×28×28 → N×784);
// refuses samples whose static dims differ from the model's.
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

// Random crop of the image zero-padded by 2 on each side, then a horizontal flip with p = 1/2.
// `x` holds samples rank, rank + ranks, ... of a global batch of `count`: the draws are made for
// the whole global batch, so that every rank consumes `rng` alike and a sample is augmented as
// in a one-process run.
torch::Tensor augment(const torch::Tensor& x, std::mt19937_64& rng, int64_t count, int rank = 0,
                      int ranks = 1) {
  if (x.dim() != 4) {
    for (int64_t i = 0; i < 3 * count; ++i) rng();
    return x;
  }
  const int64_t h = x.size(2), w = x.size(3);
  torch::Tensor padded = torch::constant_pad_nd(x, {2, 2, 2, 2}, 0.0);
  std::vector<torch::Tensor> out;
  out.reserve(x.size(0));
  for (int64_t j = 0; j < count; ++j) {
    const int64_t oy = static_cast<int64_t>(rng() % 5), ox = static_cast<int64_t>(rng() % 5);
    const bool flip = (rng() & 1) != 0;
    if (j % ranks != rank) continue;
    torch::Tensor s = padded[j / ranks].narrow(1, oy, h).narrow(2, ox, w);
    out.push_back(flip ? s.flip({2}) : s);
  }
  return torch::stack(out);
}

std::vector<int64_t> permutation(int64_t n, std::mt19937_64& rng) {
  std::vector<int64_t> p(n);
  for (int64_t i = 0; i < n; ++i) p[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[rng() % static_cast<uint64_t>(i + 1)]);
  return p;
}

// Cross entropy with label smoothing ε: −(1 − ε)·log p_y − ε·mean_c log p_c, batch mean.
torch::Tensor cross_entropy(const torch::Tensor& logits, const torch::Tensor& y, double eps) {
  torch::Tensor logp = torch::log_softmax(logits, 1);
  torch::Tensor nll = -logp.gather(1, y.unsqueeze(1)).squeeze(1);
  if (eps == 0) return nll.mean();
  return ((1 - eps) * nll - eps * logp.mean(1)).mean();
}

// KL(softmax(t/T) ‖ softmax(s/T)) = Σ p_t (log p_t − log p_s), batch mean.
torch::Tensor distill_kl(const torch::Tensor& student, const torch::Tensor& teacher, double T) {
  torch::Tensor logp_s = torch::log_softmax(student / T, 1);
  torch::Tensor logp_t = torch::log_softmax(teacher / T, 1);
  return (logp_t.exp() * (logp_t - logp_s)).sum(1).mean();
}

torch::Tensor logits_of(const torch::Tensor& out) { return out.reshape({out.size(0), -1}); }

class Optimizer {
 public:
  Optimizer(const TrainOptions& o, std::vector<torch::Tensor> params)
      : o_(o), params_(std::move(params)) {
    if (o.optimizer != "sgd" && o.optimizer != "adamw")
      fail_input("training: unknown optimizer '", o.optimizer, "' (sgd | adamw)");
    for (const torch::Tensor& p : params_) {
      m_.push_back(torch::zeros_like(p).detach());
      v_.push_back(o.optimizer == "adamw" ? torch::zeros_like(p).detach() : torch::Tensor());
    }
  }

  void step(const std::vector<torch::Tensor>& grads, double lr) {
    torch::NoGradGuard no_grad;
    ++steps_;
    for (size_t i = 0; i < params_.size(); ++i) {
      if (!grads[i].defined()) continue;
      torch::Tensor p = params_[i];
      torch::Tensor g = grads[i];
      const bool decay = p.dim() >= 2 && o_.weight_decay > 0;
      if (o_.optimizer == "sgd") {
        // g ← g + λw; m ← μm + g; w ← w − lr·(g + μm) (Nesterov) or w − lr·m.
        if (decay) g = g + o_.weight_decay * p;
        m_[i].mul_(o_.momentum).add_(g);
        p.sub_(o_.nesterov ? (g + o_.momentum * m_[i]) * lr : m_[i] * lr);
      } else {
        // AdamW (decoupled decay): w ← w − lr·λw; m̂ = m/(1 − β1^t), v̂ = v/(1 − β2^t);
        // w ← w − lr·m̂/(√v̂ + ε).
        constexpr double b1 = 0.9, b2 = 0.999, eps = 1e-8;
        if (decay) p.mul_(1 - lr * o_.weight_decay);
        m_[i].mul_(b1).add_(g, 1 - b1);
        v_[i].mul_(b2).addcmul_(g, g, 1 - b2);
        const double c1 = 1 - std::pow(b1, static_cast<double>(steps_));
        const double c2 = 1 - std::pow(b2, static_cast<double>(steps_));
        p.sub_((m_[i] / c1) / ((v_[i] / c2).sqrt() + eps) * lr);
      }
    }
  }

  void save(torch::serialize::OutputArchive& ar) const {
    ar.write("steps", torch::tensor(steps_, torch::kLong));
    for (size_t i = 0; i < m_.size(); ++i) {
      ar.write("m_" + std::to_string(i), m_[i]);
      if (v_[i].defined()) ar.write("v_" + std::to_string(i), v_[i]);
    }
  }
  void load(torch::serialize::InputArchive& ar) {
    torch::Tensor s;
    ar.read("steps", s);
    steps_ = s.item<int64_t>();
    for (size_t i = 0; i < m_.size(); ++i) {
      torch::Tensor t;
      ar.read("m_" + std::to_string(i), t);
      if (t.sizes() != m_[i].sizes())
        fail_input("training: the optimizer state does not match the model (tensor ", i, ")");
      m_[i].copy_(t);
      if (v_[i].defined()) {
        ar.read("v_" + std::to_string(i), t);
        v_[i].copy_(t);
      }
    }
  }

 private:
  const TrainOptions& o_;
  std::vector<torch::Tensor> params_, m_, v_;
  int64_t steps_ = 0;
};

double learning_rate(const TrainOptions& o, int64_t step, int64_t total, int epoch) {
  const int64_t per_epoch = std::max<int64_t>(1, total / std::max(1, o.epochs));
  const int64_t warm = std::min<int64_t>(o.warmup_epochs * per_epoch, total);
  if (step < warm) return o.lr * (0.1 + 0.9 * static_cast<double>(step) / warm);
  if (o.schedule == "cosine") {
    const double t = static_cast<double>(step - warm) / std::max<int64_t>(1, total - warm);
    return o.lr * 0.5 * (1 + std::cos(kPi * t));
  }
  if (o.schedule == "step") {
    double lr = o.lr;
    if (epoch >= o.epochs / 2) lr *= 0.1;
    if (epoch >= (3 * o.epochs) / 4) lr *= 0.1;
    return lr;
  }
  if (o.schedule == "constant") return o.lr;
  fail_input("training: unknown schedule '", o.schedule, "' (cosine | step | constant)");
}

// Top-1 of the graph in eval mode on samples held in memory. In a data-parallel job each rank
// evaluates its contiguous share and the counts are summed.
double accuracy(TorchGraph& graph, const Samples& s, ProcessGroup* pg = nullptr) {
  torch::NoGradGuard no_grad;
  const bool was = graph.is_training();
  graph.train(false);
  int64_t correct = 0;
  const int64_t n = s.x.size(0);
  const int64_t begin = pg ? n * pg->rank() / pg->size() : 0;
  const int64_t end = pg ? n * (pg->rank() + 1) / pg->size() : n;
  for (int64_t b = begin; b < end; b += 256) {
    const int64_t count = std::min<int64_t>(256, end - b);
    torch::Tensor x = fit_input(s.x.narrow(0, b, count), graph.inputs()[0]);
    torch::Tensor logits = logits_of(graph.forward({x})[0]);
    correct += logits.argmax(1).eq(s.y.narrow(0, b, count)).sum().item<int64_t>();
  }
  if (pg) {
    torch::Tensor c = torch::tensor({correct}, torch::kLong);
    pg->all_reduce_sum(c);
    correct = c.item<int64_t>();
  }
  graph.train(was);
  return static_cast<double>(correct) / static_cast<double>(n);
}

class ProgressBar {
 public:
  explicit ProgressBar(bool on) : on_(on && isatty(2)) {}
  void update(int epoch, int epochs, int64_t done, int64_t total, double loss) {
    if (!on_) return;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * done / std::max<int64_t>(1, total));
    std::fprintf(stderr, "\repoch %d/%d [%s%s] %lld/%lld loss %.4f", epoch, epochs,
                 std::string(filled, '#').c_str(), std::string(kWidth - filled, '.').c_str(),
                 static_cast<long long>(done), static_cast<long long>(total), loss);
    std::fflush(stderr);
  }
  void done() {
    if (on_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  bool on_;
};

// torch::set_num_threads sets OpenMP's threads, not those of the BLAS behind Debian's libtorch:
// OpenBLAS (pthreads) starts one thread per core, which spin between calls. Two ranks of a
// data-parallel job on two cores then ran 4 BLAS threads, and a one-process run spent 25% of its
// CPU time in the kernel (sched_yield). When the BLAS is OpenBLAS, its threads follow --threads.
void set_blas_threads(int threads) {
  using SetThreads = void (*)(int);
  if (auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    f(threads);
}

}  // namespace

double cubic_sparsity(double final_sparsity, int step, int steps) {
  const double t = static_cast<double>(step) / std::max(1, steps);
  return final_sparsity * (1 - std::pow(1 - t, 3));
}

std::vector<EpochStats> train_model(Model& model, Dataset& train_data, Dataset* val,
                                    const TrainOptions& o) {
  if (o.epochs < 1) fail_input("training: --epochs must be at least 1");
  if (o.batch < 2) fail_input("training: --batch must be at least 2");
  if (const WorldInfo w = world_from_env(); o.batch < w.size)
    fail_input("training: --batch ", o.batch, " is the global batch, split across ", w.size,
               " ranks: it must be at least ", w.size);
  if (o.lr <= 0) fail_input("training: --lr must be positive");
  if (o.alpha < 0 || o.alpha > 1) fail_input("distillation: --alpha must be in [0, 1]");
  if (o.temperature <= 0) fail_input("distillation: --temperature must be positive");
  torch::set_num_threads(std::max(1, o.threads));
  set_blas_threads(std::max(1, o.threads));
  // A rank of a data-parallel job (joined here on the first call), or null.
  ProcessGroup* const pg = group();
  const int rank = pg ? pg->rank() : 0, ranks = pg ? pg->size() : 1;
  auto log = [&](const std::string& line) {
    if (o.log && rank == 0) o.log(line);
  };

  int start_epoch = 0;
  if (!o.resume.empty()) model = load_model(o.resume);

  GraphOptions go;
  go.train_quant_scales = o.train_quant_scales;
  go.weight_qmax = o.weight_qmax;
  if (pg && o.sync_bn) go.sum_across_ranks = sum_across_ranks;
  TorchGraph graph(model, go);
  if (graph.inputs().size() != 1)
    fail_unsupported("training: models with ", graph.inputs().size(),
                     " inputs are not supported (one image input expected)");
  std::vector<torch::Tensor> params;
  for (const auto& [name, t] : graph.parameters()) params.push_back(t);
  if (params.empty()) fail_input("training: the model has no float initializers to train");
  Optimizer opt(o, params);
  std::unique_ptr<GradientReducer> reducer;
  if (pg) {
    // Every rank starts from rank 0's weights and statistics (as DistributedDataParallel does).
    torch::NoGradGuard no_grad;
    for (torch::Tensor& p : params) {
      torch::Tensor t = p.detach();
      pg->broadcast(t);
    }
    for (const auto& [name, b] : graph.buffers()) {
      torch::Tensor t = b;
      pg->broadcast(t);
    }
    reducer = std::make_unique<GradientReducer>(*pg, params,
                                                static_cast<int64_t>(o.bucket_mb * 1024 * 1024));
  }

  // Masks of pruned weights: 1 where a weight (rank >= 2) is non-zero at load.
  std::vector<torch::Tensor> masks(params.size());
  if (o.keep_zeros)
    for (size_t i = 0; i < params.size(); ++i)
      if (params[i].dim() >= 2) masks[i] = params[i].detach().ne(0).to(params[i].dtype());

  if (!o.resume.empty()) {
    const std::string state = o.resume + ".state";
    if (!std::filesystem::exists(state))
      fail_input("training: no optimizer state '", state, "' beside the checkpoint");
    torch::serialize::InputArchive ar;
    ar.load_from(state);
    torch::Tensor e;
    ar.read("epoch", e);
    start_epoch = static_cast<int>(e.item<int64_t>());
    opt.load(ar);
    log("resumed from " + o.resume + " after epoch " + std::to_string(start_epoch));
  }

  std::unique_ptr<Session> teacher;
  ValueInfo teacher_input;
  if (!o.teacher.empty()) {
    Model t = load_model(o.teacher);
    SessionOptions so;
    so.providers = o.teacher_providers;
    so.threads = std::max(1, o.threads);
    teacher = std::make_unique<Session>(std::move(t), so);
    teacher_input = teacher->inputs().at(0);
  }

  // One process holds the training set in memory; a rank of a data-parallel job reads only its
  // share of each epoch's batches, at the start of the epoch (row_of: sample → row of `train`).
  const int64_t n = checked_count(train_data, o.limit);
  Samples train;
  std::vector<int64_t> row_of;  // empty: sample i is row i
  if (!pg) train = load_samples(train_data, o.limit);
  Samples valid;
  if (val) valid = load_samples(*val, o.val_limit);
  const int64_t steps_per_epoch = (n + o.batch - 1) / o.batch;
  const int64_t total_steps = steps_per_epoch * o.epochs;

  std::vector<EpochStats> history;
  ProgressBar bar(o.progress && rank == 0);
  graph.train(true);
  const int end_epoch = o.stop_after > 0 ? std::min(o.stop_after, o.epochs) : o.epochs;
  for (int epoch = start_epoch; epoch < end_epoch; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    std::mt19937_64 rng(o.seed * 1000003ULL + static_cast<uint64_t>(epoch));
    // The sample order is shared by the ranks; dropout masks differ per rank.
    torch::manual_seed(o.seed * 7919ULL + static_cast<uint64_t>(epoch) +
                       static_cast<uint64_t>(rank) * 104729ULL);
    const std::vector<int64_t> order = permutation(n, rng);
    // This rank's samples of each step's global batch: positions rank, rank + ranks, ... A
    // step of fewer than 2 samples is skipped (BatchNormalization needs two to train), and so
    // is one that cannot give every rank a sample.
    std::vector<std::vector<int64_t>> mine(steps_per_epoch);
    for (int64_t s = 0; s < steps_per_epoch; ++s) {
      const int64_t b = s * o.batch, count = std::min(o.batch, n - b);
      if (count < std::max(2, ranks)) continue;
      for (int64_t j = rank; j < count; j += ranks) mine[s].push_back(order[b + j]);
    }
    int64_t samples_read = epoch == start_epoch && !pg ? n : 0;
    if (pg) {
      std::vector<int64_t> share;
      for (const std::vector<int64_t>& m : mine) share.insert(share.end(), m.begin(), m.end());
      std::sort(share.begin(), share.end());
      train = read_rows(train_data, share);
      row_of.assign(n, -1);
      for (size_t r = 0; r < share.size(); ++r) row_of[share[r]] = static_cast<int64_t>(r);
      samples_read = static_cast<int64_t>(share.size());
    }
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    double lr = o.lr;
    for (int64_t s = 0; s < steps_per_epoch; ++s) {
      if (mine[s].empty()) continue;
      const int64_t count = std::min(o.batch, n - s * o.batch);
      const int64_t local = static_cast<int64_t>(mine[s].size());
      std::vector<int64_t> rows = mine[s];
      if (!row_of.empty())
        for (int64_t& r : rows) r = row_of[r];
      torch::Tensor idx = torch::tensor(rows, torch::kLong);
      torch::Tensor x = train.x.index_select(0, idx), y = train.y.index_select(0, idx);
      if (o.augment) x = augment(x, rng, count, rank, ranks);
      torch::Tensor logits = logits_of(graph.forward({fit_input(x, graph.inputs()[0])})[0]);
      torch::Tensor loss = cross_entropy(logits, y, o.label_smoothing);
      if (teacher) {
        Tensor tx = from_torch(fit_input(x, teacher_input).contiguous());
        torch::Tensor t_logits = logits_of(to_torch(teacher->run({tx}).at(0)).to(logits.dtype()));
        loss = o.alpha * loss + (1 - o.alpha) * o.temperature * o.temperature *
                                    distill_kl(logits, t_logits, o.temperature);
      }
      std::vector<torch::Tensor> grads;
      if (reducer) {
        // The global loss is the mean over the global batch: this rank's share is its mean
        // weighted by local / count, and the reducer sums the shares' gradients.
        reducer->prepare();
        (loss * (static_cast<double>(local) / static_cast<double>(count))).backward();
        grads = reducer->finish();
      } else {
        grads = torch::autograd::grad({loss}, params, {}, false, false, /*allow_unused=*/true);
      }
      for (size_t i = 0; i < grads.size(); ++i)
        if (masks[i].defined() && grads[i].defined()) grads[i] = grads[i] * masks[i];
      lr = learning_rate(o, epoch * steps_per_epoch + s, total_steps, epoch);
      opt.step(grads, lr);
      if (o.keep_zeros) {
        torch::NoGradGuard no_grad;
        for (size_t i = 0; i < params.size(); ++i)
          if (masks[i].defined()) params[i].mul_(masks[i]);
      }
      loss_sum += loss.item<double>() * local;
      correct += logits.argmax(1).eq(y).sum().item<int64_t>();
      seen += local;
      if (s % 10 == 0 || s + 1 == steps_per_epoch)
        bar.update(epoch + 1, o.epochs, std::min(n, seen * ranks), n, loss_sum / seen);
    }
    bar.done();
    if (pg) {
      torch::Tensor totals = torch::tensor(
          {loss_sum, static_cast<double>(correct), static_cast<double>(seen)}, torch::kDouble);
      pg->all_reduce_sum(totals);
      loss_sum = totals[0].item<double>();
      correct = static_cast<int64_t>(totals[1].item<double>());
      seen = static_cast<int64_t>(totals[2].item<double>());
    }
    EpochStats st;
    st.epoch = epoch + 1;
    st.loss = loss_sum / std::max<int64_t>(1, seen);
    st.train_top1 = static_cast<double>(correct) / std::max<int64_t>(1, seen);
    st.lr = lr;
    st.samples_read = samples_read;
    if (val) st.val_top1 = accuracy(graph, valid, pg);
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    history.push_back(st);
    char val_part[64] = "";
    if (st.val_top1 >= 0) std::snprintf(val_part, sizeof val_part, "  val top-1 %.4f", st.val_top1);
    char line[256];
    std::snprintf(line, sizeof line, "epoch %d/%d  loss %.4f  train top-1 %.4f%s  lr %.5f  %.1f s",
                  st.epoch, o.epochs, st.loss, st.train_top1, val_part, st.lr, st.seconds);
    log(line);
    if (o.on_epoch_end) {
      Model snapshot = model;
      graph.write_back(snapshot);
      o.on_epoch_end(st.epoch, snapshot);
    }
    if (!o.checkpoint.empty() && rank == 0) {
      Model snapshot = model;
      graph.write_back(snapshot);
      save_model(snapshot, o.checkpoint);
      torch::serialize::OutputArchive ar;
      ar.write("epoch", torch::tensor(static_cast<int64_t>(epoch + 1), torch::kLong));
      opt.save(ar);
      const std::string state = o.checkpoint + ".state";
      ar.save_to(state + ".tmp");
      std::filesystem::rename(state + ".tmp", state);
    }
  }
  graph.write_back(model);
  return history;
}

double evaluate_top1(const Model& model, Dataset& data, int64_t limit, int threads) {
  torch::set_num_threads(std::max(1, threads));
  set_blas_threads(std::max(1, threads));
  TorchGraph graph(model);
  return accuracy(graph, load_samples(data, limit));
}

// ---- QAT ----------------------------------------------------------------------------------

namespace {

// Channel axis of the weight input of a quantizable node; -1 when it is not quantized.
int64_t weight_axis(const Node& n, const Graph& g) {
  if (n.inputs.size() < 2) return -1;
  const NamedTensor* w = g.find_initializer(n.inputs[1]);
  if (!w || w->tensor.dtype() != DType::kF32 || w->tensor.rank() < 2) return -1;
  if (n.op_type == "Conv") return 0;
  if (n.op_type == "Gemm") return n.attr_int("transB", 0) ? 0 : 1;
  if (n.op_type == "MatMul") return w->tensor.rank() == 2 ? 1 : -1;
  return -1;
}

// A per-axis parameter (1-D, x.size(axis) elements) shaped to broadcast against x.
torch::Tensor along_axis(const torch::Tensor& p, const torch::Tensor& x, int64_t axis) {
  if (p.numel() == 1 || x.dim() <= 1) return p.reshape({});
  std::vector<int64_t> shape(x.dim(), 1);
  shape[axis < 0 ? axis + x.dim() : axis] = p.numel();
  return p.reshape(shape);
}

}  // namespace

int64_t insert_fake_quant(Model& model, Dataset& calib, const QatOptions& qo) {
  // Weights must be quantized in their final (BN-folded) form.
  PassOptions po;
  po.only = {"conv_bn_fold"};
  optimize(model, po);
  Graph& g = model.graph;

  std::vector<int> targets;
  std::set<std::string> activations;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "MatMul") continue;
    if (!n.domain.empty() || weight_axis(n, g) < 0) continue;
    targets.push_back(static_cast<int>(i));
    activations.insert(n.inputs[0]);
  }
  if (targets.empty()) fail_input("qat: the model has no Conv/Gemm/MatMul with constant weights");

  // Min/max of every quantized activation over the calibration samples.
  std::map<std::string, std::pair<float, float>> range;
  {
    torch::NoGradGuard no_grad;
    TorchGraph graph(model);
    const int64_t total = std::min(qo.calib_samples, calib.size());
    if (total <= 0) fail_input("qat: the calibration set is empty");
    for (int64_t b = 0; b < total; b += qo.batch) {
      Batch batch = calib.read(b, std::min(qo.batch, total - b));
      std::map<std::string, torch::Tensor> values;
      torch::Tensor x = fit_input(to_torch(batch.x).to(torch::kFloat), graph.inputs()[0]);
      values[graph.inputs()[0].name] = x;
      graph.forward({x}, &values);
      for (const std::string& a : activations) {
        auto it = values.find(a);
        if (it == values.end()) continue;
        const float lo = it->second.min().item<float>(), hi = it->second.max().item<float>();
        auto r = range.find(a);
        if (r == range.end())
          range[a] = {lo, hi};
        else
          r->second = {std::min(r->second.first, lo), std::max(r->second.second, hi)};
      }
    }
  }

  std::vector<Node> nodes;
  std::map<std::string, std::string> dequantized;  // activation → its DQ output
  auto add_qdq = [&](const std::string& value, const Tensor& scale, const Tensor& zp,
                     int64_t axis) {
    const std::string s = g.unique_name(value + "_scale");
    g.add_initializer(s, scale);
    const std::string z = g.unique_name(value + "_zero_point");
    g.add_initializer(z, zp);
    Node q, dq;
    q.op_type = "QuantizeLinear";
    q.name = g.unique_name(value + "_QuantizeLinear");
    q.inputs = {value, s, z};
    q.outputs = {g.unique_name(value + "_quantized")};
    dq.op_type = "DequantizeLinear";
    dq.name = g.unique_name(value + "_DequantizeLinear");
    dq.inputs = {q.outputs[0], s, z};
    dq.outputs = {g.unique_name(value + "_dequantized")};
    if (axis >= 0) {
      q.set_attr_int("axis", axis);
      dq.set_attr_int("axis", axis);
    }
    // unique_name looks at the graph's nodes: register the names before creating more.
    g.nodes.push_back(q);
    g.nodes.push_back(dq);
    nodes.push_back(q);
    nodes.push_back(dq);
    return dq.outputs[0];
  };

  const std::vector<Node> original = g.nodes;
  std::set<int> target_set(targets.begin(), targets.end());
  for (size_t i = 0; i < original.size(); ++i) {
    Node n = original[i];
    if (target_set.count(static_cast<int>(i))) {
      const std::string& a = n.inputs[0];
      if (!dequantized.count(a)) {
        auto r = range.find(a);
        if (r == range.end()) fail_input("qat: ", n.describe(), ": input '", a, "' not calibrated");
        // Per-tensor asymmetric u8, the range widened to contain 0, as post-training
        // quantization does.
        const QParams q = choose_qparams(r->second.first, r->second.second, DType::kU8, false);
        dequantized[a] = add_qdq(a, Tensor::scalar<float>(q.scale),
                                 Tensor::scalar<uint8_t>(static_cast<uint8_t>(q.zero_point)), -1);
      }
      const int64_t axis = weight_axis(n, g);
      const Tensor& w = g.find_initializer(n.inputs[1])->tensor;
      const int64_t channels = w.dim(static_cast<int>(axis));
      // S_w[c] = max |w[c, ...]| / qmax (symmetric s8, zero point 0).
      std::vector<float> scale(channels, 0.0f);
      const int64_t inner = [&] {
        int64_t p = 1;
        for (int d = static_cast<int>(axis) + 1; d < w.rank(); ++d) p *= w.dim(d);
        return p;
      }();
      for (int64_t k = 0; k < w.numel(); ++k) {
        const int64_t c = (k / inner) % channels;
        scale[c] = std::max(scale[c], std::fabs(w.data<float>()[k]));
      }
      const float qmax = static_cast<float>(qo.weight_qmax);
      for (float& s : scale) s = std::max(s / qmax, 1e-8f);
      const std::string wdq = add_qdq(n.inputs[1], Tensor::from_vector(scale, {channels}),
                                      Tensor(DType::kI8, {channels}), axis);
      n.inputs[0] = dequantized[a];
      n.inputs[1] = wdq;
    }
    nodes.push_back(n);
  }
  g.nodes = std::move(nodes);
  g.topological_sort();
  return static_cast<int64_t>(targets.size());
}

void finalize_qdq(Model& model, int weight_qmax) {
  Graph& g = model.graph;
  // Learned scales must stay positive: S ← max(|S|, 1e-8).
  for (const Node& n : g.nodes)
    if ((n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear") && n.inputs.size() > 1)
      if (NamedTensor* s = g.find_initializer(n.inputs[1]); s && s->tensor.dtype() == DType::kF32)
        for (int64_t i = 0; i < s->tensor.numel(); ++i)
          s->tensor.data<float>()[i] = std::max(std::fabs(s->tensor.data<float>()[i]), 1e-8f);
  std::vector<Node> kept;
  std::set<std::string> maybe_unused;
  for (const Node& n : g.nodes) {
    const NamedTensor* w =
        n.op_type == "QuantizeLinear" ? g.find_initializer(n.inputs[0]) : nullptr;
    if (!w || w->tensor.dtype() != DType::kF32 || n.inputs.size() < 3) {
      kept.push_back(n);
      continue;
    }
    // q = saturate(round(w / S) + Z), stored with the zero point's type.
    const torch::Tensor wt = to_torch(w->tensor);
    const torch::Tensor zt = to_torch(g.find_initializer(n.inputs[2])->tensor);
    const int64_t axis = n.attr_int("axis", 1);
    const torch::Tensor s = along_axis(to_torch(g.find_initializer(n.inputs[1])->tensor), wt, axis);
    const torch::Tensor z = along_axis(zt.to(torch::kFloat), wt, axis);
    const bool is_u8 = zt.scalar_type() == torch::kUInt8;
    const int lo = is_u8 ? 0 : std::max(-128, -weight_qmax), hi = is_u8 ? 255 : weight_qmax;
    torch::Tensor q = torch::clamp(torch::round(wt / s) + z, lo, hi);
    g.add_initializer(n.outputs[0], from_torch(q.to(is_u8 ? torch::kUInt8 : torch::kInt8)));
    maybe_unused.insert(n.inputs[0]);
  }
  g.nodes = std::move(kept);
  for (const std::string& name : maybe_unused)
    if (g.consumers(name).empty() && !g.is_graph_output(name)) g.remove_initializer(name);
}

}  // namespace edgeopt::train
