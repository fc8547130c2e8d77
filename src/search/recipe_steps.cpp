// Built-in recipe steps: graph passes, pruning (unstructured and structured), low-rank.
#include <cstdio>
#include <string>
#include <vector>

#include "edgeopt/error.h"
#include "edgeopt/lowrank.h"
#include "edgeopt/passes.h"
#include "edgeopt/prune.h"
#include "edgeopt/recipe.h"
#include "edgeopt/step_options.h"

namespace edgeopt {
namespace {

PassOptions passes_options(const nlohmann::json& o) {
  PassOptions opts;
  const int64_t level = opt_int(o, "level", 2);
  if (level < 0 || level > 2) fail_input("passes: \"level\" must be 0, 1 or 2");
  opts.level = static_cast<int>(level);
  opts.disabled = opt_strings(o, "disable");
  opts.only = opt_strings(o, "only");
  return opts;
}

std::string passes_step(Model& m, const nlohmann::json& o, StepContext&) {
  const PassReport r = optimize(m, passes_options(o));
  return "nodes " + std::to_string(r.nodes_before) + " -> " + std::to_string(r.nodes_after);
}

const StepRegistrar passes_reg({"passes",
                                "graph passes (BN folding, fusion, constant folding)",
                                {"level", "disable", "only"},
                                passes_step,
                                [](const nlohmann::json& o, StepContext&) { passes_options(o); }});

StructuredPruneOptions structured_options(const nlohmann::json& o) {
  StructuredPruneOptions opts;
  opts.ratio = opt_double(o, "ratio", 0.3);
  if (!(opts.ratio >= 0 && opts.ratio < 1)) fail_input("prune: \"ratio\" must be in [0, 1)");
  opts.criterion = parse_channel_criterion(opt_string(o, "criterion", "l1"));
  opts.exclude = opt_strings(o, "exclude");
  const int64_t round_to = opt_int(o, "round_to", 8);
  if (round_to < 1 || round_to > 1024) fail_input("prune: \"round_to\" must be 1 to 1024");
  opts.round_to = static_cast<int>(round_to);
  return opts;
}

PruneOptions unstructured_options(const nlohmann::json& o) {
  PruneOptions opts;
  opts.sparsity = opt_double(o, "sparsity", 0.5);
  if (!(opts.sparsity >= 0 && opts.sparsity < 1))
    fail_input("prune: \"sparsity\" must be in [0, 1)");
  opts.scope = parse_prune_scope(opt_string(o, "scope", "layer"));
  opts.pattern = parse_prune_pattern(opt_string(o, "pattern", "unstructured"));
  opts.exclude = opt_strings(o, "exclude");
  return opts;
}

std::string prune_step(Model& m, const nlohmann::json& o, StepContext&) {
  char buf[160];
  if (opt_bool(o, "structured", false)) {
    const StructuredPruneReport r = prune_structured(m, structured_options(o));
    int64_t channels = 0, kept = 0;
    for (const ChannelGroup& g : r.groups) {
      channels += g.channels;
      kept += g.kept;
    }
    std::snprintf(buf, sizeof buf, "structured: %lld of %lld channels kept in %zu groups",
                  static_cast<long long>(kept), static_cast<long long>(channels), r.groups.size());
    return buf;
  }
  const PruneReport r = prune_unstructured(m, unstructured_options(o));
  std::snprintf(buf, sizeof buf, "unstructured: %.1f%% of %lld weights zero",
                r.numel ? 100.0 * double(r.zeros) / double(r.numel) : 0.0,
                static_cast<long long>(r.numel));
  return buf;
}

const StepRegistrar prune_reg(
    {"prune",
     "magnitude pruning: unstructured (sparsity) or structured channel removal (ratio)",
     {"structured", "ratio", "criterion", "round_to", "sparsity", "scope", "pattern", "exclude"},
     prune_step,
     [](const nlohmann::json& o, StepContext&) {
       if (opt_bool(o, "structured", false))
         structured_options(o);
       else
         unstructured_options(o);
     }});

LowRankOptions lowrank_options(const nlohmann::json& o) {
  LowRankOptions opts;
  opts.energy = opt_double(o, "energy", 0);
  opts.rank_ratio = opt_double(o, "rank_ratio", 0);
  if ((opts.energy > 0) == (opts.rank_ratio > 0))
    fail_input("lowrank: give exactly one of \"energy\" and \"rank_ratio\"");
  if (opts.energy > 1 || opts.rank_ratio > 1)
    fail_input("lowrank: \"energy\" and \"rank_ratio\" must be in (0, 1]");
  opts.exclude = opt_strings(o, "exclude");
  return opts;
}

std::string lowrank_step(Model& m, const nlohmann::json& o, StepContext&) {
  const LowRankReport r = factorize_lowrank(m, lowrank_options(o));
  int applied = 0;
  for (const LowRankLayer& l : r.layers) applied += l.applied;
  return std::to_string(applied) + " of " + std::to_string(r.layers.size()) + " layers factorized";
}

const StepRegistrar lowrank_reg({"lowrank",
                                 "SVD factorization of Gemm/MatMul/Conv weights",
                                 {"energy", "rank_ratio", "exclude"},
                                 lowrank_step,
                                 [](const nlohmann::json& o, StepContext&) {
                                   lowrank_options(o);
                                 }});

}  // namespace
}  // namespace edgeopt
