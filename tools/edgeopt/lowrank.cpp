// edgeopt lowrank MODEL -o OUT (--energy E | --rank-ratio R) [--exclude
// NODE...] [--json]
#include "edgeopt/lowrank.h"

#include <iostream>
#include <memory>

#include "cli_checks.h"
#include "command.h"
#include "edgeopt/error.h"
#include "edgeopt/fileio.h"
#include "edgeopt/inspect.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/report_json.h"
#include "format.h"

namespace edgeopt::cli {
namespace {

struct LowRankArgs {
  std::string model, out;
  double energy = 0, rank_ratio = 0;
  std::vector<std::string> exclude;
  bool json = false;
};

int run_lowrank(const LowRankArgs &a) {
  refuse_same_file(a.model, a.out);
  Model model = load_model(a.model);
  const ModelStats before = inspect_model(model, 1, a.model);
  LowRankOptions o;
  o.energy = a.energy;
  o.rank_ratio = a.rank_ratio;
  o.exclude = a.exclude;
  const LowRankReport r = factorize_lowrank(model, o);
  save_model(model, a.out, {}, a.model);
  const ModelStats after = inspect_model(load_model(a.out), 1, a.out);
  if (a.json) {
    std::cout << lowrank_json(a.model, a.out, r, before, after).dump(2) << "\n";
    return 0;
  }
  std::printf("%-32s %-6s %12s %11s %12s %12s %9s  %s\n", "node", "op", "matrix", "rank",
              "MACs/row", "after", "rel.err", "note");
  for (const LowRankLayer &l : r.layers) {
    const std::string shown = l.node.size() > 31 ? l.node.substr(0, 28) + "..." : l.node;
    const std::string matrix = std::to_string(l.rows) + "x" + std::to_string(l.cols);
    const std::string rank = std::to_string(l.rank) + "/" + std::to_string(l.full_rank);
    std::printf("%-32s %-6s %12s %11s %12lld %12lld %9.4f  %s\n", shown.c_str(), l.op_type.c_str(),
                l.rows ? matrix.c_str() : "-", l.rows ? rank.c_str() : "-",
                static_cast<long long>(l.macs_before), static_cast<long long>(l.macs_after),
                l.rel_error, l.applied ? "factorized" : l.skipped.c_str());
  }
  std::printf("\nMACs %lld -> %lld (%.3f), parameters %lld -> %lld\nwrote %s\n",
              static_cast<long long>(before.macs), static_cast<long long>(after.macs),
              before.macs ? static_cast<double>(after.macs) / before.macs : 0.0,
              static_cast<long long>(before.params), static_cast<long long>(after.params),
              a.out.c_str());
  return 0;
}

CommandRegistrar reg(
    80, "lowrank", "Factorize Gemm/MatMul/Conv weights by truncated SVD", [](CLI::App &sub) {
      auto a = std::make_shared<LowRankArgs>();
      sub.add_option("model", a->model, "ONNX model")->required();
      sub.add_option("-o,--output", a->out, "Factorized model to write")->required();
      auto e = sub.add_option("--energy", a->energy, "Keep this fraction of sum(sigma^2)")
                   ->check(edgeopt::cli::real(1e-9, 1.0));
      auto r = sub.add_option("--rank-ratio", a->rank_ratio, "Keep this fraction of the full rank")
                   ->check(edgeopt::cli::real(1e-9, 1.0));
      e->excludes(r);
      sub.add_option("--exclude", a->exclude, "Node names to leave untouched")->expected(1, -1);
      sub.add_flag("--json", a->json, "Print one JSON object");
      return [a] { return run_lowrank(*a); };
    });

}  // namespace
}  // namespace edgeopt::cli
