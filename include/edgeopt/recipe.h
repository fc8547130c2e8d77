// Optimization recipes: an ordered list of steps (graph passes, pruning, low-rank, quantization,
// fine-tuning, ...) applied to a model, with size, MACs and — when asked — accuracy and latency
// measured after every step, as the lecture's lab table (Model | Size | Latency | RAM | Acc).
//
// A recipe is JSON:
//   {"name": "lab",
//    "steps": [
//      {"name": "fold/fuse",  "op": "passes", "level": 2},
//      {"name": "prune 30%",  "op": "prune", "structured": true, "ratio": 0.3},
//      {"name": "int8",       "op": "quantize", "from": "fold/fuse", "samples": 500},
//      {"name": "prune+int8", "op": "quantize", "from": "prune 30%", "samples": 500}]}
// Each step starts from the model of the step named by "from" (default: the previous step;
// "baseline" is the input model) and gets a row of its own. The keys besides name/op/from are
// the step's options; unknown keys are an error, so a typo never goes unnoticed. Datasets are
// options of their steps ("calibration": "fashion-mnist:train") or, when a step names none, the
// defaults given to run_recipe (the CLI's --calib and --train), so one recipe serves many models.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "edgeopt/data.h"
#include "edgeopt/ir.h"

namespace edgeopt {

struct RecipeStep {
  std::string name;
  std::string op;
  std::string from;        // name of the step whose output this step starts from
  nlohmann::json options;  // the step's own keys
};

struct Recipe {
  std::string name;
  std::vector<RecipeStep> steps;
};

// Parses and checks a recipe: names unique and not "baseline", ops registered, "from" naming an
// earlier step, each op's options known and well typed. Throws Error (invalid input).
Recipe parse_recipe(const nlohmann::json& j);
Recipe load_recipe(const std::filesystem::path& path);

// What a step handler gets besides the model and its options.
struct StepContext {
  // Datasets by spec ("fashion-mnist:train"), opened once and shared by the steps.
  std::function<Dataset&(const std::string& spec)> dataset;
  // One line per step for the log (stderr in the CLI).
  std::function<void(const std::string&)> log;
  // Datasets for steps that do not name their own ("" = none given).
  std::string calibration_spec;  // quantize
  std::string train_spec;        // finetune
};

// A step rewrites the model in place and returns a short summary for the report.
using StepFn =
    std::function<std::string(Model& model, const nlohmann::json& options, StepContext& ctx)>;

// Checks a step's options (types, ranges, the datasets it needs) without doing the work, so
// that run_recipe refuses a bad recipe before the baseline is measured. Throws Error.
using StepCheckFn = std::function<void(const nlohmann::json& options, StepContext& ctx)>;

struct StepKind {
  std::string op;
  std::string help;                  // one line for `optimize --help`
  std::vector<std::string> options;  // accepted option keys
  StepFn run;
  StepCheckFn check;  // empty: the option keys alone are checked
};

// Registry of step kinds. The built-in ones live in src/search; optional components (the
// training backend's "finetune") register theirs when they are linked in.
class StepRegistry {
 public:
  static StepRegistry& global();
  void add(StepKind kind);
  const StepKind* find(const std::string& op) const;
  std::vector<std::string> ops() const;

 private:
  std::vector<StepKind> kinds_;
};

struct StepRegistrar {
  explicit StepRegistrar(StepKind kind) { StepRegistry::global().add(std::move(kind)); }
};

// One row of the report: the baseline or the model after a step.
struct RecipeRow {
  std::string name;
  std::string op;    // "" for the baseline
  std::string from;  // "" for the baseline
  std::string summary;
  double step_ms = 0;  // time the step took
  int64_t file_bytes = 0;
  int64_t compressed_bytes = 0;  // deflated, what an app package ships
  int64_t params = 0;
  int64_t macs = 0;
  int64_t nodes = 0;
  double quantized_share = 0;       // fraction of MACs in int8 nodes
  std::optional<double> top1;       // with an eval set
  std::optional<double> agreement;  // top-1 agreement with the baseline, with an eval set
  int64_t eval_count = 0;
  std::optional<double> p50_ms, p95_ms, mean_ms;  // with benchmarking
  std::optional<int64_t> peak_rss_bytes;
  std::filesystem::path file;  // where the model was written, when kept
};

struct RecipeReport {
  std::string recipe;
  std::string model;
  std::string eval_spec;        // "" without evaluation
  std::string bench_note;       // how latency was measured ("" without benchmarking)
  std::vector<RecipeRow> rows;  // baseline first
};

struct RecipeOptions {
  // Evaluate every model on this dataset spec ("" = no accuracy column).
  std::string eval_spec;
  int64_t eval_limit = 0;  // first N samples (0 = all)
  // Measures a saved model (latency and peak RSS); empty = no latency column. The CLI runs
  // `edgeopt bench` in a fresh process so that every model's peak RSS is its own.
  // Sets p50_ms, p95_ms, mean_ms and peak_rss_bytes of `row`.
  std::function<void(const std::filesystem::path& model, RecipeRow& row)> bench;
  std::string bench_note;
  // Every model is benchmarked this many times, round-robin after all steps; the report keeps
  // the median of the rounds (latency) and the largest peak RSS.
  int bench_rounds = 3;
  // Default datasets of the steps (see StepContext).
  std::string calibration_spec, train_spec;
  // Folder where every step's model is written (named after the step); empty = a temporary
  // folder, removed at the end.
  std::filesystem::path keep_dir;
  std::function<void(const std::string&)> log;
};

// Runs the recipe on `model` (not modified): first every step's check (options, datasets), then
// the baseline and the steps. Returns the report and, in `final_model`, the model of the last
// step.
RecipeReport run_recipe(const Model& model, const std::string& model_name, const Recipe& recipe,
                        const RecipeOptions& options, Model* final_model);

// The report as a Markdown table in the lecture's style (Model | Size MB | Latency ms |
// Peak RAM MB | Accuracy %), with ratios to the baseline, and as JSON.
std::string recipe_markdown(const RecipeReport& report);
nlohmann::json recipe_json(const RecipeReport& report);

}  // namespace edgeopt
