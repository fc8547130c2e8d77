// edgeopt optimize MODEL -o OUT [--level N] [--disable PASS...] [--only PASS...] [--json]
// edgeopt optimize MODEL -o OUT --recipe FILE.json [--eval SPEC] [--bench] [--keep DIR]
//                  [--report R.json] [--table T.md] [--json]
// Without a recipe: the graph passes (fold BatchNormalization, fuse, fold constants, remove dead
// code). With one: its steps, measured after each (see include/edgeopt/recipe.h).
#include <iostream>
#include <nlohmann/json.hpp>

#include "binaries.h"
#include "cli_checks.h"
#include "command.h"
#include "edgeopt/error.h"
#include "edgeopt/fileio.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/passes.h"
#include "edgeopt/recipe.h"
#include "edgeopt/report_json.h"
#include "shape_option.h"

namespace edgeopt::cli {
namespace {

struct OptimizeArgs {
  std::string model, out;
  int level = 2;
  std::vector<std::string> disabled, only, shapes;
  bool json = false;
  // Recipe mode.
  std::string recipe, eval, calib, train, keep, report, table, provider;
  int64_t eval_limit = 0;
  bool bench = false;
  int bench_runs = 50, bench_warmup = 10, bench_rounds = 3, threads = 1;
};

// Runs `edgeopt bench MODEL --json ...` in a fresh process of the lean edgeopt (so the peak RSS
// is this model's alone, without libtorch) and returns its JSON.
nlohmann::json bench_in_child(const std::string& model, const OptimizeArgs& a) {
  std::vector<std::string> args = {"bench",
                                   model,
                                   "--json",
                                   "--runs",
                                   std::to_string(a.bench_runs),
                                   "--warmup",
                                   std::to_string(a.bench_warmup),
                                   "--threads",
                                   std::to_string(a.threads)};
  if (!a.provider.empty()) {
    args.push_back("--provider");
    args.push_back(a.provider);
  }
  const std::string out = run_capture(lean_binary(), args);
  try {
    return nlohmann::json::parse(out);
  } catch (const nlohmann::json::exception&) {
    fail(ErrorKind::kInternal, "bench of ", model, " printed no JSON");
  }
}

// A recipe step this program lacks but edgeopt-train has (finetune): hand the whole command
// over to edgeopt-train. Returns only when there is nothing to hand over.
void hand_over_training_steps(const std::string& recipe_path) {
  const std::optional<std::filesystem::path> train = train_binary();
  if (!train) return;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(recipe_path));
  } catch (const nlohmann::json::exception&) {
    return;  // load_recipe reports it
  }
  if (!j.is_object() || !j.contains("steps") || !j["steps"].is_array()) return;
  for (const auto& step : j["steps"])
    if (step.is_object() && step.contains("op") && step["op"].is_string() &&
        !StepRegistry::global().find(step["op"].get<std::string>())) {
      exec_with_saved_argv(*train);
      fail(ErrorKind::kInternal, "cannot start ", train->string());
    }
}

int run_recipe_mode(const OptimizeArgs& a) {
  hand_over_training_steps(a.recipe);
  const Recipe recipe = load_recipe(a.recipe);
  // Every output is checked before any work: a failure leaves all of them as they were.
  check_output_file(a.out);
  if (!a.table.empty()) check_output_file(a.table);
  if (!a.report.empty()) check_output_file(a.report);
  if (!a.keep.empty()) check_output_folder(a.keep);
  const Model model = with_shapes(load_model(a.model), a.shapes);
  RecipeOptions opts;
  opts.eval_spec = a.eval;
  opts.eval_limit = a.eval_limit;
  opts.calibration_spec = a.calib;
  opts.train_spec = a.train;
  opts.keep_dir = a.keep;
  opts.bench_rounds = a.bench_rounds;
  opts.log = [](const std::string& line) { std::cerr << "optimize: " << line << "\n"; };
  if (a.bench) {
    opts.bench_note = "edgeopt bench in a fresh process, " + std::to_string(a.threads) +
                      " thread(s), batch 1, median over " + std::to_string(a.bench_rounds) +
                      " interleaved rounds of the p50 of " + std::to_string(a.bench_runs) +
                      " runs after " + std::to_string(a.bench_warmup) + " warm-up runs" +
                      (a.provider.empty() ? "" : ", providers " + a.provider);
    opts.bench = [&a](const std::filesystem::path& file, RecipeRow& row) {
      const nlohmann::json j = bench_in_child(file.string(), a);
      row.p50_ms = j.at("p50_ms").get<double>();
      row.p95_ms = j.at("p95_ms").get<double>();
      row.mean_ms = j.at("mean_ms").get<double>();
      row.peak_rss_bytes = j.at("peak_rss_bytes").get<int64_t>();
    };
  }
  Model final_model;
  const RecipeReport report = run_recipe(model, a.model, recipe, opts, &final_model);
  save_model(final_model, a.out, {}, a.model);
  const std::string table = recipe_markdown(report);
  const nlohmann::json j = recipe_json(report);
  if (!a.table.empty()) write_file_atomic(a.table, table);
  if (!a.report.empty()) write_file_atomic(a.report, j.dump(2) + "\n");
  if (a.json) {
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << table << "wrote " << a.out << "\n";
  }
  return 0;
}

