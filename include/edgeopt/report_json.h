// The JSON objects of the commands' reports: what `edgeopt COMMAND --json` prints and what the
// Python bindings return as dicts, built in one place so that both give the same figures.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "edgeopt/bench.h"
#include "edgeopt/eval.h"
#include "edgeopt/inspect.h"
#include "edgeopt/lowrank.h"
#include "edgeopt/passes.h"
#include "edgeopt/prune.h"
#include "edgeopt/quantize.h"

namespace edgeopt {

// `edgeopt inspect MODEL --json`: totals and one entry per node; `model` is the path shown;
// with `arena`, the runtime's memory plan too (arena_bytes, or null with arena_unplanned).
nlohmann::json inspect_json(const std::string& model_path, const Model& model,
                            const ModelStats& stats, const ArenaPlan* arena = nullptr);

// `edgeopt bench MODEL --json` for one model: latency statistics, memory and sizes; the
// per-node profile when `profile` is set.
nlohmann::json bench_json(const BenchResult& result, int warmup, int threads, bool profile);
// The inverse: a BenchResult from bench_json's output (e.g. a child `edgeopt bench --json`).
// Throws nlohmann::json::exception when a field is missing or mistyped.
BenchResult bench_from_json(const nlohmann::json& j);

// `edgeopt optimize MODEL -o OUT --json` (graph passes, no recipe).
nlohmann::json pass_report_json(const std::string& model_path, const std::string& out_path,
                                const PassReport& report);

// `edgeopt quantize MODEL -o OUT --json`; `bytes_in`/`bytes_out` are the two files' sizes. Reads
// the process's peak RSS.
nlohmann::json quantize_json(const std::string& model_path, const std::string& out_path,
                             const QuantizeOptions& options, const QuantizeReport& report,
                             int64_t bytes_in, int64_t bytes_out);

// `edgeopt prune MODEL -o OUT --json`: per layer (unstructured) or per channel group
// (structured), and the model's parameters, MACs, sizes and sparsity before and after.
nlohmann::json unstructured_prune_json(const std::string& model_path, const std::string& out_path,
                                       const PruneReport& report, const ModelStats& before,
                                       const ModelStats& after);
nlohmann::json structured_prune_json(const std::string& model_path, const std::string& out_path,
                                     const StructuredPruneReport& report, const ModelStats& before,
                                     const ModelStats& after);

// `edgeopt lowrank MODEL -o OUT --json`.
nlohmann::json lowrank_json(const std::string& model_path, const std::string& out_path,
                            const LowRankReport& report, const ModelStats& before,
                            const ModelStats& after);

// `edgeopt eval MODEL --data SPEC --json`; `reference_path` is shown when fidelity was measured.
nlohmann::json eval_json(const std::string& model_path, const std::string& data_spec,
                         const std::string& reference_path, const EvalResult& result);

}  // namespace edgeopt
