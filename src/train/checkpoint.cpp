// Training checkpoints (checkpoint.h).
#include "train/checkpoint.h"

#include <filesystem>

#include "edgeopt/error.h"
#include "edgeopt/onnx_io.h"

namespace edgeopt::train {

void save_checkpoint(const std::string& path, const Model& model, const TorchGraph& graph,
                     const Optimizer& opt, int epochs_done) {
  Model snapshot = model;
  graph.write_back(snapshot);
  save_model(snapshot, path);
  torch::serialize::OutputArchive ar;
  ar.write("epoch", torch::tensor(static_cast<int64_t>(epochs_done), torch::kLong));
  opt.save(ar);
  const std::string state = path + ".state";
  ar.save_to(state + ".tmp");
  std::filesystem::rename(state + ".tmp", state);
}

int load_checkpoint_state(const std::string& path, Optimizer& opt) {
  const std::string state = path + ".state";
  if (!std::filesystem::exists(state))
    fail_input("training: no optimizer state '", state, "' beside the checkpoint");
  torch::serialize::InputArchive ar;
  ar.load_from(state);
  torch::Tensor e;
  ar.read("epoch", e);
  const int epochs_done = static_cast<int>(e.item<int64_t>());
  opt.load(ar);
  return epochs_done;
}

}  // namespace edgeopt::train
