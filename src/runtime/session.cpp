#include "edgeopt/session.h"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "edgeopt/error.h"
#include "edgeopt/passes.h"
#include "kernel.h"
#include "memory_plan.h"
#include "node_traits.h"
#include "run_fresh.h"

namespace edgeopt {

using rt::InferContext;
using rt::Kernel;
using rt::KernelInit;
using rt::KernelRegistry;
using rt::RunContext;

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// The error with the node named, unless the kernel's message names it already.
Error with_node(const Error& e, const Node& node) {
  const std::string what = e.what();
  if (what.find(node.describe()) != std::string::npos) return e;
  return Error(e.kind(), "node " + node.describe() + ": " + what);
}

struct NodeRec {
  const Node* node = nullptr;
  std::vector<int> in;   // value ids, -1 for absent
  std::vector<int> out;  // value ids, -1 for absent
  std::unique_ptr<Kernel> kernel;
  std::string provider;
};

struct Plan {
  std::vector<Shape> key;  // input shapes
  bool dynamic = false;    // shapes depend on data: infer and allocate while running
  std::vector<Tensor> values;
  std::vector<char> folded;  // node computed while planning (all inputs constant)
  std::vector<size_t> scratch_offset;
  std::vector<RunContext> ctx;  // per node, pointers into values
  std::shared_ptr<void> arena;
  size_t arena_bytes = 0;
  // Graph outputs computed on every run: given fresh memory each run so that returned tensors
  // never alias the next run.
  std::vector<int> fresh_outputs;
};

}  // namespace

class SessionImpl {
 public:
  SessionImpl(Model m, SessionOptions o) : model(std::move(m)), opts(std::move(o)) { load(); }

  Model model;
  SessionOptions opts;
  std::unordered_map<std::string, int> ids;
  std::vector<std::string> names;
  std::vector<Tensor> constants;  // per id: initializer value or undefined
  std::vector<NodeRec> nodes;
  std::vector<int> input_ids, output_ids;
  std::vector<ValueInfo> inputs, outputs;
  std::vector<int> last_use;  // per id: last node index reading it (outputs: INT_MAX)
  std::vector<std::unique_ptr<Plan>> plans;
  Plan* current = nullptr;
  // Kernels may keep shape-dependent state from infer(); the plan they last saw.
  const Plan* last_inferred = nullptr;
  std::vector<NodeProfile> prof;
  size_t weight_bytes = 0;

  int id_of(const std::string& n) {
    auto [it, inserted] = ids.emplace(n, static_cast<int>(names.size()));
    if (inserted) {
      names.push_back(n);
      constants.emplace_back();
    }
    return it->second;
  }

