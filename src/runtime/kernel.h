// Kernel and provider interface (internal). A provider is a named set of kernels; a kernel is
// created once per node at load, infers output shapes during planning and computes in run().
//
// Lifecycle (after TFLite Micro): create (parse attributes, prepack constant weights) →
// infer (validate input dtypes/shapes, give output dtypes/shapes and scratch size) → run (no
// checks, no allocation: outputs and scratch are preallocated).
#pragma once

#include <climits>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "edgeopt/error.h"
#include "edgeopt/ir.h"
#include "edgeopt/session.h"
#include "edgeopt/tensor.h"

namespace edgeopt::rt {

// Thrown by InferContext::value() while planning when an input's data is not known yet; the
// session then plans the node at run time instead.
struct NeedValue {};

struct KernelInit {
  const Node& node;
  int64_t opset = 0;  // opset of the node's domain
  // Per input: the value when it is a constant of the model (initializer), else nullptr.
  std::vector<const Tensor*> constants;
  // Per input: dtype known at load (from the model's types), kUndefined when not known.
  std::vector<DType> input_dtypes;
  int threads = 1;
  // Providers of the session in priority order and the model's opsets, for the nested
  // sessions that run subgraphs.
  std::vector<std::string> providers;
  std::vector<OpsetImport> opset_imports;
  // Outer-scope values the node's subgraphs read (Node::outer_reads()): the session passes
  // them as extra inputs after the node's own, in this order (constants, dtypes likewise).
  std::vector<std::string> outer_inputs;
  WinogradMode winograd = WinogradMode::kAuto;  // SessionOptions::winograd
  bool profile = false;                         // SessionOptions::profile, for nested sessions
};

class InferContext {
 public:
  InferContext(const Node& node, std::vector<const Tensor*> in, size_t num_outputs)
      : node_(node), in_(std::move(in)), out_(num_outputs) {}
  const Node& node() const { return node_; }
  size_t num_inputs() const { return in_.size(); }
  size_t num_outputs() const { return out_.size(); }
  bool has_input(size_t i) const { return i < in_.size() && in_[i] != nullptr; }
  // Input i (dtype and shape always; data only when known). Throws if absent.
  const Tensor& input(size_t i) const;
  DType dtype(size_t i) const { return input(i).dtype(); }
  const Shape& shape(size_t i) const { return input(i).shape(); }
  // Input i with data; throws NeedValue while planning if its data is not known yet.
  const Tensor& value(size_t i) const;
  void set_output(size_t i, DType dtype, Shape shape);
  // Gives output i's value already while planning (Shape, Size): later nodes see a constant.
  void set_output_value(size_t i, Tensor value) {
    if (i < out_.size()) out_[i] = std::move(value);
  }
  void request_scratch(size_t bytes) { scratch_bytes_ = std::max(scratch_bytes_, bytes); }

  const std::vector<Tensor>& outputs() const { return out_; }
  size_t scratch_bytes() const { return scratch_bytes_; }

 private:
  const Node& node_;
  std::vector<const Tensor*> in_;
  std::vector<Tensor> out_;  // meta tensors
  size_t scratch_bytes_ = 0;
};

struct RunContext {
  std::vector<const Tensor*> in;  // nullptr for an absent optional input
  std::vector<Tensor*> out;       // preallocated with the shapes infer() gave
  void* scratch = nullptr;
  int threads = 1;
  bool has_input(size_t i) const { return i < in.size() && in[i] != nullptr; }
  const Tensor& input(size_t i) const { return *in[i]; }
  Tensor& output(size_t i) const { return *out[i]; }
};

// infer() is called again whenever the session switches to a plan for other input shapes, so a
// kernel may keep per-shape state (primitive descriptors, packed buffers) from its latest infer().
class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual void infer(InferContext& ctx) = 0;
  virtual void run(RunContext& ctx) = 0;
  // True when the kernel keeps constant input `input` itself (taken from KernelInit::constants
  // at create) and never reads that input's data from the contexts. When every reader of a
  // constant says so, the session keeps its dtype and shape only, so that the kernel's own copy
  // (prepacked into the layout it runs) is the only one in memory.
  virtual bool owns_constant(size_t /*input*/) const { return false; }
  // Called before the first infer() when the input shapes it gives are the only ones this
  // kernel will ever see: every model input has static dims, and every node before it had its
  // shapes while planning. A kernel may then drop what it would keep only to serve other input
  // shapes (e.g. plain weights beside prepacked ones).
  virtual void input_shapes_fixed() {}
  // Kernels running subgraphs in nested sessions (If, Loop, Scan): appends the nested nodes'
  // profiles (when KernelInit::profile), named after the subgraph attribute
  // ("then_branch/conv1"); the session lists them under the node and keeps the node's own
  // time apart. reset_profile() clears them.
  virtual void append_profile(std::vector<NodeProfile>& /*out*/) const {}
  virtual void reset_profile() {}
};

// A kernel that keeps its node: its attributes and its name for error messages. A kernel with
// no other state takes the constructor as it is (`using NodeKernel::NodeKernel;`).
class NodeKernel : public Kernel {
 public:
  explicit NodeKernel(const KernelInit& init) : node_(init.node) {}

 protected:
  const Node& node_;
};

using KernelFactory = std::function<std::unique_ptr<Kernel>(const KernelInit&)>;
// Optional finer capability check (dtypes, attributes) beyond op/domain/opset.
using KernelAccepts = std::function<bool(const KernelInit&)>;

