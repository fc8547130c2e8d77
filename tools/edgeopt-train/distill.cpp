// edgeopt distill --teacher T.onnx --student S.onnx -o OUT --data SPEC [--alpha A]
//                 [--temperature T] [training options]
// loss = α·CE(y, s) + (1 − α)·T²·KL(softmax(t/T) ‖ softmax(s/T)); the teacher runs in edgeopt's
// runtime batch by batch.
#include <memory>

#include "cli_checks.h"
#include "edgeopt/error.h"
#include "train_args.h"
#include "train_commands.h"

namespace edgeopt::cli {
namespace {

const CommandRegistrar reg = register_train_command("distill", [](CLI::App& sub) {
  auto a = std::make_shared<TrainArgs>();
  add_train_options(sub, *a, 10, 0.05);
  // The student is the positional MODEL; --student names it explicitly.
  sub.get_option("model")->required(false);
  sub.add_option("--student", a->model, "Student ONNX model");
  sub.add_option("--teacher", a->opt.teacher, "Teacher ONNX model")->required();
  sub.add_option("--teacher-provider", a->opt.teacher_providers,
                 "Providers running the teacher (default: all, best first)")
      ->delimiter(',');
  sub.add_option("--alpha", a->opt.alpha, "Weight of the label loss")
      ->check(edgeopt::cli::real(0.0, 1.0));
  sub.add_option("--temperature", a->opt.temperature, "Softmax temperature")
      ->check(edgeopt::cli::positive_real());
  return [a] {
    if (a->model.empty()) fail_input("distill: give the student model (--student S.onnx)");
    return run_training("distill", *a);
  };
});

}  // namespace
}  // namespace edgeopt::cli