int run_optimize(const OptimizeArgs& a) {
  if (!a.recipe.empty()) return run_recipe_mode(a);
  if (!a.eval.empty() || !a.calib.empty() || !a.train.empty() || a.bench || !a.keep.empty() ||
      !a.report.empty() || !a.table.empty())
    fail_input("--eval, --calib, --train, --bench, --keep, --report and --table go with --recipe");
  Model model = with_shapes(load_model(a.model), a.shapes);
  PassOptions opts;
  opts.level = a.level;
  opts.disabled = a.disabled;
  opts.only = a.only;
  const PassReport r = optimize(model, opts);
  save_model(model, a.out, {}, a.model);
  if (a.json) {
    std::cout << pass_report_json(a.model, a.out, r).dump(2) << "\n";
    return 0;
  }
  std::printf("%-32s %6s %8s %14s %8s\n", "pass", "runs", "changed", "nodes removed", "ms");
  for (const PassStats& p : r.passes)
    std::printf("%-32s %6d %8d %14lld %8.1f\n", p.name.c_str(), p.runs, p.changed_rounds,
                static_cast<long long>(p.nodes_removed), p.ms);
  std::printf("\nnodes %lld -> %lld, initializers %lld -> %lld, %d round(s)%s\nwrote %s\n",
              static_cast<long long>(r.nodes_before), static_cast<long long>(r.nodes_after),
              static_cast<long long>(r.initializers_before),
              static_cast<long long>(r.initializers_after), r.rounds,
              r.converged ? "" : " (stopped at the round cap)", a.out.c_str());
  return 0;
}

CommandRegistrar reg(
    20, "optimize", "Graph passes (BN folding, fusion, constant folding), or a recipe of steps",
    [](CLI::App& sub) {
      auto a = std::make_shared<OptimizeArgs>();
      sub.add_option("model", a->model, "ONNX model")->required();
      sub.add_option("-o,--output", a->out, "Output ONNX model")->required();
      add_shape_option(sub, a->shapes);
      sub.add_option("--level", a->level, "0 none, 1 basic (redundancy), 2 extended (fusion)")
          ->check(edgeopt::cli::whole(0, 2));
      sub.add_option("--disable", a->disabled, "Passes not to run (by name)");
      sub.add_option("--only", a->only, "Run only these passes");
      sub.add_flag("--json", a->json, "Print one JSON object");
      auto* recipe =
          sub.add_option("--recipe", a->recipe, "Recipe (JSON): steps to apply, each measured")
              ->check(CLI::ExistingFile);
      for (const char* o : {"--level", "--disable", "--only"}) recipe->excludes(sub.get_option(o));
      sub.add_option("--eval", a->eval, "With --recipe: top-1 of every step on this dataset SPEC");
      sub.add_option("--calib", a->calib, "Calibration data SPEC for quantize steps naming none");
      // Finetune steps run here, or in edgeopt-train (training backend built).
      if (StepRegistry::global().find("finetune") || train_binary())
        sub.add_option("--train", a->train, "Training data SPEC for finetune steps naming none");
      sub.add_option("--eval-limit", a->eval_limit, "Evaluate the first N samples only")
          ->check(edgeopt::cli::non_negative_int());
      sub.add_flag("--bench", a->bench, "With --recipe: latency and peak RAM of every step");
      sub.add_option("--bench-runs", a->bench_runs, "Measured runs per model")
          ->check(edgeopt::cli::positive_int());
      sub.add_option("--bench-warmup", a->bench_warmup, "Warm-up runs per model")
          ->check(edgeopt::cli::non_negative_int());
      sub.add_option("--bench-rounds", a->bench_rounds,
                     "Interleaved benchmark rounds; the median is reported")
          ->check(edgeopt::cli::positive_int());
      sub.add_option("--threads", a->threads, "Threads for --bench")
          ->check(edgeopt::cli::whole(1, 1024));
      sub.add_option("--provider", a->provider,
                     "Providers for --bench, comma-separated, best first");
      sub.add_option("--keep", a->keep, "Write every step's model to this folder");
      sub.add_option("--report", a->report, "Write the JSON report here");
      sub.add_option("--table", a->table, "Write the Markdown table here");
      sub.footer(
          "Passes: " +
          [] {
            std::string s;
            for (const auto& n : PassRegistry::global().names()) s += (s.empty() ? "" : ", ") + n;
            return s;
          }() +
          "\nRecipe steps: " +
          [] {
            std::string s;
            for (const auto& n : StepRegistry::global().ops()) s += (s.empty() ? "" : ", ") + n;
            return s;
          }());
      return [a] { return run_optimize(*a); };
    });

}  // namespace
}  // namespace edgeopt::cli