struct KernelDef {
  std::string provider;
  std::string domain;  // "" for the default ONNX domain
  std::string op_type;
  int since_version = 1;
  int end_version = INT_MAX;  // inclusive
  KernelFactory make;
  KernelAccepts accepts;
};

class KernelRegistry {
 public:
  static KernelRegistry& global();
  void add(KernelDef def);
  // The kernel for a node in a provider, or nullptr.
  const KernelDef* find(const std::string& provider, const KernelInit& init) const;
  std::vector<std::string> providers() const;  // in priority order
  bool has_op(const std::string& provider, const std::string& domain,
              const std::string& op_type) const;
  const std::vector<KernelDef>& defs() const { return defs_; }

 private:
  std::vector<KernelDef> defs_;
};

// A provider's graph rewrite, run by the session on its own copy of the model before nodes are
// assigned, for every provider the session uses (in priority order). It lets a provider fuse
// patterns into ops of its own domain (e.g. Conv+Relu, DequantizeLinear→Conv→QuantizeLinear) or
// collapse a run of nodes it takes into one node, without the session knowing about it.
struct GraphRewrite {
  std::string provider;
  std::string name;
  std::function<void(Model& model, int threads)> apply;
};
std::vector<GraphRewrite>& graph_rewrites();
struct GraphRewriteRegistrar {
  explicit GraphRewriteRegistrar(GraphRewrite r) { graph_rewrites().push_back(std::move(r)); }
};

// A provider described as data. Each registers itself beside its kernels
// (EDGEOPT_REGISTER_PROVIDER); the session knows providers only through these entries.
struct ProviderDef {
  std::string name;
  // Lower runs first when several providers can take a node.
  int priority = 50;
  // A fast provider this platform runs by default: default_providers() takes the one of lowest
  // priority among those compiled in, then the fallback.
  bool default_here = false;
  // Has a kernel for every op, literally (the reference provider): appended behind the
  // session's providers (SessionOptions::reference_fallback), the oracle of the tests, and what
  // evaluates nodes while planning and folding constants.
  bool fallback = false;
  // Graph passes (edgeopt/passes.h) the provider expects to have run before it claims nodes
  // (e.g. BatchNormalization folded into Conv): the session runs those of all its providers
  // once, before any provider rewrites the graph.
  std::vector<std::string> required_passes = {};
};
class ProviderRegistry {
 public:
  static ProviderRegistry& global();
  void add(ProviderDef def);
  // nullptr for a name no provider registered.
  const ProviderDef* find(const std::string& name) const;
  // Every registered provider in priority order.
  std::vector<ProviderDef> all() const;

 private:
  std::vector<ProviderDef> defs_;
};
struct ProviderRegistrar {
  explicit ProviderRegistrar(ProviderDef def) { ProviderRegistry::global().add(std::move(def)); }
};
// Provider priority: lower runs first when several can take a node (50 for an unregistered one).
int provider_priority(const std::string& provider);
// The name of the fallback provider ("reference").
const std::string& fallback_provider();

struct KernelRegistrar {
  explicit KernelRegistrar(KernelDef def) { KernelRegistry::global().add(std::move(def)); }
};

}  // namespace edgeopt::rt

#define EDGEOPT_CONCAT_INNER(a, b) a##b
#define EDGEOPT_CONCAT(a, b) EDGEOPT_CONCAT_INNER(a, b)

namespace edgeopt::rt {

// Selective build (-DEDGEOPT_OPS_FROM=model.onnx, CMakeLists.txt): the ONNX ops the models use.
// Kernels of other ONNX ops (default and com.microsoft domains) are not registered, and so not
// compiled in; the providers' own ops (edgeopt.* domains, made by their rewrites) always are.
constexpr bool op_selected([[maybe_unused]] std::string_view domain,
                           [[maybe_unused]] std::string_view op) {
#ifdef EDGEOPT_SELECTED_OPS
  if (domain.rfind("edgeopt.", 0) == 0) return true;
  constexpr std::string_view kSelected[] = {EDGEOPT_SELECTED_OPS};
  for (std::string_view s : kSelected)
    if (s == op) return true;
  return false;
#else
  return true;
#endif
}

// Registers Class for an op when the build keeps it; otherwise Class is never instantiated, so
// none of its code is emitted.
template <class Class, bool kSelected>
struct TypedKernelRegistrar {
  TypedKernelRegistrar(const char* provider, const char* domain, const char* op, int since,
                       int until) {
    if constexpr (kSelected)
      KernelRegistry::global().add(
          KernelDef{provider, domain, op, since, until,
                    [](const KernelInit& init) { return std::unique_ptr<Kernel>(new Class(init)); },
                    nullptr});
  }
};

}  // namespace edgeopt::rt

// Registers a provider:
// EDGEOPT_REGISTER_PROVIDER("name", priority, default_here, fallback, {"required", "passes"}).
#define EDGEOPT_REGISTER_PROVIDER(...)                          \
  static const ::edgeopt::rt::ProviderRegistrar EDGEOPT_CONCAT( \
      provider_registrar_, __COUNTER__)(::edgeopt::rt::ProviderDef{__VA_ARGS__})

// Registers `Class` (constructible from const KernelInit&) for an op in a provider, for opset
// versions [since, until].
#define EDGEOPT_REGISTER_KERNEL(provider, domain, op, since, until, Class)                  \
  static ::edgeopt::rt::TypedKernelRegistrar<Class, ::edgeopt::rt::op_selected(domain, op)> \
  EDGEOPT_CONCAT(kernel_registrar_, __COUNTER__)(provider, domain, op, since, until)
