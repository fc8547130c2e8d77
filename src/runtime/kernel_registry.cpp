#include <algorithm>
#include <set>

#include "kernel.h"

namespace edgeopt::rt {

const Tensor& InferContext::input(size_t i) const {
  if (!has_input(i)) fail_input("node ", node_.describe(), ": required input ", i, " is missing");
  return *in_[i];
}

const Tensor& InferContext::value(size_t i) const {
  const Tensor& t = input(i);
  if (!t.has_data()) throw NeedValue{};
  return t;
}

void InferContext::set_output(size_t i, DType dtype, Shape shape) {
  if (i >= out_.size()) return;  // optional output not requested
  out_[i] = Tensor::meta(dtype, std::move(shape));
}

KernelRegistry& KernelRegistry::global() {
  static KernelRegistry r;
  return r;
}

void KernelRegistry::add(KernelDef def) { defs_.push_back(std::move(def)); }

namespace {
bool same_domain(const std::string& a, const std::string& b) {
  auto norm = [](const std::string& d) { return d == "ai.onnx" ? std::string() : d; };
  return norm(a) == norm(b);
}
}  // namespace

const KernelDef* KernelRegistry::find(const std::string& provider, const KernelInit& init) const {
  for (const KernelDef& d : defs_) {
    if (d.provider != provider || d.op_type != init.node.op_type ||
        !same_domain(d.domain, init.node.domain))
      continue;
    if (init.opset < d.since_version || init.opset > d.end_version) continue;
    if (d.accepts && !d.accepts(init)) continue;
    return &d;
  }
  return nullptr;
}

bool KernelRegistry::has_op(const std::string& provider, const std::string& domain,
                            const std::string& op_type) const {
  for (const KernelDef& d : defs_)
    if (d.provider == provider && d.op_type == op_type && same_domain(d.domain, domain))
      return true;
  return false;
}

std::vector<GraphRewrite>& graph_rewrites() {
  static std::vector<GraphRewrite> r;
  return r;
}

ProviderRegistry& ProviderRegistry::global() {
  static ProviderRegistry r;
  return r;
}

void ProviderRegistry::add(ProviderDef def) { defs_.push_back(std::move(def)); }

const ProviderDef* ProviderRegistry::find(const std::string& name) const {
  for (const ProviderDef& d : defs_)
    if (d.name == name) return &d;
  return nullptr;
}

std::vector<ProviderDef> ProviderRegistry::all() const {
  std::vector<ProviderDef> v = defs_;
  std::stable_sort(v.begin(), v.end(), [](const ProviderDef& a, const ProviderDef& b) {
    return a.priority < b.priority;
  });
  return v;
}

int provider_priority(const std::string& p) {
  const ProviderDef* d = ProviderRegistry::global().find(p);
  return d ? d->priority : 50;
}

const std::string& fallback_provider() {
  static const std::string name = [] {
    for (const ProviderDef& d : ProviderRegistry::global().all())
      if (d.fallback) return d.name;
    throw Error(ErrorKind::kInternal, "no fallback provider is registered");
  }();
  return name;
}

std::vector<std::string> KernelRegistry::providers() const {
  std::set<std::string> names;
  for (const KernelDef& d : defs_) names.insert(d.provider);
  std::vector<std::string> v(names.begin(), names.end());
  std::stable_sort(v.begin(), v.end(), [](const std::string& a, const std::string& b) {
    return provider_priority(a) < provider_priority(b);
  });
  return v;
}

}  // namespace edgeopt::rt
