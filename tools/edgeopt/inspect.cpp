// edgeopt inspect MODEL [--json] [--batch N] [--shape NAME:DIMS]... [--all]
//                 [--providers [--provider LIST]]
//
// --providers: per node, the provider a session would run it on (the session `run` and `bench`
// build, read back with Session::assignment()) and whether static int8 quantization would turn
// it to int8 (static_quantization_plan); one summary line per provider.
#include "edgeopt/inspect.h"

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli_checks.h"
#include "command.h"
#include "edgeopt/error.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/quantize.h"
#include "edgeopt/report_json.h"
#include "edgeopt/session.h"
#include "format.h"
#include "session_options.h"
#include "shape_option.h"

namespace edgeopt::cli {
namespace {

std::string shapes_str(const std::vector<Shape>& shapes, const std::vector<bool>& known) {
  std::string s;
  for (size_t i = 0; i < shapes.size(); ++i)
    s += (i ? "," : "") + (known[i] ? shape_str(shapes[i]) : std::string("?"));
  return s;
}

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "'" : ", '") + n + "'";
  return s;
}

struct NodePlacement {
  std::string provider;
  std::string fused_into;  // the session node that runs it when a provider fused it away
};

// Provider of every node of `model`. A provider's graph rewrite may fuse a node into the node
// producing its input (Relu or a residual Add into a Conv); such a node runs where that
// producer runs. Nodes with no assigned producer were folded away (constants).
std::vector<NodePlacement> place_nodes(const Model& model, const std::string& providers) {
  SessionOptions so;
  so.providers = split_provider_list(providers);
  const Session session(model, so);
  std::map<std::string, std::string> assigned;
  for (const auto& [node, provider] : session.assignment()) assigned[node] = provider;
  const Graph& g = model.graph;
  std::vector<NodePlacement> out(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    auto it = assigned.find(n.name);
    if (it != assigned.end()) {
      out[i].provider = it->second;
      continue;
    }
    // Nodes are in topological order: a producer is placed before its readers.
    for (const std::string& in : n.inputs) {
      const int p = in.empty() ? -1 : g.producer(in);
      if (p < 0 || out[p].provider.empty()) continue;
      out[i].provider = out[p].provider;
      out[i].fused_into = out[p].fused_into.empty() ? g.nodes[p].name : out[p].fused_into;
      break;
    }
    if (out[i].provider.empty()) out[i].provider = "folded";
  }
  return out;
}