  void load() {
    std::vector<std::string> providers = opts.providers;
    if (providers.empty()) providers = default_providers();
    const auto all = KernelRegistry::global().providers();
    for (const std::string& p : providers)
      if (std::find(all.begin(), all.end(), p) == all.end())
        fail_input("unknown provider '", p, "' (have: ", join(all), ")");
    if (opts.reference_fallback &&
        std::find(providers.begin(), providers.end(), rt::fallback_provider()) == providers.end())
      providers.push_back(rt::fallback_provider());
    Graph& g = model.graph;
    g.topological_sort();
    run_required_passes(providers);
    for (const std::string& p : providers)
      for (const rt::GraphRewrite& r : rt::graph_rewrites())
        if (r.provider == p) r.apply(model, opts.threads);
    g.topological_sort();
    for (const NamedTensor& t : g.initializers) {
      constants[id_of(t.name)] = t.tensor;
      weight_bytes += t.tensor.nbytes();
    }
    for (const ValueInfo* v : g.real_inputs()) {
      inputs.push_back(*v);
      input_ids.push_back(id_of(v->name));
    }
    for (const ValueInfo& v : g.outputs) {
      outputs.push_back(v);
      output_ids.push_back(id_of(v.name));
    }
    std::vector<std::string> missing;
    for (const Node& n : g.nodes) {
      NodeRec rec;
      rec.node = &n;
      for (const std::string& s : n.inputs) rec.in.push_back(s.empty() ? -1 : id_of(s));
      for (const std::string& s : n.outputs) rec.out.push_back(s.empty() ? -1 : id_of(s));
      KernelInit init{n,
                      model.opset(n.domain),
                      {},
                      {},
                      opts.threads,
                      providers,
                      model.opset_imports,
                      n.outer_reads(),
                      opts.winograd,
                      opts.profile};
      for (const std::string& s : init.outer_inputs) rec.in.push_back(id_of(s));
      for (int id : rec.in) {
        const Tensor* c = (id >= 0 && constants[id].defined()) ? &constants[id] : nullptr;
        init.constants.push_back(c);
        DType dt = c ? c->dtype() : DType::kUndefined;
        if (!c && id >= 0)
          if (const ValueInfo* vi = g.find_value_info(names[id])) dt = vi->dtype;
        init.input_dtypes.push_back(dt);
      }
      for (const std::string& p : providers) {
        if (const rt::KernelDef* def = KernelRegistry::global().find(p, init)) {
          rec.kernel = def->make(init);
          rec.provider = p;
          break;
        }
      }
      if (!rec.kernel) {
        const std::string op =
            (n.domain.empty() ? "" : n.domain + ".") + n.op_type + "-" + std::to_string(init.opset);
        const bool listed = std::any_of(missing.begin(), missing.end(), [&](const std::string& m) {
          return m.rfind(op + " ", 0) == 0;
        });
        if (!listed) missing.push_back(op + " (node '" + n.name + "')");
      }
      nodes.push_back(std::move(rec));
    }
    if (!missing.empty()) {
      std::string list;
      for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
      fail_unsupported("no provider can run these ops: ", list);
    }
    for (int id : output_ids)
      if (!constants[id].defined() && g.producer(names[id]) < 0 &&
          std::find(input_ids.begin(), input_ids.end(), id) == input_ids.end())
        fail_input("graph output '", names[id], "' is never computed");
    last_use.assign(names.size(), -1);
    for (size_t i = 0; i < nodes.size(); ++i)
      for (int id : nodes[i].in)
        if (id >= 0) last_use[id] = static_cast<int>(i);
    for (int id : output_ids) last_use[id] = INT32_MAX;
    hand_over_constants();
    prof.resize(nodes.size());
    for (size_t i = 0; i < nodes.size(); ++i)
      prof[i] = {nodes[i].node->name,
                 nodes[i].node->op_type,
                 nodes[i].provider,
                 0,
                 0,
                 nodes[i].node->is_default_domain() ? "" : nodes[i].node->domain};
  }

  // The graph passes the session's providers require (rt::ProviderDef::required_passes), once,
  // before any provider claims or rewrites nodes.
  void run_required_passes(const std::vector<std::string>& providers) {
    PassOptions po;
    const std::vector<std::string> known = PassRegistry::global().names();
    for (const std::string& p : providers)
      if (const rt::ProviderDef* d = rt::ProviderRegistry::global().find(p))
        for (const std::string& pass : d->required_passes)
          if (std::count(known.begin(), known.end(), pass) &&
              !std::count(po.only.begin(), po.only.end(), pass))
            po.only.push_back(pass);
    if (!po.only.empty()) optimize(model, po);
  }

  // Weights held once: a constant that every node reading it keeps itself (a kernel that
  // prepacks its weights) stays here, and in the session's model, as dtype and shape only. The
  // kernels' copies are then the only ones, and a kernel that reorders its weights into its own
  // layout frees the plain ones.
  void hand_over_constants() {
    std::vector<char> owned(names.size(), 0);
    for (size_t id = 0; id < names.size(); ++id) owned[id] = constants[id].has_data();
    for (int id : output_ids) owned[id] = 0;
    for (const NodeRec& r : nodes)
      for (size_t k = 0; k < r.in.size(); ++k)
        if (r.in[k] >= 0 && !r.kernel->owns_constant(k)) owned[r.in[k]] = 0;
    for (NamedTensor& t : model.graph.initializers) {
      const auto it = ids.find(t.name);
      if (it == ids.end() || !owned[it->second]) continue;
      constants[it->second] = Tensor::meta(t.tensor.dtype(), t.tensor.shape());
      t.tensor = constants[it->second];
    }
  }

