// edgeopt optimize MODEL -o OUT [--level N] [--disable PASS...] [--only PASS...] [--json]
// Graph optimization passes (fold BatchNormalization, fuse, fold constants, remove dead code).
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/passes.h"

namespace edgeopt::cli {
namespace {

struct OptimizeArgs {
  std::string model, out;
  int level = 2;
  std::vector<std::string> disabled, only;
  bool json = false;
};

int run_optimize(const OptimizeArgs& a) {
  Model model = load_model(a.model);
  PassOptions opts;
  opts.level = a.level;
  opts.disabled = a.disabled;
  opts.only = a.only;
  const PassReport r = optimize(model, opts);
  save_model(model, a.out, {}, a.model);
  if (a.json) {
    nlohmann::json j;
    j["model"] = a.model;
    j["output"] = a.out;
    j["rounds"] = r.rounds;
    j["converged"] = r.converged;
    j["nodes_before"] = r.nodes_before;
    j["nodes_after"] = r.nodes_after;
    j["initializers_before"] = r.initializers_before;
    j["initializers_after"] = r.initializers_after;
    nlohmann::json passes = nlohmann::json::array();
    for (const PassStats& p : r.passes)
      passes.push_back({{"name", p.name},
                        {"runs", p.runs},
                        {"changed_rounds", p.changed_rounds},
                        {"nodes_removed", p.nodes_removed},
                        {"initializers_removed", p.initializers_removed},
                        {"ms", p.ms}});
    j["passes"] = passes;
    std::cout << j.dump(2) << "\n";
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

CommandRegistrar reg(20, "optimize",
                     "Graph optimization passes: BN folding, fusion, constant folding, dead code",
                     [](CLI::App& sub) {
                       auto a = std::make_shared<OptimizeArgs>();
                       sub.add_option("model", a->model, "ONNX model")->required();
                       sub.add_option("-o,--output", a->out, "Output ONNX model")->required();
                       sub.add_option("--level", a->level,
                                      "0 none, 1 basic (redundancy), 2 extended (fusion)")
                           ->check(CLI::Range(0, 2));
                       sub.add_option("--disable", a->disabled, "Passes not to run (by name)");
                       sub.add_option("--only", a->only, "Run only these passes");
                       sub.add_flag("--json", a->json, "Print one JSON object");
                       sub.footer("Passes: " + [] {
                         std::string s;
                         for (const auto& n : PassRegistry::global().names())
                           s += (s.empty() ? "" : ", ") + n;
                         return s;
                       }());
                       return [a] { return run_optimize(*a); };
                     });

}  // namespace
}  // namespace edgeopt::cli
