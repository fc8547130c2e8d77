// edgeopt fit-worker tcp://HOST:PORT [--join-timeout S] [--threads N]
// Runs the builds and evaluations of a search started with `edgeopt fit ... --workers
// tcp://HOST:PORT` (src/train/fit_workers.cpp) until that search ends. The worker needs the
// search's datasets under the same SPECs as the coordinator (the models come through the store).
#include <cstdio>
#include <memory>

#include "cli_checks.h"
#include "edgeopt/fit_workers.h"
#include "train_commands.h"

namespace edgeopt::cli {
namespace {

struct WorkerArgs {
  std::string address;
  int join_timeout = 60;
};

const CommandRegistrar reg = register_train_command("fit-worker", [](CLI::App& sub) {
  auto a = std::make_shared<WorkerArgs>();
  sub.add_option("address", a->address, "The coordinator's tcp://HOST:PORT (fit --workers)")
      ->required();
  sub.add_option("--join-timeout", a->join_timeout,
                 "Seconds to wait for the coordinator's store to answer")
      ->check(whole(1, 86400));
  return [a] {
    return train::run_fit_worker(a->address, a->join_timeout, [](const std::string& line) {
      std::fprintf(stderr, "%s\n", line.c_str());
      std::fflush(stderr);
    });
  };
});

}  // namespace
}  // namespace edgeopt::cli