  // Every input has a shape of static dims: check_inputs then admits no other shapes.
  bool static_inputs() const {
    for (const ValueInfo& v : inputs) {
      if (!v.has_shape) return false;
      for (const Dim& d : v.dims)
        if (!d.is_static()) return false;
    }
    return true;
  }

  void check_inputs(const std::vector<Tensor>& in, bool need_data = true) const {
    if (in.size() != inputs.size())
      fail_input("model takes ", inputs.size(), " input(s), got ", in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      const ValueInfo& v = inputs[i];
      const Tensor& t = in[i];
      if (need_data && !t.has_data()) fail_input("input '", v.name, "' has no data");
      if (v.dtype != DType::kUndefined && t.dtype() != v.dtype)
        fail_input("input '", v.name, "': expected dtype ", dtype_name(v.dtype), ", got ",
                   dtype_name(t.dtype()));
      if (!v.has_shape) continue;
      bool ok = static_cast<size_t>(t.rank()) == v.dims.size();
      for (size_t d = 0; ok && d < v.dims.size(); ++d)
        ok = !v.dims[d].is_static() || v.dims[d].value == t.shape()[d];
      if (!ok) {
        std::string want;
        for (size_t d = 0; d < v.dims.size(); ++d)
          want += (d ? "x" : "") +
                  (v.dims[d].is_static()
                       ? std::to_string(v.dims[d].value)
                       : (v.dims[d].param.empty() ? std::string("?") : v.dims[d].param));
        fail_input("input '", v.name, "': expected shape ", want.empty() ? "scalar" : want,
                   ", got ", shape_str(t.shape()));
      }
    }
  }

  std::vector<const Tensor*> input_ptrs(Plan& p, const NodeRec& r) {
    std::vector<const Tensor*> v;
    for (int id : r.in) v.push_back(id >= 0 && p.values[id].defined() ? &p.values[id] : nullptr);
    return v;
  }

  Plan& plan_for(const std::vector<Tensor>& in) {
    for (auto& p : plans) {
      bool same = true;
      for (size_t i = 0; same && i < in.size(); ++i) same = p->key[i] == in[i].shape();
      if (same) return *p;
    }
    if (plans.size() >= 8) {  // bound the cache
      if (last_inferred == plans.front().get()) last_inferred = nullptr;
      plans.erase(plans.begin());
    }
    auto p = std::make_unique<Plan>();
    for (const Tensor& t : in) p->key.push_back(t.shape());
    const bool first = plans.empty();
    build_plan(*p, in, first && static_inputs());
#ifdef __GLIBC__
    // Kernels prepacked their weights while planning and freed the copies they started from:
    // give those pages back rather than keep them as free heap.
    if (first) malloc_trim(0);
#endif
    last_inferred = p.get();
    plans.push_back(std::move(p));
    return *plans.back();
  }

