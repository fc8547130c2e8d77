// Options shared by the training subcommands (train, finetune, distill, qat, iterative-prune).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_checks.h"
#include "edgeopt/data.h"
#include "edgeopt/error.h"
#include "edgeopt/fileio.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/train.h"

namespace edgeopt::cli {

struct TrainArgs {
  std::string model, out, data, val;
  train::TrainOptions opt;
  // --json: one JSON object on stdout at the end (result_json), the log on stderr (what the
  // Python module's training functions read: the object as their result, the lines as progress).
  bool json = false;
};

// In a data-parallel job (edgeopt launch) every rank runs the command; rank 0 alone logs and
// writes the model and the result.
inline bool writes_outputs() { return train::world_from_env().rank == 0; }

// One line of a training command's log: stdout, or stderr under --json.
inline void say(const TrainArgs& a, const char* format, ...) {
  char line[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(line, sizeof line, format, args);
  va_end(args);
  a.opt.log(line);
}

// What a training command prints under --json: the command, its model and output, one entry per
// epoch, and the command's own figures in `extra`.
inline nlohmann::json result_json(const std::string& command, const TrainArgs& a,
                                  const std::vector<train::EpochStats>& epochs,
                                  nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json e = nlohmann::json::array();
  for (const train::EpochStats& s : epochs) {
    nlohmann::json x = {{"epoch", s.epoch},           {"loss", s.loss},
                        {"train_top1", s.train_top1}, {"lr", s.lr},
                        {"seconds", s.seconds},       {"samples_read", s.samples_read}};
    if (s.val_top1 >= 0) x["val_top1"] = s.val_top1;
    e.push_back(x);
  }
  nlohmann::json j = {
      {"command", command}, {"model", a.model}, {"output", a.out}, {"data", a.data}, {"epochs", e}};
  if (!a.val.empty()) j["val"] = a.val;
  if (!epochs.empty() && epochs.back().val_top1 >= 0) j["val_top1"] = epochs.back().val_top1;
  for (auto& [k, v] : extra.items()) j[k] = v;
  return j;
}

inline void print_result(const TrainArgs& a, const nlohmann::json& j) {
  if (!writes_outputs()) return;
  if (a.json) {
    std::printf("%s\n", j.dump(2).c_str());
    std::fflush(stdout);
  } else {
    say(a, "wrote %s", a.out.c_str());
  }
}

// Declares MODEL, -o, --data, --val and the optimisation options on `sub`.
inline void add_train_options(CLI::App& sub, TrainArgs& a, int default_epochs, double default_lr) {
  a.opt.epochs = default_epochs;
  a.opt.lr = default_lr;
  a.opt.threads = 1;  // see docs/training.md: 2 threads only help on an idle machine
  sub.add_option("model", a.model, "ONNX model to train")->required();
  sub.add_option("-o,--output", a.out, "Where to write the trained ONNX model")->required();
  sub.add_option("--data", a.data, "Training set SPEC (e.g. fashion-mnist:train)")->required();
  sub.add_option("--val", a.val, "Validation set SPEC: top-1 after every epoch");
  sub.add_option("--epochs", a.opt.epochs, "Epochs")->check(edgeopt::cli::whole(1, 100000));
  sub.add_option("--batch", a.opt.batch, "Batch size")->check(edgeopt::cli::whole(2, 1 << 20));
  sub.add_option("--lr", a.opt.lr, "Peak learning rate")->check(edgeopt::cli::real(1e-12, 1e6));
  sub.add_option("--optimizer", a.opt.optimizer, "sgd (Nesterov momentum) | adamw")
      ->check(CLI::IsMember({"sgd", "adamw"}));
  sub.add_option("--momentum", a.opt.momentum, "SGD momentum");
  sub.add_option("--schedule", a.opt.schedule, "cosine | step | constant")
      ->check(CLI::IsMember({"cosine", "step", "constant"}));
  sub.add_option("--warmup-epochs", a.opt.warmup_epochs, "Linear warm-up epochs");
  sub.add_option("--weight-decay", a.opt.weight_decay, "Weight decay (weights of rank >= 2)");
  sub.add_option("--label-smoothing", a.opt.label_smoothing, "Label smoothing epsilon");
  sub.add_flag("--augment", a.opt.augment, "Random crop (pad 2) + horizontal flip");
  sub.add_option("--seed", a.opt.seed, "Seed of shuffling, augmentation and dropout");
  sub.add_option("--threads", a.opt.threads,
                 "Torch intra-op threads (for 2, also set OMP_WAIT_POLICY=PASSIVE)")
      ->check(edgeopt::cli::whole(1, 1024));
  sub.add_option("--checkpoint", a.opt.checkpoint,
                 "Write FILE (ONNX) and FILE.state (optimizer) after every epoch");
  sub.add_option("--resume", a.opt.resume, "Continue from a checkpoint FILE (+ FILE.state)");
  sub.add_option("--stop-after", a.opt.stop_after,
                 "Stop after this epoch (the schedule still spans --epochs)")
      ->check(edgeopt::cli::whole(1, 100000));
  sub.add_option("--limit", a.opt.limit, "Train on the first N samples")
      ->check(edgeopt::cli::whole(int64_t{1}, int64_t{1} << 40));
  sub.add_option("--val-limit", a.opt.val_limit, "Validate on the first N samples")
      ->check(edgeopt::cli::whole(int64_t{1}, int64_t{1} << 40));
  sub.add_option("--bucket-mb", a.opt.bucket_mb,
                 "Data-parallel jobs (edgeopt launch): gradient all-reduce bucket size, MiB")
      ->check(edgeopt::cli::real(0.001, 4096));
  sub.add_flag("--sync-bn", a.opt.sync_bn,
               "Data-parallel jobs: BatchNormalization statistics of the global batch, not of "
               "each rank's share");
  sub.add_flag("--json", a.json,
               "Print one JSON object at the end (epochs, figures); the log goes to stderr");
  a.opt.log = [&a](const std::string& line) {
    if (!writes_outputs()) return;
    std::FILE* to = a.json ? stderr : stdout;
    std::fprintf(to, "%s\n", line.c_str());
    std::fflush(to);
  };
}

// Checks -o before training starts, so that a bad path does not cost a training run.
inline void check_output(const TrainArgs& a) {
  const std::filesystem::path out(a.out);
  const std::filesystem::path dir = out.parent_path().empty() ? "." : out.parent_path();
  if (!std::filesystem::is_directory(dir))
    fail_input(a.out, ": folder '", dir.string(), "' does not exist");
  if (!a.model.empty()) refuse_same_file(a.model, a.out);
}

inline std::unique_ptr<Dataset> open_val(const TrainArgs& a) {
  return a.val.empty() ? nullptr : open_dataset(a.val);
}

// train, finetune and distill: load MODEL, train it with a.opt, write OUT.
inline int run_training(const std::string& command, TrainArgs& a) {
  check_output(a);
  std::unique_ptr<Dataset> data = open_dataset(a.data);
  std::unique_ptr<Dataset> val = open_val(a);
  Model model = load_model(a.model);
  const std::vector<train::EpochStats> epochs = train::train_model(model, *data, val.get(), a.opt);
  if (writes_outputs()) save_model(model, a.out, {}, a.model);
  nlohmann::json extra = nlohmann::json::object();
  if (!a.opt.teacher.empty()) extra["teacher"] = a.opt.teacher;
  print_result(a, result_json(command, a, epochs, extra));
  return 0;
}

}  // namespace edgeopt::cli
