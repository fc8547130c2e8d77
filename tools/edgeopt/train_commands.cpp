// The training commands in the lean `edgeopt`: each hands its whole command line to
// `edgeopt-train` (see binaries.h). Registered only when that program is installed next to this
// one, so `edgeopt --help` lists exactly what works.
#include "train_commands.h"

#include <memory>

#include "binaries.h"
#include "command.h"
#include "edgeopt/error.h"

namespace edgeopt::cli {
namespace {

#ifndef EDGEOPT_TRAIN_BINARY
struct Registrations {
  Registrations() {
    if (!train_binary()) return;
    for (const TrainCommand& c : kTrainCommands) {
      static std::vector<std::unique_ptr<CommandRegistrar>> keep;
      keep.push_back(std::make_unique<CommandRegistrar>(
          c.order, c.name, c.help, [](CLI::App& sub) -> std::function<int()> {
            // Everything after the command name is edgeopt-train's to parse, --help included.
            sub.prefix_command();
            sub.set_help_flag();
            return []() -> int {
              exec_with_saved_argv(*train_binary());
              fail(ErrorKind::kInternal, "cannot start edgeopt-train");
            };
          }));
    }
  }
} registrations;
#endif

}  // namespace
}  // namespace edgeopt::cli