  // `fixed`: the first plan of a model whose inputs are all static; the shapes seen while
  // planning are then the only ones (Kernel::input_shapes_fixed).
  void build_plan(Plan& p, const std::vector<Tensor>& in, bool fixed) {
    p.values = constants;
    for (size_t i = 0; i < in.size(); ++i)
      p.values[input_ids[i]] = Tensor::meta(in[i].dtype(), in[i].shape());
    p.folded.assign(nodes.size(), 0);
    p.scratch_offset.assign(nodes.size(), 0);
    std::vector<size_t> scratch(nodes.size(), 0);
    for (size_t i = 0; i < nodes.size(); ++i) {
      NodeRec& r = nodes[i];
      InferContext ctx(*r.node, input_ptrs(p, r), r.out.size());
      if (fixed) r.kernel->input_shapes_fixed();
      try {
        r.kernel->infer(ctx);
      } catch (const rt::NeedValue&) {
        p.dynamic = true;
        return;
      } catch (const Error& e) {
        throw with_node(e, *r.node);
      }
      bool all_const = !rt::is_nondeterministic(*r.node);
      for (int id : r.in) all_const = all_const && (id < 0 || p.values[id].has_data());
      bool given = true;  // infer already gave every output's value
      for (size_t o = 0; o < r.out.size(); ++o)
        given = given && (r.out[o] < 0 || ctx.outputs()[o].has_data());
      if (given) {
        for (size_t o = 0; o < r.out.size(); ++o)
          if (r.out[o] >= 0) p.values[r.out[o]] = ctx.outputs()[o];
        p.folded[i] = 1;
      } else if (all_const) {
        timed(i, [&] { run_owned(p, i, ctx); });
        p.folded[i] = 1;
      } else {
        for (size_t o = 0; o < r.out.size(); ++o)
          if (r.out[o] >= 0) {
            if (!ctx.outputs()[o].defined())
              throw Error(ErrorKind::kInternal, "node " + r.node->describe() +
                                                    ": kernel set no output " + std::to_string(o));
            p.values[r.out[o]] = ctx.outputs()[o];
          }
        scratch[i] = ctx.scratch_bytes();
      }
    }
    // Lay out every intermediate (not folded, not a graph output) in one arena.
    std::vector<rt::Lifetime> lts;
    std::vector<std::pair<int, int>> owner;  // (value id or -1-node for scratch, node)
    std::unordered_set<int> outs(output_ids.begin(), output_ids.end());
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (p.folded[i]) continue;
      for (int id : nodes[i].out) {
        if (id < 0 || outs.count(id)) continue;
        const int last = std::max(last_use[id], static_cast<int>(i));
        lts.push_back({p.values[id].nbytes(), static_cast<int>(i), last});
        owner.push_back({id, static_cast<int>(i)});
      }
      if (scratch[i]) {
        lts.push_back({scratch[i], static_cast<int>(i), static_cast<int>(i)});
        owner.push_back({-1, static_cast<int>(i)});
      }
    }
    const rt::MemoryPlan mp = rt::plan_memory(lts);
    p.arena_bytes = mp.arena_bytes;
    if (p.arena_bytes &&
        static_cast<int64_t>(p.arena_bytes) > memory_budget() - tensor_bytes_in_use()) {
      // Name the node whose output is the largest: it is what a user changes (a shape, a
      // batch size) to fit.
      size_t big = 0;
      for (size_t k = 1; k < lts.size(); ++k)
        if (lts[k].bytes > lts[big].bytes) big = k;
      const auto [id, node] = owner[big];
      const Node& n = *nodes[node].node;
      fail_input("node ", n.describe(), ": its activations need ", p.arena_bytes,
                 " bytes (largest: ", id >= 0 ? shape_str(p.values[id].shape()) : "scratch", ", ",
                 lts[big].bytes, " bytes), over the memory budget of ", memory_budget(),
                 " bytes with ", tensor_bytes_in_use(), " already held (--max-memory)");
    }
    if (p.arena_bytes) {
      // A tensor, so that the arena counts against the memory budget like every tensor.
      auto arena = std::make_shared<Tensor>(DType::kU8, Shape{static_cast<int64_t>(p.arena_bytes)});
      void* mem = arena->raw();
      p.arena = std::shared_ptr<void>(std::move(arena), mem);
    }
    auto* base = static_cast<uint8_t*>(p.arena.get());
    for (size_t k = 0; k < lts.size(); ++k) {
      auto [id, node] = owner[k];
      if (id >= 0) {
        Tensor& t = p.values[id];
        t = Tensor::view(t.dtype(), t.shape(), base + mp.offsets[k]);
      } else {
        p.scratch_offset[node] = mp.offsets[k];
      }
    }
    for (size_t i = 0; i < nodes.size(); ++i)
      if (!p.folded[i])
        for (int id : nodes[i].out)
          if (id >= 0 && outs.count(id)) p.fresh_outputs.push_back(id);
    p.ctx.resize(nodes.size());
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (p.folded[i]) continue;
      RunContext& c = p.ctx[i];
      c.in = input_ptrs(p, nodes[i]);
      for (int id : nodes[i].out) c.out.push_back(id >= 0 ? &p.values[id] : nullptr);
      c.scratch = scratch[i] ? base + p.scratch_offset[i] : nullptr;
      c.threads = opts.threads;
    }
  }

  // Computes node i with freshly allocated outputs (planning-time folding, dynamic runs; the
  // callers time it).
  void run_owned(Plan& p, size_t i, const InferContext& ctx) {
    NodeRec& r = nodes[i];
    std::vector<bool> wanted;
    for (int id : r.out) wanted.push_back(id >= 0);
    std::vector<Tensor> outs =
        rt::run_into_fresh_outputs(*r.kernel, *r.node, ctx, input_ptrs(p, r), wanted, opts.threads);
    for (size_t o = 0; o < r.out.size(); ++o)
      if (r.out[o] >= 0) p.values[r.out[o]] = std::move(outs[o]);
  }

  template <class F>
  void timed(size_t i, F&& f) {
    if (!opts.profile) {
      f();
      return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    f();
    prof[i].total_ms +=
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    prof[i].calls++;
  }

  std::vector<Tensor> run(const std::vector<Tensor>& in) {
    check_inputs(in);
    Plan& p = plan_for(in);
    current = &p;
    for (size_t i = 0; i < in.size(); ++i) p.values[input_ids[i]] = in[i];
    if (p.dynamic) return run_dynamic(p, in);
    if (last_inferred != &p) reinfer(p);
    for (int id : p.fresh_outputs) {
      Tensor& t = p.values[id];
      t = Tensor(t.dtype(), t.shape());
    }
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (p.folded[i]) continue;
      try {
        timed(i, [&] { nodes[i].kernel->run(p.ctx[i]); });
      } catch (const Error& e) {
        throw with_node(e, *nodes[i].node);
      }
    }
    return collect(p);
  }

  // Runs infer() again for the plan's shapes when switching between cached plans, so kernels
  // that prepare per-shape state in infer() are prepared for this plan.
  void reinfer(Plan& p) {
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (p.folded[i]) continue;
      InferContext ctx(*nodes[i].node, p.ctx[i].in, nodes[i].out.size());
      nodes[i].kernel->infer(ctx);
    }
    last_inferred = &p;
  }

  std::vector<Tensor> run_dynamic(Plan& p, const std::vector<Tensor>& in) {
    last_inferred = nullptr;
    p.values = constants;
    for (size_t i = 0; i < in.size(); ++i) p.values[input_ids[i]] = in[i];
    for (size_t i = 0; i < nodes.size(); ++i) {
      NodeRec& r = nodes[i];
      InferContext ctx(*r.node, input_ptrs(p, r), r.out.size());
      try {
        // Timed as a whole: kernels whose output depends on the data (NonZero,
        // NonMaxSuppression, ...) compute it in infer().
        timed(i, [&] {
          r.kernel->infer(ctx);
          bool given = true;
          for (size_t o = 0; o < r.out.size(); ++o)
            given = given && (r.out[o] < 0 || ctx.outputs()[o].has_data());
          if (given) {
            for (size_t o = 0; o < r.out.size(); ++o)
              if (r.out[o] >= 0) p.values[r.out[o]] = ctx.outputs()[o];
          } else {
            run_owned(p, i, ctx);
          }
        });
      } catch (const rt::NeedValue&) {
        throw Error(ErrorKind::kInternal, "node " + r.node->describe() + ": missing value");
      } catch (const Error& e) {
        throw with_node(e, *r.node);
      }
      // Free what no later node reads.
      for (int id : r.in)
        if (id >= 0 && last_use[id] == static_cast<int>(i) && !constants[id].defined())
          p.values[id] = Tensor();
    }
    std::vector<Tensor> out;
    for (int id : output_ids) {
      const bool computed = !constants[id].defined() &&
                            std::find(input_ids.begin(), input_ids.end(), id) == input_ids.end();
      out.push_back(computed ? p.values[id] : p.values[id].clone());
    }
    p.values.clear();
    return out;
  }

  std::vector<Tensor> collect(Plan& p) {
    std::vector<Tensor> out;
    for (int id : output_ids) {
      const Tensor& t = p.values[id];
      const bool fresh =
          std::find(p.fresh_outputs.begin(), p.fresh_outputs.end(), id) != p.fresh_outputs.end();
      out.push_back(fresh ? t : t.clone());
    }
    for (size_t i = 0; i < input_ids.size(); ++i) p.values[input_ids[i]] = Tensor();
    // The caller owns the outputs now; a cached plan keeps their dtype and shape only (the next
    // run allocates them again), not the memory of the latest results.
    for (int id : p.fresh_outputs) {
      Tensor& t = p.values[id];
      t = Tensor::meta(t.dtype(), t.shape());
    }
    return out;
  }
};

