// A model run on a provider (with the reference provider behind it for the nodes it does not
// take) and on the reference provider alone, every output compared with the one tolerance
// policy (testing/tolerance.h); the provider must have taken at least the given number of
// nodes, so that a comparison where the provider ran nothing does not pass.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "edgeopt/ir.h"
#include "edgeopt/session.h"
#include "edgeopt/tensor.h"
#include "testing/tolerance.h"

namespace edgeopt::test {

struct CompareOptions {
  int threads = 1;
  // Nodes of the provider's session (after its graph rewrites) that must run on `provider`.
  int min_provider_nodes = 1;
  // Default: default_tolerance() of each output's dtype.
  std::optional<Tolerance> tolerance;
  // The provider's session's Winograd convs (SessionOptions::winograd).
  WinogradMode winograd = WinogradMode::kAuto;
};

struct ProviderComparison {
  std::vector<Tensor> got;   // the provider's outputs (second run: plans and packed weights reused)
  std::vector<Tensor> want;  // the reference provider's
  int provider_nodes = 0;
  // The ops the provider's session ran on `provider` (from its profile), one per node, as
  // "op_type" for the default domain and "domain.op_type" otherwise.
  std::vector<std::string> provider_ops;
};

ProviderComparison run_on_both(const Model& model, const std::vector<Tensor>& inputs,
                               const std::string& provider, int threads = 1,
                               WinogradMode winograd = WinogradMode::kAuto);

// Every output of run_on_both within tolerance, and min_provider_nodes taken by `provider`.
::testing::AssertionResult matches_reference(const Model& model, const std::vector<Tensor>& inputs,
                                             const std::string& provider,
                                             const CompareOptions& options = {});
// The same for a comparison already made.
::testing::AssertionResult agrees(const ProviderComparison& c, const std::string& provider,
                                  const CompareOptions& options = {});

}  // namespace edgeopt::test
