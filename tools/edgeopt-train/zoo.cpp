// edgeopt zoo ARCH -o OUT [--classes N] [--input 1x1x28x28] [--width W] [--seed S]
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_checks.h"
#include "edgeopt/error.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/train.h"
#include "train_commands.h"

namespace edgeopt::cli {
namespace {

struct ZooArgs {
  std::string arch, out, input = "1x1x28x28";
  train::ZooOptions opt;
  bool json = false;
};

Shape parse_shape(const std::string& s) {
  Shape shape;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, 'x')) {
    try {
      size_t used = 0;
      shape.push_back(std::stoll(item, &used));
      if (used != item.size() || shape.back() <= 0) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      fail_input("zoo: --input '", s, "' is not a shape like 1x3x32x32");
    }
  }
  return shape;
}

int run_zoo(ZooArgs& a) {
  a.opt.input = parse_shape(a.input);
  Model m = train::build_zoo_model(a.arch, a.opt);
  save_model(m, a.out);
  int64_t params = 0;
  for (const NamedTensor& t : m.graph.initializers) params += t.tensor.numel();
  if (a.json) {
    const nlohmann::json j = {{"command", "zoo"},         {"arch", a.arch},
                              {"output", a.out},          {"input", a.opt.input},
                              {"classes", a.opt.classes}, {"nodes", m.graph.nodes.size()},
                              {"parameters", params}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s: %zu nodes, %lld parameters -> %s\n", a.arch.c_str(), m.graph.nodes.size(),
              static_cast<long long>(params), a.out.c_str());
  return 0;
}

const CommandRegistrar reg = register_train_command("zoo", [](CLI::App& sub) {
  auto a = std::make_shared<ZooArgs>();
  sub.add_option("arch", a->arch,
                 "lenet5 | mlp | resnet8 | resnet18 | mobilenet_v2 | "
                 "squeezenet")
      ->required();
  sub.add_option("-o,--output", a->out, "ONNX file to write")->required();
  sub.add_option("--classes", a->opt.classes, "Classes")->check(edgeopt::cli::positive_int());
  sub.add_option("--input", a->input, "Input shape NxCxHxW");
  sub.add_option("--width", a->opt.width, "Channel width multiplier")
      ->check(edgeopt::cli::positive_real());
  sub.add_option("--seed", a->opt.seed, "Initialisation seed");
  sub.add_flag("--json", a->json, "Print one JSON object (architecture, parameters, output)");
  return [a] { return run_zoo(*a); };
});

}  // namespace
}  // namespace edgeopt::cli
