// The training loop and distillation. Its optimizers and schedules are in optimizer.cpp, its
// checkpoints in checkpoint.cpp, the samples it holds in samples.cpp, QAT in qat.cpp.
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
#include <random>

#include "edgeopt/error.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/session.h"
#include "edgeopt/train.h"
#include "train/checkpoint.h"
#include "train/distributed.h"
#include "train/optimizer.h"
#include "train/samples.h"
#include "train/torch_graph.h"

namespace edgeopt::train {
namespace {

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
    start_epoch = load_checkpoint_state(o.resume, opt);
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
    if (!o.checkpoint.empty() && rank == 0)
      save_checkpoint(o.checkpoint, model, graph, opt, epoch + 1);
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

}  // namespace edgeopt::train
