// edgeopt run MODEL --input x.npy [--input name=y.npy ...] [--output y.npy] [--provider P]
//                   [--threads N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <numeric>

#include "cli_checks.h"
#include "command.h"
#include "edgeopt/data.h"
#include "edgeopt/error.h"
#include "edgeopt/fileio.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/session.h"
#include "input_files.h"
#include "session_options.h"

namespace edgeopt::cli {
namespace {

namespace fs = std::filesystem;

// Every model input, from the --input files.
std::map<std::string, Tensor> gather_inputs(const Session& s,
                                            const std::vector<std::string>& args) {
  std::vector<std::string> names;
  for (const ValueInfo& v : s.inputs()) names.push_back(v.name);
  return read_input_files(names, args, /*all_required=*/true);
}

void print_output(const std::string& name, const Tensor& t) {
  std::printf("%s: %s %s\n", name.c_str(), dtype_name(t.dtype()), shape_str(t.shape()).c_str());
  if (!t.has_data() || t.dtype() == DType::kString) return;
  const int64_t shown = std::min<int64_t>(t.numel(), 10);
  std::printf("  values:");
  for (int64_t i = 0; i < shown; ++i) std::printf(" %.6g", t.get_f64(i));
  if (shown < t.numel()) std::printf(" ... (%lld values)", static_cast<long long>(t.numel()));
  std::printf("\n");
  // Top-5 of the first row of float outputs: what a classifier predicts for sample 0.
  if (!dtype_is_float(t.dtype()) || t.rank() < 1 || t.dim(-1) < 2) return;
  const int64_t c = t.dim(-1);
  std::vector<int64_t> idx(c);
  std::iota(idx.begin(), idx.end(), 0);
  const int64_t k = std::min<int64_t>(5, c);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int64_t a, int64_t b) {
    const double va = t.get_f64(a), vb = t.get_f64(b);
    return va > vb || (va == vb && a < b);
  });
  std::printf("  top-%lld (row 0):", static_cast<long long>(k));
  for (int64_t i = 0; i < k; ++i)
    std::printf(" %lld (%.6g)", static_cast<long long>(idx[i]), t.get_f64(idx[i]));
  std::printf("\n");
}

void write_outputs(const Session& s, const std::vector<Tensor>& outs,
                   const std::vector<std::string>& args, const fs::path& model) {
  std::vector<std::string> names;
  for (const ValueInfo& v : s.outputs()) names.push_back(v.name);
  for (const std::string& a : args) {
    auto [name, path] = split_named(a, names);
    refuse_same_file(model, path);
    if (!name.empty()) {
      const size_t i = std::find(names.begin(), names.end(), name) - names.begin();
      save_npy(path, outs[i]);
    } else if (ends_with(path, ".npz")) {
      std::vector<std::pair<std::string, Tensor>> arrays;
      for (size_t i = 0; i < outs.size(); ++i) arrays.emplace_back(names[i], outs[i]);
      save_npz(path, arrays);
    } else if (outs.size() == 1) {
      save_npy(path, outs[0]);
    } else {
      fail_input("the model has ", outs.size(),
                 " outputs: write them with --output out.npz "
                 "or --output NAME=path.npy per output");
    }
    std::fprintf(stderr, "wrote %s\n", path.c_str());
  }
}

int run_model(const std::string& model_path, const std::vector<std::string>& inputs,
              const std::vector<std::string>& outputs, const std::string& provider, int threads) {
  Session session(load_model(model_path), session_options(provider, threads));
  const std::map<std::string, Tensor> feeds = gather_inputs(session, inputs);
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<Tensor> outs = session.run_named(feeds);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!outputs.empty()) {
    write_outputs(session, outs, outputs, model_path);
    return 0;
  }
  for (size_t i = 0; i < outs.size(); ++i) print_output(session.outputs()[i].name, outs[i]);
  std::printf("ran in %.3f ms\n", ms);
  return 0;
}

CommandRegistrar reg(30, "run", "Run a model on inputs from .npy/.npz files", [](CLI::App& sub) {
  auto model = std::make_shared<std::string>();
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto outputs = std::make_shared<std::vector<std::string>>();
  auto provider = std::make_shared<std::string>();
  auto threads = std::make_shared<int>(1);
  sub.add_option("model", *model, "ONNX model")->required();
  sub.add_option("--input,-i", *inputs,
                 "Input: x.npy (by position), NAME=x.npy, or an .npz of named arrays")
      ->required()
      ->allow_extra_args(false);
  sub.add_option("--output,-o", *outputs,
                 "Write outputs: y.npy (single output), NAME=y.npy, or all into y.npz")
      ->allow_extra_args(false);
  sub.add_option("--provider", *provider,
                 "Providers, comma-separated, best first; reference runs the rest");
  sub.add_option("--threads", *threads, "Threads")->check(edgeopt::cli::whole(1, 1024));
  return [=] { return run_model(*model, *inputs, *outputs, *provider, *threads); };
});

}  // namespace
}  // namespace edgeopt::cli