Session::Session(Model model, SessionOptions options)
    : impl_(std::make_unique<SessionImpl>(std::move(model), std::move(options))) {}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

const std::vector<ValueInfo>& Session::inputs() const { return impl_->inputs; }
const std::vector<ValueInfo>& Session::outputs() const { return impl_->outputs; }

std::vector<Tensor> Session::run(const std::vector<Tensor>& inputs) { return impl_->run(inputs); }

std::vector<Tensor> Session::run_named(const std::map<std::string, Tensor>& named) {
  std::vector<Tensor> in;
  for (const ValueInfo& v : impl_->inputs) {
    auto it = named.find(v.name);
    if (it == named.end()) fail_input("missing input '", v.name, "'");
    in.push_back(it->second);
  }
  if (named.size() != in.size())
    for (const auto& [k, _] : named) {
      bool known = false;
      for (const ValueInfo& v : impl_->inputs) known |= v.name == k;
      if (!known) fail_input("model has no input named '", k, "'");
    }
  return impl_->run(in);
}

size_t Session::plan(const std::vector<Tensor>& inputs) {
  impl_->check_inputs(inputs, /*need_data=*/false);
  impl_->current = &impl_->plan_for(inputs);
  return impl_->current->arena_bytes;
}

std::vector<Tensor> Session::planned_outputs(const std::vector<Tensor>& inputs) {
  plan(inputs);
  const Plan& p = *impl_->current;
  std::vector<Tensor> out;
  if (p.dynamic) return out;
  for (int id : impl_->output_ids) {
    const Tensor& t = p.values[id];
    out.push_back(Tensor::meta(t.dtype(), t.shape()));
  }
  return out;
}

