// edgeopt prune MODEL -o OUT --sparsity S [--scope layer|global] [--pattern
// unstructured|2:4]
//                    [--exclude NODE...] [--json]
// edgeopt prune MODEL -o OUT --structured --ratio R [--criterion
// l1|l2|bn-scale]
//                    [--exclude NODE...] [--json]
#include "edgeopt/prune.h"

#include <iostream>
#include <memory>

#include "cli_checks.h"
#include "command.h"
#include "edgeopt/error.h"
#include "edgeopt/fileio.h"
#include "edgeopt/inspect.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/passes.h"
#include "edgeopt/report_json.h"
#include "format.h"
#include "shape_option.h"

namespace edgeopt::cli {
namespace {

struct PruneArgs {
  std::string model, out;
  double sparsity = -1, ratio = -1;
  std::string scope = "layer", pattern = "unstructured", criterion = "l1";
  std::vector<std::string> exclude, shapes;
  bool structured = false, json = false;
};

void print_sizes(const ModelStats &a, const ModelStats &b) {
  auto ratio = [](int64_t x, int64_t y) { return y ? static_cast<double>(x) / y : 0.0; };
  std::printf("\n%-18s %14s %14s %8s\n", "", "before", "after", "ratio");
  std::printf("%-18s %14lld %14lld %8.3f\n", "parameters", static_cast<long long>(a.params),
              static_cast<long long>(b.params), ratio(b.params, a.params));
  std::printf("%-18s %14lld %14lld %8.3f\n", "MACs", static_cast<long long>(a.macs),
              static_cast<long long>(b.macs), ratio(b.macs, a.macs));
  std::printf("%-18s %14s %14s %8.3f\n", "file", human_bytes(a.file_bytes).c_str(),
              human_bytes(b.file_bytes).c_str(), ratio(b.file_bytes, a.file_bytes));
  std::printf("%-18s %14s %14s %8.3f\n", "file deflated", human_bytes(a.compressed_bytes).c_str(),
              human_bytes(b.compressed_bytes).c_str(),
              ratio(b.compressed_bytes, a.compressed_bytes));
  std::printf("%-18s %13.2f%% %13.2f%%\n", "zero weights", 100 * a.sparsity, 100 * b.sparsity);
}

int run_prune(const PruneArgs &a) {
  refuse_same_file(a.model, a.out);
  Model model = with_shapes(load_model(a.model), a.shapes);
  // inspect counts the MACs of the nodes whose shapes it knows; the structured
  // pruner folds shape arithmetic first (ShuffleNetV2's chunk Slices read their
  // bounds from Shape), so the baseline gets the same folding.
  Model folded = model;
  if (a.structured) {
    PassOptions po;
    po.only = {"constant_folding", "shape_folding"};
    optimize(folded, po);
  }
  const ModelStats before = inspect_model(folded, 1, a.model);
  StructuredPruneReport structured;
  PruneReport unstructured;
  if (a.structured) {
    if (a.ratio < 0) fail_input("--structured needs --ratio");
    StructuredPruneOptions o;
    o.ratio = a.ratio;
    o.exclude = a.exclude;
    o.criterion = parse_channel_criterion(a.criterion);
    structured = prune_structured(model, o);
    const StructuredPruneReport &r = structured;
    save_model(model, a.out, {}, a.model);
    if (!a.json)
      std::printf("%-40s %8s %8s  %s\n", "group (producers)", "channels", "kept", "note");
    for (const ChannelGroup &g : r.groups) {
      std::string names;
      for (const std::string &p : g.producers) names += (names.empty() ? "" : ",") + p;
      // One line per group left whole, on stderr whatever the output format.
      if (!g.blocked.empty())
        std::fprintf(stderr, "prune: kept all %lld channels of %s: %s\n",
                     static_cast<long long>(g.channels), names.c_str(), g.blocked.c_str());
      if (!a.json) {
        const std::string shown = names.size() > 39 ? names.substr(0, 36) + "..." : names;
        std::printf("%-40s %8lld %8lld  %s\n", shown.c_str(), static_cast<long long>(g.channels),
                    static_cast<long long>(g.kept), g.blocked.c_str());
      }
    }
  } else {
    if (a.sparsity < 0 && a.pattern != "2:4") fail_input("give --sparsity (or --structured)");
    PruneOptions o;
    o.sparsity = a.pattern == "2:4" ? 0.5 : a.sparsity;
    o.scope = parse_prune_scope(a.scope);
    o.pattern = parse_prune_pattern(a.pattern);
    o.exclude = a.exclude;
    unstructured = prune_unstructured(model, o);
    const PruneReport &r = unstructured;
    save_model(model, a.out, {}, a.model);
    if (!a.json)
      std::printf("%-36s %-8s %-18s %10s %9s  %s\n", "node", "op", "weight shape", "weights",
                  "sparsity", "note");
    for (const LayerSparsity &l : r.layers) {
      const double sp = l.numel ? static_cast<double>(l.zeros) / l.numel : 0.0;
      if (!a.json) {
        const std::string shown = l.node.size() > 35 ? l.node.substr(0, 32) + "..." : l.node;
        std::printf("%-36s %-8s %-18s %10lld %8.2f%%  %s\n", shown.c_str(), l.op_type.c_str(),
                    l.numel ? shape_str(l.shape).c_str() : "-", static_cast<long long>(l.numel),
                    100 * sp, l.skipped.c_str());
      }
    }
  }
  const ModelStats after = inspect_model(load_model(a.out), 1, a.out);
  if (a.json)
    std::cout << (a.structured
                      ? structured_prune_json(a.model, a.out, structured, before, after)
                      : unstructured_prune_json(a.model, a.out, unstructured, before, after))
                     .dump(2)
              << "\n";
  else {
    print_sizes(before, after);
    std::printf("wrote %s\n", a.out.c_str());
  }
  return 0;
}

CommandRegistrar reg(
    70, "prune",
    "Prune weights by magnitude (unstructured, 2:4) or whole channels "
    "(--structured)",
    [](CLI::App &sub) {
      auto a = std::make_shared<PruneArgs>();
      sub.add_option("model", a->model, "ONNX model")->required();
      sub.add_option("-o,--output", a->out, "Pruned model to write")->required();
      add_shape_option(sub, a->shapes);
      sub.add_option("--sparsity", a->sparsity, "Fraction of weights to zero (unstructured)")
          ->check(edgeopt::cli::real(0.0, 0.999999));
      sub.add_option("--scope", a->scope, "layer: same fraction per tensor; global: one threshold")
          ->check(CLI::IsMember({"layer", "global"}));
      sub.add_option("--pattern", a->pattern, "unstructured or 2:4")
          ->check(CLI::IsMember({"unstructured", "2:4"}));
      sub.add_flag("--structured", a->structured, "Remove whole output channels");
      sub.add_option("--ratio", a->ratio, "Fraction of channels to remove per group (structured)")
          ->check(edgeopt::cli::real(0.0, 0.999999));
      sub.add_option("--criterion", a->criterion, "Channel score: l1, l2 or bn-scale")
          ->check(CLI::IsMember({"l1", "l2", "bn-scale"}));
      sub.add_option("--exclude", a->exclude, "Node names to leave untouched")->expected(1, -1);
      sub.add_flag("--json", a->json, "Print one JSON object");
      return [a] { return run_prune(*a); };
    });

}  // namespace
}  // namespace edgeopt::cli
