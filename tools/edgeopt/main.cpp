// edgeopt: make trained networks fit constrained devices, and run them.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <vector>

#include "binaries.h"
#include "cli_checks.h"
#include "command.h"
#include "edgeopt/error.h"
#include "edgeopt/tensor.h"
#include "format.h"

namespace edgeopt::cli {
namespace {
struct Entry {
  int order;
  const char* name;
  const char* help;
  CommandSetup setup;
};
std::vector<Entry>& entries() {
  static std::vector<Entry> e;
  return e;
}
}  // namespace

CommandRegistrar::CommandRegistrar(int order, const char* name, const char* help,
                                   CommandSetup setup) {
  entries().push_back({order, name, help, std::move(setup)});
}

}  // namespace edgeopt::cli

namespace {

// The oneDNN provider runs its parallel regions on GNU OpenMP (Debian's libdnnl), whose idle
// threads spin by default (GOMP_SPINCOUNT 300000, ~3 ms by libgomp's own estimate). On a busy
// machine the spinning threads take the cores the working ones need: mobilenet_v2 at --threads 2
// measured 120-150 ms per run spinning that long. Sleeping at once (OMP_WAIT_POLICY=PASSIVE,
// spin count 0) costs a futex wake-up per parallel region instead, one per node: 7.5 ms
// against 4.1 ms for mobilenet_v2 and 0.94 against 0.14 ms for the Fashion-MNIST resnet8 on an
// idle machine. So the CLI asks for a short spin (3000, ~30 us) that bridges the gap between two
// nodes of one run and then sleeps, so nothing spins after a run ends; PASSIVE also keeps
// libgomp from spinning at all when it has more threads than CPUs.
// libgomp reads the variables when it is loaded, before main(), so the CLI sets them and
// re-executes itself once; a value the user set is kept.
void use_passive_openmp(char** argv) {
  bool set_policy = !std::getenv("OMP_WAIT_POLICY");
  bool set_spin = !std::getenv("GOMP_SPINCOUNT");
  if (!set_policy && !set_spin) return;
  if (set_policy && setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  if (set_spin && setenv("GOMP_SPINCOUNT", "3000", 1) != 0) return;
  execv("/proc/self/exe", argv);  // returns only on failure: carry on with the default policy
}

}  // namespace

int main(int argc, char** argv) {
  edgeopt::cli::set_argv(argv);
  use_passive_openmp(argv);
  using namespace edgeopt::cli;
  CLI::App app{
      "edgeopt: inspect, optimize, validate, benchmark and run ONNX models on small devices"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "edgeopt 0.1.0");
  auto& list = entries();
  std::sort(list.begin(), list.end(),
            [](const Entry& a, const Entry& b) { return a.order < b.order; });
  std::vector<std::pair<CLI::App*, std::function<int()>>> runners;
  std::string max_memory;
  for (Entry& e : list) {
    CLI::App* sub = app.add_subcommand(e.name, e.help);
    runners.emplace_back(sub, e.setup(*sub));
    sub->add_option("--max-memory", max_memory,
                    "Memory budget for tensors, e.g. 512M or 2G (default: the memory available)")
        ->check(byte_size());
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end parsing with a "successful" ParseError; usage mistakes are
    // bad input like any other: one line and exit 2.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::cerr << "edgeopt: error: " << one_line(e.what()) << " (see --help)\n";
    return 2;
  }
  if (!max_memory.empty()) edgeopt::set_memory_budget(parse_bytes(max_memory));
  try {
    for (auto& [sub, run] : runners)
      if (sub->parsed()) return run();
  } catch (const edgeopt::Error& e) {
    std::cerr << "edgeopt: error: " << one_line(e.what()) << "\n";
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    std::cerr << "edgeopt: error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "edgeopt: internal error: " << one_line(e.what()) << "\n";
    return 1;
  }
  return 1;
}
