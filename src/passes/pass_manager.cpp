// Pass registry and manager: selected passes run in registration order, round after round,
// until a round changes nothing or the round cap is reached.
#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "edgeopt/error.h"
#include "edgeopt/passes.h"
#include "pass_util.h"

namespace edgeopt {

PassRegistry& PassRegistry::global() {
  static PassRegistry r;
  return r;
}

void PassRegistry::add(PassInfo info, PassFactory make) {
  for (const Entry& e : entries_)
    if (e.info.name == info.name)
      throw Error(ErrorKind::kInternal, "pass '" + info.name + "' registered twice");
  entries_.push_back({std::move(info), std::move(make)});
  std::stable_sort(entries_.begin(), entries_.end(),
                   [](const Entry& a, const Entry& b) { return a.info.order < b.info.order; });
}

std::vector<std::string> PassRegistry::names() const {
  std::vector<std::string> r;
  for (const Entry& e : entries_) r.push_back(e.info.name);
  return r;
}

namespace {

void check_known(const std::vector<std::string>& names, const char* option) {
  const std::vector<std::string> known = PassRegistry::global().names();
  for (const std::string& n : names) {
    if (std::find(known.begin(), known.end(), n) != known.end()) continue;
    std::string list;
    for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
    fail_input("unknown pass '", n, "' in ", option, " (known passes: ", list, ")");
  }
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

PassManager::PassManager(PassOptions options) : options_(std::move(options)) {
  check_known(options_.disabled, "disabled passes");
  check_known(options_.only, "selected passes");
  for (const PassRegistry::Entry& e : PassRegistry::global().entries()) {
    const std::string& name = e.info.name;
    if (contains(options_.disabled, name)) continue;
    if (!options_.only.empty() && !contains(options_.only, name)) continue;
    if (e.info.level > options_.level) continue;
    passes_.push_back({e.info, e.make()});
  }
}

std::vector<std::string> PassManager::pass_names() const {
  std::vector<std::string> r;
  for (const Selected& p : passes_) r.push_back(p.info.name);
  return r;
}

PassReport PassManager::run(Model& model) {
  PassReport report;
  Graph& g = model.graph;
  report.nodes_before = static_cast<int64_t>(g.nodes.size());
  report.initializers_before = static_cast<int64_t>(g.initializers.size());
  for (const Selected& p : passes_) report.passes.push_back({p.info.name});
  // Passes look up producers and consumers in node order: start from a sorted graph.
  if (!passes_.empty()) {
    g.topological_sort();
    refresh_shapes(model);
  }
  const int max_rounds = std::max(1, options_.max_rounds);
  for (int round = 0; round < max_rounds && !passes_.empty(); ++round) {
    ++report.rounds;
    bool changed = false;
    for (size_t k = 0; k < passes_.size(); ++k) {
      const PassInfo& info = passes_[k].info;
      PassStats& st = report.passes[k];
      const std::vector<std::string>& targets = info.target_ops;
      if (!targets.empty()) {
        bool present = false;
        for (const Node& n : g.nodes)
          if (n.is_default_domain() && contains(targets, n.op_type)) {
            present = true;
            break;
          }
        if (!present) continue;
      }
      const int64_t nodes0 = static_cast<int64_t>(g.nodes.size());
      const int64_t inits0 = static_cast<int64_t>(g.initializers.size());
      const auto t0 = std::chrono::steady_clock::now();
      bool c = false;
      try {
        c = passes_[k].pass->run(model);
        g.compact();  // nodes a pass marked and left in place
      } catch (const Error& e) {
        throw Error(e.kind(), "pass " + info.name + ": " + e.what());
      }
      st.ms +=
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      ++st.runs;
      if (c) {
        ++st.changed_rounds;
        st.nodes_removed += nodes0 - static_cast<int64_t>(g.nodes.size());
        st.initializers_removed += inits0 - static_cast<int64_t>(g.initializers.size());
        changed = true;
      }
    }
    if (!changed) {
      report.converged = true;
      break;
    }
    // Folding may have made shapes static: let the next round see them.
    refresh_shapes(model);
  }
  if (passes_.empty()) report.converged = true;
  if (!passes_.empty()) g.topological_sort();
  report.nodes_after = static_cast<int64_t>(g.nodes.size());
  report.initializers_after = static_cast<int64_t>(g.initializers.size());
  return report;
}

PassReport optimize(Model& model, const PassOptions& options) {
  return PassManager(options).run(model);
}

}  // namespace edgeopt
