// Data-parallel training on c10d: the environment, the group, bucketed gradient all-reduce and
// the differentiable all-reduce of synchronised BatchNormalization (see distributed.h).
#include "train/distributed.h"

#include <glog/logging.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <mutex>

#include "edgeopt/error.h"

namespace edgeopt::train {
namespace {

// The first line of an exception's message (c10's carry a stack trace after it).
std::string first_line(const std::exception& e) {
  std::string s = e.what();
  const size_t nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

// An environment variable as an integer in [lo, hi]; `fallback` when unset.
long env_int(const char* name, long fallback, long lo, long hi) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  errno = 0;
  const long x = std::strtol(v, &end, 10);
  if (errno || *end || x < lo || x > hi)
    fail_input("distributed: ", name, "='", v, "' is not an integer in [", lo, ", ", hi, "]");
  return x;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// Collective failures (a peer gone, a timeout) as one line.
[[noreturn]] void lost_peer(const WorldInfo& w, const std::exception& e) {
  fail(ErrorKind::kInternal, "distributed: rank ", w.rank, " of ", w.size,
       ": a collective failed, a peer has probably died (", first_line(e), ")");
}

}  // namespace

WorldInfo world_from_env() {
  WorldInfo w;
  w.size = static_cast<int>(env_int("WORLD_SIZE", 1, 1, 1 << 16));
  if (w.size == 1) return w;
  if (!std::getenv("RANK")) fail_input("distributed: WORLD_SIZE is ", w.size, " but RANK is unset");
  w.rank = static_cast<int>(env_int("RANK", 0, 0, w.size - 1));
  w.local_rank = static_cast<int>(env_int("LOCAL_RANK", w.rank, 0, w.size - 1));
  const char* addr = std::getenv("MASTER_ADDR");
  if (!addr || !*addr)
    fail_input("distributed: WORLD_SIZE is ", w.size, " but MASTER_ADDR is unset");
  w.master_addr = addr;
  if (!std::getenv("MASTER_PORT"))
    fail_input("distributed: WORLD_SIZE is ", w.size, " but MASTER_PORT is unset");
  w.master_port = static_cast<int>(env_int("MASTER_PORT", 0, 1, 65535));
  return w;
}

ProcessGroup::ProcessGroup(const WorldInfo& world, std::chrono::milliseconds join_timeout)
    : world_(world) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(join_timeout).count();
  c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(world.master_port);
  so.isServer = world.rank == 0;
  so.numWorkers = static_cast<size_t>(world.size);
  so.waitWorkers = true;
  so.timeout = join_timeout;
  try {
    store_ = c10::make_intrusive<c10d::TCPStore>(world.master_addr, so);
    // The store has seen every rank join: the group's timeout bounds collectives, which may wait
    // for a slow peer much longer than the join.
    auto options = c10d::ProcessGroupGloo::Options::create(
        std::max(join_timeout, std::chrono::milliseconds(600'000)));
    const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
    if (ifname && *ifname)
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (is_loopback(world.master_addr))
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    options->threads = 2;
    pg_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, world.rank, world.size, options);
  } catch (const std::exception& e) {
    fail_input("distributed: rank ", world.rank, " of ", world.size, " could not join the job at ",
               world.master_addr, ":", world.master_port, " within ", seconds,
               " s: ", first_line(e));
  }
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::all_reduce_sum(torch::Tensor& t) { wait(*all_reduce_sum_async(t)); }

void ProcessGroup::broadcast(torch::Tensor& t, int root) {
  try {
    std::vector<torch::Tensor> ts{t};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    pg_->broadcast(ts, o)->wait();
  } catch (const std::exception& e) {
    lost_peer(world_, e);
  }
}

c10::intrusive_ptr<c10d::Work> ProcessGroup::all_reduce_sum_async(torch::Tensor& t) {
  try {
    std::vector<torch::Tensor> ts{t};
    return pg_->allreduce(ts);
  } catch (const std::exception& e) {
    lost_peer(world_, e);
  }
}

void ProcessGroup::wait(c10d::Work& work) {
  try {
    work.wait();
  } catch (const std::exception& e) {
    lost_peer(world_, e);
  }
}

void quiet_c10d_logging() { FLAGS_minloglevel = google::GLOG_FATAL; }

ProcessGroup* group() {
  static std::once_flag once;
  static std::unique_ptr<ProcessGroup> pg;
  std::call_once(once, [] {
    const WorldInfo w = world_from_env();
    if (w.size <= 1) return;
    quiet_c10d_logging();
    const long s = env_int("EDGEOPT_JOIN_TIMEOUT", 60, 1, 24 * 3600);
    pg = std::make_unique<ProcessGroup>(w, std::chrono::seconds(s));
  });
  return pg.get();
}

namespace {

struct SumAcrossRanks : torch::autograd::Function<SumAcrossRanks> {
  static torch::Tensor forward(torch::autograd::AutogradContext*, const torch::Tensor& x) {
    torch::Tensor y = x.detach().contiguous().clone();
    group()->all_reduce_sum(y);
    return y;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext*,
                                                 torch::autograd::variable_list grads) {
    torch::Tensor g = grads[0].contiguous().clone();
    group()->all_reduce_sum(g);
    return {g};
  }
};

}  // namespace

torch::Tensor sum_across_ranks(const torch::Tensor& t) { return SumAcrossRanks::apply(t); }

GradientReducer::GradientReducer(ProcessGroup& pg, std::vector<torch::Tensor> params,
                                 int64_t bucket_bytes)
    : pg_(pg), params_(std::move(params)) {
  bucket_of_.resize(params_.size());
  slot_of_.resize(params_.size());
  // Reverse order: the last layers' gradients come first in the backward pass.
  int64_t bytes = 0;
  for (size_t k = params_.size(); k-- > 0;) {
    const torch::Tensor& p = params_[k];
    const int64_t nbytes = p.numel() * static_cast<int64_t>(p.element_size());
    const bool new_bucket =
        buckets_.empty() || bytes + nbytes > bucket_bytes ||
        params_[buckets_.back().params.front()].scalar_type() != p.scalar_type();
    if (new_bucket) {
      buckets_.emplace_back();
      bytes = 0;
    }
    Bucket& b = buckets_.back();
    bucket_of_[k] = buckets_.size() - 1;
    slot_of_[k] = b.params.size();
    b.offsets.push_back(b.params.empty() ? 0 : b.offsets.back() + params_[b.params.back()].numel());
    b.params.push_back(k);
    bytes += nbytes;
  }
  for (Bucket& b : buckets_) {
    const torch::Tensor& last = params_[b.params.back()];
    b.flat = torch::zeros({b.offsets.back() + last.numel()}, last.options().requires_grad(false));
  }
  seen_.assign(params_.size(), false);
  for (size_t k = 0; k < params_.size(); ++k)
    hooks_.push_back(
        params_[k].register_hook([this, k](const torch::Tensor& g) { on_gradient(k, g); }));
}

GradientReducer::~GradientReducer() {
  for (size_t k = 0; k < params_.size(); ++k) params_[k].remove_hook(hooks_[k]);
}

void GradientReducer::prepare() {
  active_ = true;
  next_launch_ = 0;
  std::fill(seen_.begin(), seen_.end(), false);
  for (Bucket& b : buckets_) {
    b.ready = 0;
    b.work.reset();
  }
}

void GradientReducer::on_gradient(size_t k, const torch::Tensor& grad) {
  if (!active_ || seen_[k]) return;
  torch::NoGradGuard no_grad;
  Bucket& b = buckets_[bucket_of_[k]];
  b.flat.narrow(0, b.offsets[slot_of_[k]], params_[k].numel()).copy_(grad.reshape({-1}));
  seen_[k] = true;
  ++b.ready;
  launch_ready();
}

// Buckets start in index order, so that every rank issues the same collectives in the same
// order (Gloo matches them by sequence).
void GradientReducer::launch_ready() {
  while (next_launch_ < buckets_.size() &&
         buckets_[next_launch_].ready == buckets_[next_launch_].params.size()) {
    Bucket& b = buckets_[next_launch_++];
    b.work = pg_.all_reduce_sum_async(b.flat);
  }
}

std::vector<torch::Tensor> GradientReducer::finish() {
  torch::NoGradGuard no_grad;
  // Parameters the loss did not reach contribute zeros (every rank must send the bucket).
  for (size_t k = 0; k < params_.size(); ++k)
    if (!seen_[k]) {
      Bucket& b = buckets_[bucket_of_[k]];
      b.flat.narrow(0, b.offsets[slot_of_[k]], params_[k].numel()).zero_();
      seen_[k] = true;
      ++b.ready;
    }
  launch_ready();
  for (Bucket& b : buckets_) pg_.wait(*b.work);
  active_ = false;
  std::vector<torch::Tensor> grads(params_.size());
  for (size_t k = 0; k < params_.size(); ++k) {
    const Bucket& b = buckets_[bucket_of_[k]];
    grads[k] =
        b.flat.narrow(0, b.offsets[slot_of_[k]], params_[k].numel()).view(params_[k].sizes());
    // backward() also accumulated into .grad: not used, cleared for the next step.
    params_[k].mutable_grad().reset();
  }
  return grads;
}

}  // namespace edgeopt::train
