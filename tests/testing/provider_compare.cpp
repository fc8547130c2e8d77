#include "testing/provider_compare.h"

#include "edgeopt/session.h"

namespace edgeopt::test {

ProviderComparison run_on_both(const Model& model, const std::vector<Tensor>& inputs,
                               const std::string& provider, int threads, WinogradMode winograd) {
  SessionOptions fast_options;
  fast_options.providers = {provider, "reference"};
  fast_options.threads = threads;
  fast_options.winograd = winograd;
  fast_options.profile = true;
  Session fast(model, fast_options);
  SessionOptions ref_options;
  ref_options.providers = {"reference"};
  Session ref(model, ref_options);
  ProviderComparison c;
  c.got = fast.run(inputs);
  c.got = fast.run(inputs);
  c.want = ref.run(inputs);
  for (const NodeProfile& p : fast.profile())
    if (p.provider == provider && p.calls > 0) {
      ++c.provider_nodes;
      c.provider_ops.push_back(p.domain.empty() ? p.op_type : p.domain + "." + p.op_type);
    }
  return c;
}

::testing::AssertionResult agrees(const ProviderComparison& c, const std::string& provider,
                                  const CompareOptions& options) {
  if (c.got.size() != c.want.size())
    return ::testing::AssertionFailure()
           << provider << " gave " << c.got.size() << " outputs, reference " << c.want.size();
  for (size_t o = 0; o < c.got.size(); ++o) {
    const Tolerance tol = options.tolerance.value_or(default_tolerance(c.want[o].dtype()));
    const ::testing::AssertionResult r =
        tensors_close(c.got[o], c.want[o], provider + " output " + std::to_string(o), tol);
    if (!r) return r;
  }
  if (c.provider_nodes < options.min_provider_nodes)
    return ::testing::AssertionFailure()
           << provider << " ran " << c.provider_nodes << " node(s), expected at least "
           << options.min_provider_nodes;
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult matches_reference(const Model& model, const std::vector<Tensor>& inputs,
                                             const std::string& provider,
                                             const CompareOptions& options) {
  return agrees(run_on_both(model, inputs, provider, options.threads, options.winograd), provider,
                options);
}

}  // namespace edgeopt::test
