// Graph optimization passes: a Pass interface, a registry (one pass per file, each registers
// itself) and a manager that runs the enabled passes to a fixed point.
//
// Every pass keeps the model's meaning: same graph inputs and outputs (names included), same
// values within floating-point rounding. Levels follow ONNX Runtime: 1 (basic) passes only
// remove redundancy (dead code, identities, constants); 2 (extended) passes fuse ops.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "edgeopt/ir.h"

namespace edgeopt {

// What the manager knows of a pass, given once where the pass registers itself
// (EDGEOPT_REGISTER_PASS).
struct PassInfo {
  // Short snake_case name, the one used to disable the pass ("conv_bn_fold").
  std::string name;
  // Where the pass runs within a round (lower first).
  int order = 0;
  // 1 = basic (remove redundancy), 2 = extended (fuse ops).
  int level = 1;
  // Op types (default domain) the pass looks at. The manager skips the pass when the graph has
  // none of them. Empty: the pass works on the whole graph and always runs.
  std::vector<std::string> target_ops = {};
};

class Pass {
 public:
  virtual ~Pass() = default;
  // Rewrites the model in place; returns true when something changed.
  virtual bool run(Model& model) = 0;
};

using PassFactory = std::function<std::unique_ptr<Pass>()>;

class PassRegistry {
 public:
  struct Entry {
    PassInfo info;
    PassFactory make;
  };
  static PassRegistry& global();
  void add(PassInfo info, PassFactory make);
  // Registered passes in run order.
  const std::vector<Entry>& entries() const { return entries_; }
  // Registered pass names in run order.
  std::vector<std::string> names() const;

 private:
  std::vector<Entry> entries_;
};

struct PassRegistrar {
  PassRegistrar(PassInfo info, PassFactory make) {
    PassRegistry::global().add(std::move(info), std::move(make));
  }
};

struct PassOptions {
  int level = 2;                      // run passes whose level is <= this (0 runs none)
  std::vector<std::string> disabled;  // pass names not to run; unknown names are an error
  std::vector<std::string> only;      // when non-empty: run only these passes
  int max_rounds = 10;                // fixed-point cap
};

// What one pass did over all rounds.
struct PassStats {
  std::string name;
  int runs = 0;               // times run (not skipped)
  int changed_rounds = 0;     // rounds in which it changed the model
  int64_t nodes_removed = 0;  // net node count decrease it caused (negative: nodes added)
  int64_t initializers_removed = 0;
  double ms = 0;
};

struct PassReport {
  int rounds = 0;
  bool converged = false;  // the last round changed nothing (false: hit max_rounds)
  int64_t nodes_before = 0, nodes_after = 0;
  int64_t initializers_before = 0, initializers_after = 0;
  std::vector<PassStats> passes;  // in run order, only the selected passes
};

class PassManager {
 public:
  // Throws Error (invalid input) for an unknown name in `disabled` or `only`.
  explicit PassManager(PassOptions options = {});
  // Names of the passes that will run, in order.
  std::vector<std::string> pass_names() const;
  // Runs rounds of every selected pass until a round changes nothing or max_rounds is hit.
  // The graph is topologically sorted afterwards.
  PassReport run(Model& model);

 private:
  struct Selected {
    PassInfo info;
    std::unique_ptr<Pass> pass;
  };
  PassOptions options_;
  std::vector<Selected> passes_;
};

// Shorthand: PassManager(options).run(model).
PassReport optimize(Model& model, const PassOptions& options = {});

}  // namespace edgeopt

// Registers a pass class (default-constructible) with its PassInfo's fields in order:
// EDGEOPT_REGISTER_PASS(ShapeFolding, "shape_folding", 30, 1, {"Shape", "Size"}).
#define EDGEOPT_REGISTER_PASS(Class, ...)                                            \
  static ::edgeopt::PassRegistrar EDGEOPT_PASS_CONCAT(pass_registrar_, __COUNTER__)( \
      ::edgeopt::PassInfo{__VA_ARGS__},                                              \
      [] { return std::unique_ptr<::edgeopt::Pass>(new Class()); })
#define EDGEOPT_PASS_CONCAT_INNER(a, b) a##b
#define EDGEOPT_PASS_CONCAT(a, b) EDGEOPT_PASS_CONCAT_INNER(a, b)
