// Training on libtorch, behind a torch-free interface (what the CLI commands and tests use).
//
// train_model() fine-tunes every float initializer of an ONNX model in place with SGD or AdamW
// on a labelled dataset; optional extras: keep pruned weights at zero (finetune), knowledge
// distillation from a teacher run by edgeopt's runtime, trainable quantization scales (QAT).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "edgeopt/data.h"
#include "edgeopt/ir.h"

namespace edgeopt::train {

struct TrainOptions {
  int epochs = 1;
  int64_t batch = 128;
  double lr = 0.05;
  std::string optimizer = "sgd";  // "sgd" (momentum, Nesterov) | "adamw"
  double momentum = 0.9;
  bool nesterov = true;
  std::string schedule = "cosine";  // "cosine" (per step, to 0) | "step" (×0.1 at 50%, 75%)
                                    // | "constant"
  int warmup_epochs = 0;            // linear warm-up from lr/10 (counted in steps)
  double weight_decay = 5e-4;       // applied to tensors of rank >= 2 only (not biases, BN)
  double label_smoothing = 0;
  bool augment = false;  // random crop from the image zero-padded by 2, random horizontal flip
  uint64_t seed = 0;
  int threads = 1;
  int64_t limit = 0;      // train on the first `limit` samples (0 = all)
  int64_t val_limit = 0;  // validate on the first `val_limit` samples (0 = all)
  // After every epoch write `checkpoint` (the ONNX model) and `checkpoint`.state (optimizer
  // state, epoch). Resuming from such a pair continues exactly as an uninterrupted run.
  std::string checkpoint;
  std::string resume;
  // Stop after this epoch (1-based; 0 = run all), keeping the schedule of `epochs`.
  int stop_after = 0;
  // Keep weights that are exactly zero at the start at zero (pruned models).
  bool keep_zeros = false;
  // Distillation: loss = α·CE(y, s) + (1 − α)·T²·KL(softmax(t/T) ‖ softmax(s/T)).
  std::string teacher;  // ONNX file run with edgeopt::Session; empty = no distillation
  std::vector<std::string> teacher_providers;  // session providers (empty: all, best first)
  double alpha = 0.5;
  double temperature = 4.0;
  // QAT: make QuantizeLinear/DequantizeLinear scales trainable; int8 weights saturate to
  // [−weight_qmax, weight_qmax] (63: 7-bit weights).
  bool train_quant_scales = false;
  int weight_qmax = 127;
  // Data-parallel jobs (see train_model): BatchNormalization takes the statistics of each
  // rank's share of the batch (as DistributedDataParallel without SyncBatchNorm; the model keeps
  // rank 0's running statistics) or, with sync_bn, of the global batch (synchronised: two small
  // blocking all-reduces per BN node and step, latency-bound; equals one process). Gradients are
  // all-reduced in buckets of bucket_mb MiB.
  bool sync_bn = false;
  double bucket_mb = 4;
  // Progress: a bar on stderr when it is a terminal; epoch lines go to `log` (stdout in the CLI).
  bool progress = true;
  std::function<void(const std::string&)> log;
  // Called after every epoch (1-based) with the weights at that point, written back into a copy
  // of the model (the rewind point of the lottery ticket, src/train/gradual_prune.h).
  std::function<void(int epoch, const Model& weights)> on_epoch_end;
};

struct EpochStats {
  int epoch = 0;  // 1-based
  double loss = 0;
  double train_top1 = 0;
  double val_top1 = -1;  // < 0 without a validation set
  double lr = 0;         // at the end of the epoch
  double seconds = 0;
  // Training samples this process read from the data set in the epoch: the whole set once in
  // one process (epoch 1), this rank's share of every epoch in a data-parallel job.
  int64_t samples_read = 0;
};

// Trains `model` in place (initializers updated). `val` may be null.
//
// Run as a rank of a data-parallel job (WORLD_SIZE > 1 in the environment, see WorldInfo), it
// trains together with the other ranks: `batch` is the global batch, split across the ranks
// (rank r takes samples r, r + W, ... of each batch, as torch's DistributedSampler does) and the
// gradients are summed across ranks. BatchNormalization uses each rank's statistics unless
// sync_bn. For models without BatchNormalization, or with sync_bn, the result equals a
// one-process run over the same global batches, up to the order of float additions. Dropout
// masks differ per rank. Only rank 0 logs and writes
// checkpoints; every rank returns the same model and figures.
std::vector<EpochStats> train_model(Model& model, Dataset& train, Dataset* val,
                                    const TrainOptions& options);

// Top-1 of `model` on the first `limit` samples (0 = all), executed by the torch backend.
double evaluate_top1(const Model& model, Dataset& data, int64_t limit = 0, int threads = 1);

// ---- data-parallel jobs ---------------------------------------------------------------------

// The process's place in a data-parallel job, from torchrun's environment: RANK, WORLD_SIZE,
// LOCAL_RANK, MASTER_ADDR, MASTER_PORT (what `edgeopt launch` sets).
struct WorldInfo {
  int rank = 0;
  int size = 1;
  int local_rank = 0;
  std::string master_addr;
  int master_port = 0;
};

// Size 1 (one process) when WORLD_SIZE is unset or 1. Throws Error (invalid input) with one
// line for a malformed or inconsistent variable.
WorldInfo world_from_env();

// ---- QAT ----------------------------------------------------------------------------------

struct QatOptions {
  int64_t calib_samples = 512;
  int64_t batch = 64;
  // Weights quantize to [−weight_qmax, weight_qmax]: 127 (8-bit) or 63 (7-bit, reduce range,
  // exact on x86 int8 kernels without VNNI; see QuantizeOptions::reduce_range).
  int weight_qmax = 127;
};

// Folds BatchNormalization into convolutions, then inserts fake quantization in QDQ form:
// activations entering Conv/Gemm/MatMul per-tensor asymmetric u8, weights per-channel
// symmetric s8 (S_w = max|w_c| / weight_qmax). Activation ranges come from a min/max pass
// over the first `calib_samples` of `calib`. Returns the number of quantized nodes.
int64_t insert_fake_quant(Model& model, Dataset& calib, const QatOptions& options);

// Turns the fake-quantized model into a plain QDQ model: weights pass through QuantizeLinear
// once here (saturating to [−weight_qmax, weight_qmax]) and are stored as s8 initializers
// feeding DequantizeLinear.
void finalize_qdq(Model& model, int weight_qmax = 127);

// ---- zoo ------------------------------------------------------------------------------------

struct ZooOptions {
  int64_t classes = 10;
  Shape input = {1, 1, 28, 28};  // the batch dim becomes dynamic ("N")
  double width = 1.0;            // channel multiplier
  uint64_t seed = 0;
};

// Architectures: lenet5, mlp, resnet8, resnet18, mobilenet_v2, squeezenet.
std::vector<std::string> zoo_architectures();
// Builds a freshly initialised model (ONNX opset 13). Throws Error for an unknown name.
Model build_zoo_model(const std::string& arch, const ZooOptions& options);

// Cubic sparsity schedule of gradual pruning: s_t = s_f · (1 − (1 − t/K)³), t = 1..K.
double cubic_sparsity(double final_sparsity, int step, int steps);

}  // namespace edgeopt::train