size_t Session::arena_bytes() const { return impl_->current ? impl_->current->arena_bytes : 0; }
size_t Session::weight_bytes() const { return impl_->weight_bytes; }

std::vector<std::pair<std::string, std::string>> Session::assignment() const {
  std::vector<std::pair<std::string, std::string>> a;
  for (const NodeRec& r : impl_->nodes) a.emplace_back(r.node->name, r.provider);
  return a;
}

std::vector<NodeProfile> Session::profile() const {
  // Each node, then the nodes of its subgraphs (prefixed with its name); the node keeps only
  // the time its subgraphs' nodes do not account for, so that the times still add up.
  std::vector<NodeProfile> out;
  for (size_t i = 0; i < impl_->prof.size(); ++i) {
    out.push_back(impl_->prof[i]);
    const size_t own = out.size() - 1;
    std::vector<NodeProfile> inner;
    impl_->nodes[i].kernel->append_profile(inner);
    for (NodeProfile& p : inner) {
      p.node = out[own].node + "/" + p.node;
      out[own].total_ms = std::max(0.0, out[own].total_ms - p.total_ms);
      out.push_back(std::move(p));
    }
  }
  return out;
}
void Session::reset_profile() {
  for (NodeProfile& p : impl_->prof) p.total_ms = 0, p.calls = 0;
  for (NodeRec& r : impl_->nodes) r.kernel->reset_profile();
}

std::vector<std::string> available_providers() { return rt::KernelRegistry::global().providers(); }

std::vector<std::string> split_provider_list(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream ss(list);
  for (std::string p; std::getline(ss, p, ',');)
    if (!p.empty()) out.push_back(p);
  return out;
}

std::vector<std::string> default_providers() {
  // This platform's fast provider (the default one of lowest priority compiled in: x86-64
  // built without oneDNN runs XNNPACK), then the fallback (rt::ProviderDef).
  const std::vector<std::string> available = available_providers();
  const auto have = [&](const std::string& p) {
    return std::find(available.begin(), available.end(), p) != available.end();
  };
  std::vector<std::string> out;
  for (const rt::ProviderDef& d : rt::ProviderRegistry::global().all())
    if (d.default_here && !d.fallback && have(d.name)) {
      out.push_back(d.name);
      break;
    }
  for (const rt::ProviderDef& d : rt::ProviderRegistry::global().all())
    if (d.fallback && have(d.name)) out.push_back(d.name);
  return out;
}

}  // namespace edgeopt
