// Session: runs a model. load → plan (shapes for the given input shapes, one arena laid out
// from tensor lifetimes) → run. Nodes are assigned to providers by capability and priority.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "edgeopt/ir.h"
#include "edgeopt/tensor.h"

namespace edgeopt {

// Winograd convolutions (3x3, stride 1, group 1) where a provider has them: faster on larger maps,
// but they keep transformed weights 16/9 to 4x the size of the 3x3 ones.
enum class WinogradMode {
  kAuto,  // where the provider's rule takes them (time gained against extra weight bytes)
  kOff,   // never: direct convolutions only
  kAll,   // every conv the Winograd kernels can run (tests, benchmarks)
};

struct SessionOptions {
  // Providers to use, in priority order. Empty: default_providers().
  std::vector<std::string> providers;
  int threads = 1;
  // Collect per-node timings in run() (see Session::profile()).
  bool profile = false;
  // Append the reference provider (it has every op) when `providers` does not list it, so that
  // nodes a fast provider does not take still run. False: exactly `providers`.
  bool reference_fallback = true;
  WinogradMode winograd = WinogradMode::kAuto;
};

struct NodeProfile {
  std::string node;
  std::string op_type;
  std::string provider;
  double total_ms = 0;
  int64_t calls = 0;
  std::string domain;  // the node's op domain, "" for the default ONNX domain
};

class SessionImpl;

class Session {
 public:
  // Takes the model by value: the session keeps (and may rewrite) its own copy.
  // Throws Error listing every op type no provider can run.
  Session(Model model, SessionOptions options = {});
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  // Names, dtypes and (possibly symbolic) shapes of what run() expects and returns.
  const std::vector<ValueInfo>& inputs() const;
  const std::vector<ValueInfo>& outputs() const;

  // Runs the model. Inputs are matched by position to inputs(); checked for dtype and shape.
  // Returned tensors own their memory.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs);
  // Inputs by name (every input of inputs() must be given).
  std::vector<Tensor> run_named(const std::map<std::string, Tensor>& inputs);

  // Plans the model for inputs of these dtypes and shapes (their data is not read) without
  // running it, as run() would before its first run with such inputs, and makes that plan the
  // latest. Returns its arena bytes: 0 when shapes depend on the data (the plan is then made
  // while running). `inspect` reports this figure, `bench` the same one after running.
  size_t plan(const std::vector<Tensor>& inputs);
  // plan() that gives the dtype and shape of each output (tensors without data), or nothing when
  // the shapes depend on the data.
  std::vector<Tensor> planned_outputs(const std::vector<Tensor>& inputs);
  // Bytes of the activation arena of the latest plan (0 before the first run or plan()).
  size_t arena_bytes() const;
  // Bytes of weights held by the session.
  size_t weight_bytes() const;
  // Node → provider assignment.
  std::vector<std::pair<std::string, std::string>> assignment() const;
  std::vector<NodeProfile> profile() const;
  void reset_profile();

 private:
  std::unique_ptr<SessionImpl> impl_;
};

// Names of the providers compiled in, best first.
std::vector<std::string> available_providers();
// A comma-separated provider list ("onednn,reference") as names, empty items dropped.
std::vector<std::string> split_provider_list(const std::string& list);
// What a session uses when SessionOptions::providers is empty: this platform's fast provider
// (onednn on x86-64, xnnpack elsewhere; both measured faster than reference on every bundled
// and torchvision model, see bench/README.md), then reference.
std::vector<std::string> default_providers();

}  // namespace edgeopt