int run_providers(const std::string& path, bool json, int64_t batch, const std::string& providers,
                  bool all_nodes, const std::vector<std::string>& shapes) {
  Model model = with_shapes(load_model(path), shapes);
  // Nodes are matched with the session's by name: name the unnamed ones.
  for (size_t i = 0; i < model.graph.nodes.size(); ++i)
    if (model.graph.nodes[i].name.empty())
      model.graph.set_node_name(static_cast<int>(i),
                                model.graph.unique_name(model.graph.nodes[i].op_type));
  const ModelStats s = inspect_model(model, batch);
  const std::vector<NodePlacement> placed = place_nodes(model, providers);
  const std::vector<QuantPlanEntry> plan = static_quantization_plan(model, QuantizeOptions());
  struct Total {
    int64_t nodes = 0, macs = 0;
  };
  std::map<std::string, Total> totals;
  int64_t int8_nodes = 0, int8_macs = 0;
  for (size_t i = 0; i < placed.size(); ++i) {
    Total& t = totals[placed[i].provider];
    ++t.nodes;
    t.macs += s.nodes[i].macs;
    if (plan[i].int8) ++int8_nodes, int8_macs += s.nodes[i].macs;
  }
  auto share = [&](int64_t macs) { return s.macs ? double(macs) / double(s.macs) : 0.0; };
  if (json) {
    nlohmann::json j;
    j["model"] = path;
    j["macs"] = s.macs;
    nlohmann::json nodes = nlohmann::json::array();
    for (size_t i = 0; i < placed.size(); ++i) {
      nlohmann::json n = {{"name", plan[i].node},           {"op", plan[i].op_type},
                          {"provider", placed[i].provider}, {"macs", s.nodes[i].macs},
                          {"int8", plan[i].int8},           {"quantize", plan[i].reason}};
      if (!placed[i].fused_into.empty()) n["fused_into"] = placed[i].fused_into;
      nodes.push_back(n);
    }
    j["nodes"] = nodes;
    nlohmann::json by = nlohmann::json::object();
    for (const auto& [p, t] : totals)
      by[p] = {{"nodes", t.nodes}, {"macs", t.macs}, {"mac_share", share(t.macs)}};
    j["providers"] = by;
    j["int8"] = {{"nodes", int8_nodes}, {"macs", int8_macs}, {"mac_share", share(int8_macs)}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("%-32s %-20s %-10s %-6s %s\n", "node", "op", "provider", "int8", "quantize");
  const size_t limit = all_nodes ? placed.size() : std::min<size_t>(placed.size(), 40);
  for (size_t i = 0; i < limit; ++i) {
    const std::string& name = plan[i].node;
    std::string provider = placed[i].provider;
    if (!placed[i].fused_into.empty()) provider += " (fused into " + placed[i].fused_into + ")";
    std::printf("%-32s %-20s %-10s %-6s %s\n",
                (name.size() > 31 ? name.substr(0, 28) + "..." : name).c_str(),
                plan[i].op_type.c_str(), provider.c_str(), plan[i].int8 ? "yes" : "no",
                plan[i].reason.c_str());
  }
  if (limit < placed.size())
    std::printf("... %zu more nodes (--all to list them)\n", placed.size() - limit);
  std::printf("\n");
  for (const auto& [p, t] : totals)
    std::printf("provider %-10s %5lld nodes, %6.2f%% of MACs\n", p.c_str(),
                static_cast<long long>(t.nodes), 100 * share(t.macs));
  std::printf("int8 (static)     %5lld nodes, %6.2f%% of MACs\n",
              static_cast<long long>(int8_nodes), 100 * share(int8_macs));
  return 0;
}

int run_inspect(const std::string& path, bool json, int64_t batch, bool all_nodes,
                const std::vector<std::string>& shapes) {
  const Model model = with_shapes(load_model(path), shapes);
  const ModelStats s = inspect_model(model, batch, path);
  // The session `bench` builds by default (its providers, 1 thread): the same arena.
  const ArenaPlan arena = plan_arena(model, s.batch, session_options("", 1));
  if (json) {
    std::cout << inspect_json(path, model, s, &arena).dump(2) << "\n";
    return 0;
  }
  std::printf("%-32s %-20s %-28s %10s %12s %10s\n", "node", "op", "output shape", "params", "MACs",
              "live");
  const size_t limit = all_nodes ? s.nodes.size() : std::min<size_t>(s.nodes.size(), 40);
  for (size_t i = 0; i < limit; ++i) {
    const NodeStats& n = s.nodes[i];
    std::string name = n.name.size() > 31 ? n.name.substr(0, 28) + "..." : n.name;
    std::printf("%-32s %-20s %-28s %10lld %12s %10s\n", name.c_str(), n.op_type.c_str(),
                shapes_str(n.output_shapes, n.output_known).c_str(),
                static_cast<long long>(n.params), human_count(static_cast<double>(n.macs)).c_str(),
                human_bytes(static_cast<double>(n.live_bytes)).c_str());
  }
  if (limit < s.nodes.size())
    std::printf("... %zu more nodes (--all to list them)\n", s.nodes.size() - limit);
  std::printf("\nmodel            %s (opset %lld, %zu nodes, batch %lld)\n", path.c_str(),
              static_cast<long long>(model.opset("")), s.nodes.size(),
              static_cast<long long>(s.batch));
  if (!s.symbolic_batch.empty())
    std::printf(
        "batch            %lld for the symbolic dim 0 of %s (--batch or --shape to change)\n",
        static_cast<long long>(s.batch), join(s.symbolic_batch).c_str());
  std::printf("parameters       %lld (%s)\n", static_cast<long long>(s.params),
              human_count(static_cast<double>(s.params)).c_str());
  std::printf("MACs             %lld (%.4f G)\n", static_cast<long long>(s.macs),
              static_cast<double>(s.macs) / 1e9);
  std::printf("file size        %s (%lld B), deflated %s\n",
              human_bytes(static_cast<double>(s.file_bytes)).c_str(),
              static_cast<long long>(s.file_bytes),
              human_bytes(static_cast<double>(s.compressed_bytes)).c_str());
  std::string by_dtype;
  for (const auto& [k, v] : s.weight_bytes_by_dtype)
    by_dtype += (by_dtype.empty() ? "" : ", ") + k + " " + human_bytes(static_cast<double>(v));
  std::printf("weights          %s (%s)\n",
              human_bytes(static_cast<double>(s.weight_bytes)).c_str(), by_dtype.c_str());
  std::printf("sparsity         %.2f%% zero weights\n", 100 * s.sparsity);
  std::printf("quantized share  %.2f%% of MACs\n", 100 * s.quantized_share);
  std::printf(
      "peak activations %s (at %s; every value alive from its producer to its last "
      "reader, in graph order)\n",
      human_bytes(static_cast<double>(s.peak_activation_bytes)).c_str(), s.peak_at.c_str());
  if (arena.bytes > 0)
    std::printf(
        "arena            %s (%lld B; the runtime's memory plan on %s, 1 thread: what "
        "bench reports)\n",
        human_bytes(static_cast<double>(arena.bytes)).c_str(), static_cast<long long>(arena.bytes),
        arena.providers.c_str());
  else if (arena.bytes == 0)
    std::printf("arena            planned while running (shapes depend on the data)\n");
  else
    std::printf("arena            not planned: %s\n", arena.why.c_str());
  std::string ops;
  for (const auto& [k, v] : s.ops) ops += (ops.empty() ? "" : ", ") + k + " " + std::to_string(v);
  std::printf("ops              %s\n", ops.c_str());
  return 0;
}

CommandRegistrar reg(10, "inspect", "Parameters, MACs, sizes and peak activation memory of a model",
                     [](CLI::App& sub) {
                       auto path = std::make_shared<std::string>();
                       auto json = std::make_shared<bool>(false);
                       auto all = std::make_shared<bool>(false);
                       auto batch = std::make_shared<int64_t>(1);
                       auto shapes = std::make_shared<std::vector<std::string>>();
                       sub.add_option("model", *path, "ONNX model")->required();
                       sub.add_flag("--json", *json, "Print one JSON object");
                       sub.add_option("--batch", *batch, "Batch size for shapes and memory")
                           ->check(edgeopt::cli::positive_int());
                       add_shape_option(sub, *shapes);
                       sub.add_flag("--all", *all, "List every node (text output)");
                       auto providers = std::make_shared<bool>(false);
                       auto provider = std::make_shared<std::string>();
                       sub.add_flag("--providers", *providers,
                                    "Per node: the provider a session runs it on and whether "
                                    "static int8 quantization turns it to int8");
                       sub.add_option("--provider", *provider,
                                      "With --providers: provider list as for run "
                                      "(default: this platform's)");
                       return [=] {
                         if (!*providers && !provider->empty())
                           fail_input("--provider needs --providers");
                         return *providers
                                    ? run_providers(*path, *json, *batch, *provider, *all, *shapes)
                                    : run_inspect(*path, *json, *batch, *all, *shapes);
                       };
                     });

}  // namespace
}  // namespace edgeopt::cli
