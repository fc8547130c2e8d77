// The training commands in the lean `edgeopt`: each hands its whole command line to
// `edgeopt-train` (see binaries.h). Registered only when that program is installed next to this
// one, so `edgeopt --help` lists exactly what works.
#include <memory>

#include "binaries.h"
#include "command.h"
#include "edgeopt/error.h"

namespace edgeopt::cli {
namespace {

#ifndef EDGEOPT_TRAIN_BINARY
struct TrainCommand {
  int order;
  const char* name;
  const char* help;
};

// Names, order and help as edgeopt-train registers them (src/train/commands/).
constexpr TrainCommand kCommands[] = {
    {100, "zoo", "Build a freshly initialised model (lenet5, mlp, resnet8, ...)"},
    {110, "train", "Train a model's weights on a dataset (libtorch)"},
    {120, "finetune", "Fine-tune a pruned model: zero weights stay zero, the structure is kept"},
    {130, "iterative-prune", "Gradual pruning: prune and fine-tune in K steps (cubic schedule)"},
    {140, "distill", "Train a student model from a teacher's logits (libtorch)"},
    {150, "qat", "Quantization-aware training, exported as a QDQ int8 model"},
};

struct Registrations {
  Registrations() {
    if (!train_binary()) return;
    for (const TrainCommand& c : kCommands) {
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
