// Data-parallel training on PyTorch's distributed engine (c10d): a TCPStore rendezvous and a
// Gloo process group over TCP, the pieces torchrun uses, set up from torchrun's environment
// (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, LOCAL_RANK; `edgeopt launch` sets them).
//
// Internal to src/train (includes torch). What the training loop needs:
// - the group, joined once per process (the first call of group(); later calls reuse it);
// - GradientReducer: bucketed all-reduce of the gradients, each bucket started from the
//   parameters' gradient hooks as soon as the backward pass has produced all of it, so that
//   communication overlaps the rest of the backward pass (what DistributedDataParallel does);
// - sum_across_ranks(): an all-reduce autograd understands (its backward all-reduces the
//   gradient), for synchronised BatchNormalization statistics.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <vector>

#include "edgeopt/train.h"

namespace edgeopt::train {

class ProcessGroup {
 public:
  // Joins the job described by `world` (size > 1): rank 0 serves the store at
  // MASTER_ADDR:MASTER_PORT, every rank waits at most `join_timeout` for the others.
  // Throws Error (invalid input) with one line when a peer does not join in time.
  ProcessGroup(const WorldInfo& world, std::chrono::milliseconds join_timeout);
  ~ProcessGroup();

  int rank() const { return world_.rank; }
  int size() const { return world_.size; }

  // In place, blocking. Tensors must be contiguous CPU tensors of the same shape on every rank.
  void all_reduce_sum(torch::Tensor& t);
  void broadcast(torch::Tensor& t, int root = 0);
  // Starts an all-reduce (sum) of `t` in place; wait() on the result.
  c10::intrusive_ptr<c10d::Work> all_reduce_sum_async(torch::Tensor& t);
  void wait(c10d::Work& work);

  c10d::ProcessGroup& backend() { return *pg_; }

 private:
  WorldInfo world_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroup> pg_;
};

// c10d also logs its failures (a connect timeout, a peer gone) through glog on stderr, with a
// preamble; edgeopt reports each as one line of its own instead.
void quiet_c10d_logging();

// The process's group when it is a rank of a data-parallel job (WORLD_SIZE > 1), else null.
// Joined on the first call; the join timeout is EDGEOPT_JOIN_TIMEOUT seconds (default 60).
ProcessGroup* group();

// Σ over ranks of `t` (same shape on every rank), differentiable: the gradient of each rank's
// input is the sum of the ranks' output gradients.
// Uses group(), which must exist.
torch::Tensor sum_across_ranks(const torch::Tensor& t);

// Sums the gradients of `params` across ranks in buckets of about `bucket_bytes`, in reverse
// parameter order (the order backward produces them). Use: construct once, then per step
//   reducer.prepare(); loss.backward(); grads = reducer.finish();
// Each rank must scale its loss so that the sum over ranks is the global loss.
class GradientReducer {
 public:
  GradientReducer(ProcessGroup& pg, std::vector<torch::Tensor> params,
                  int64_t bucket_bytes = int64_t{4} << 20);
  ~GradientReducer();
  void prepare();
  // Waits for every bucket (starting those whose parameters got no gradient, with zeros) and
  // returns one summed gradient per parameter.
  std::vector<torch::Tensor> finish();
  int64_t buckets() const { return static_cast<int64_t>(buckets_.size()); }

 private:
  struct Bucket {
    std::vector<size_t> params;  // indices into params_
    std::vector<int64_t> offsets;
    torch::Tensor flat;
    size_t ready = 0;
    c10::intrusive_ptr<c10d::Work> work;
  };
  void on_gradient(size_t param, const torch::Tensor& grad);
  void launch_ready();

  ProcessGroup& pg_;
  std::vector<torch::Tensor> params_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_, slot_of_;
  std::vector<bool> seen_;
  std::vector<unsigned> hooks_;
  size_t next_launch_ = 0;
  bool active_ = false;
};

}  // namespace edgeopt::train
