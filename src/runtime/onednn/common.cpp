#include "common.h"

#include <dlfcn.h>

#include <algorithm>
#include <cfloat>

namespace edgeopt::rt::onednn {

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& stream() {
  static dnnl::stream s(engine());
  return s;
}

void set_threads(int threads) {
  // Debian's libdnnl runs its parallel regions with GNU OpenMP, which libdnnl itself loads.
  // omp_set_num_threads sets the calling thread's nthreads ICV, which oneDNN's regions use.
  // Looked up at run time so edgeopt does not need to link libgomp (or build with -fopenmp).
  using SetFn = void (*)(int);
  using GetFn = int (*)();
  static SetFn set_fn = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  static GetFn get_fn = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  if (!set_fn || !get_fn || threads < 1) return;
  if (get_fn() != threads) set_fn(threads);
}

int threads_for(int threads, int64_t macs, int64_t bytes) {
  const int64_t worth = std::max(macs >> 18, bytes >> 16);
  return static_cast<int>(std::clamp<int64_t>(worth, 1, std::max(threads, 1)));
}

namespace {

struct ParallelJob {
  const std::function<void(int64_t, int64_t)>* fn;
  int64_t n;
  int (*thread_num)();
  int (*num_threads)();
};

void parallel_body(void* data) {
  const ParallelJob& job = *static_cast<ParallelJob*>(data);
  const int64_t t = job.thread_num(), nt = job.num_threads();
  const int64_t begin = job.n * t / nt, end = job.n * (t + 1) / nt;
  if (begin < end) (*job.fn)(begin, end);
}

}  // namespace

void parallel_for(int threads, int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  // GOMP_parallel is what GCC compiles `#pragma omp parallel num_threads(k)` to; looked up at
  // run time like omp_set_num_threads above, so edgeopt is not built with -fopenmp.
  using ParallelFn = void (*)(void (*)(void*), void*, unsigned, unsigned);
  using IntFn = int (*)();
  static ParallelFn par = reinterpret_cast<ParallelFn>(dlsym(RTLD_DEFAULT, "GOMP_parallel"));
  static IntFn num = reinterpret_cast<IntFn>(dlsym(RTLD_DEFAULT, "omp_get_thread_num"));
  static IntFn count = reinterpret_cast<IntFn>(dlsym(RTLD_DEFAULT, "omp_get_num_threads"));
  if (n <= 0) return;
  const int64_t k = std::min<int64_t>(threads, n);
  if (k <= 1 || !par || !num || !count) {
    fn(0, n);
    return;
  }
  ParallelJob job{&fn, n, num, count};
  par(parallel_body, &job, static_cast<unsigned>(k), 0);
}

dims to_dims(const Shape& s) { return dims(s.begin(), s.end()); }

tag plain_tag(int rank) {
  switch (rank) {
    case 1:
      return tag::a;
    case 2:
      return tag::ab;
    case 3:
      return tag::abc;
    case 4:
      return tag::abcd;
    case 5:
      return tag::abcde;
    case 6:
      return tag::abcdef;
    default:
      return tag::undef;
  }
}

int64_t activation_block() {
  static const int64_t block = dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core ? 16 : 8;
  return block;
}

tag blocked_tag(int64_t block) {
  if (block == 8) return tag::aBcd8b;
  if (block == 16) return tag::aBcd16b;
  fail_unsupported("onednn: no blocked layout with ", block, " lanes");
}

bool is_reference(const dnnl::primitive_desc_base& pd) {
  return std::string(pd.impl_info_str()).rfind("ref", 0) == 0;
}

Shape blocked_shape(int64_t n, int64_t c, int64_t h, int64_t w, int64_t block) {
  return {n, (c + block - 1) / block, h, w, block};
}

dnnl::memory user_memory(const dnnl::memory::desc& md) {
  return dnnl::memory(md, engine(), DNNL_MEMORY_NONE);
}

void Relayout::make(size_t& scratch_bytes, const dnnl::memory& src, const dnnl::memory& dst,
                    const std::vector<dnnl::memory>& adds, const dnnl::memory::desc& src_user,
                    const dnnl::memory::desc& dst_user,
                    const std::vector<dnnl::memory::desc>& adds_user) {
  auto place = [&](const dnnl::memory::desc& md) {
    const size_t at = (scratch_bytes + 63) / 64 * 64;
    scratch_bytes = at + md.get_size();
    return at;
  };
  on_ = true;
  src_user_ = user_memory(src_user);
  dst_user_ = user_memory(dst_user);
  src_in_ = dnnl::reorder(src_user_, src);
  dst_out_ = dnnl::reorder(dst, dst_user_);
  src_offset_ = place(src.get_desc());
  dst_offset_ = place(dst.get_desc());
  for (size_t k = 0; k < adds.size(); ++k) {
    adds_user_.push_back(user_memory(adds_user[k]));
    adds_in_.emplace_back(adds_user_.back(), adds[k]);
    add_offsets_.push_back(place(adds[k].get_desc()));
  }
}

void Relayout::bind(const RunContext& ctx, size_t first_add, dnnl::memory& src, dnnl::memory& dst,
                    std::vector<dnnl::memory>& adds) {
  auto input = [&](size_t k) { return const_cast<void*>(ctx.input(k).raw()); };
  if (!on_) {
    src.set_data_handle(input(0));
    dst.set_data_handle(ctx.output(0).raw());
    for (size_t k = 0; k < adds.size(); ++k) adds[k].set_data_handle(input(first_add + k));
    return;
  }
  char* scratch = static_cast<char*>(ctx.scratch);
  src_user_.set_data_handle(input(0));
  src.set_data_handle(scratch + src_offset_);
  src_in_.execute(stream(), src_user_, src);
  for (size_t k = 0; k < adds.size(); ++k) {
    adds_user_[k].set_data_handle(input(first_add + k));
    adds[k].set_data_handle(scratch + add_offsets_[k]);
    adds_in_[k].execute(stream(), adds_user_[k], adds[k]);
  }
  dst_user_.set_data_handle(ctx.output(0).raw());
  dst.set_data_handle(scratch + dst_offset_);
}

void Relayout::finish(dnnl::memory& dst) {
  if (on_) dst_out_.execute(stream(), dst, dst_user_);
}

void release_plain(Tensor& w, const dnnl::memory& reordered, dnnl::memory& source,
                   bool shapes_fixed) {
  if (!w.has_data()) return;
  const bool readable = reordered && reordered.get_desc().data.format_kind == dnnl_blocked;
  if (readable) source = reordered;
  if (readable || shapes_fixed) w = Tensor::meta(w.dtype(), w.shape());
}

Tensor plain_weights(const Tensor& w, const dnnl::memory& source,
                     const dnnl::memory::desc& plain_md) {
  if (w.has_data()) return w;
  Tensor t(w.dtype(), w.shape());
  dnnl::memory dst(plain_md, engine(), t.raw());
  dnnl::memory src = source;
  dnnl::reorder(src, dst).execute(stream(), src, dst);
  stream().wait();
  return t;
}

dt to_dt(DType t) {
  switch (t) {
    case DType::kF32:
      return dt::f32;
    case DType::kU8:
      return dt::u8;
    case DType::kI8:
      return dt::s8;
    default:
      return dt::undef;
  }
}

void InputReorder::make(const dnnl::memory::desc& from, const dnnl::memory::desc& to,
                        const dnnl::primitive_attr& attr) {
  src = user_memory(from);
  dst = user_memory(to);
  prim = dnnl::reorder(dnnl::reorder::primitive_desc(engine(), from, engine(), to, attr));
}

void InputReorder::run(RunContext& ctx, int threads) {
  const Tensor& x = ctx.input(0);
  if (x.numel() == 0) return;
  set_threads(threads);
  src.set_data_handle(const_cast<void*>(x.raw()));
  dst.set_data_handle(ctx.output(0).raw());
  prim.execute(stream(), src, dst);
}

Eltwise eltwise_of(const std::string& op, float alpha, float beta) {
  using A = dnnl::algorithm;
  if (op == "Relu") return {A::eltwise_relu, 0.f, 0.f};
  if (op == "LeakyRelu") return {A::eltwise_relu, alpha, 0.f};  // x < 0: alpha * x
  if (op == "Clip") return {A::eltwise_clip, alpha, beta};      // min(max(x, lo), hi)
  if (op == "Sigmoid") return {A::eltwise_logistic, 0.f, 0.f};
  if (op == "SiLU") return {A::eltwise_swish, 1.f, 0.f};           // x * sigmoid(1 * x)
  if (op == "HardSwish") return {A::eltwise_hardswish, 0.f, 0.f};  // x * relu6(x + 3) / 6
  if (op == "Tanh") return {A::eltwise_tanh, 0.f, 0.f};
  if (op == "Elu") return {A::eltwise_elu, alpha, 0.f};         // x < 0: alpha * (e^x - 1)
  if (op == "Round") return {A::eltwise_round, 0.f, 0.f};       // nearest, ties to even
  if (op == "Linear") return {A::eltwise_linear, alpha, beta};  // alpha * x + beta
  if (op == "Neg") return {A::eltwise_linear, -1.f, 0.f};
  if (op == "Sqrt") return {A::eltwise_sqrt, 0.f, 0.f};
  if (op == "Square") return {A::eltwise_square, 0.f, 0.f};
  if (op == "Exp") return {A::eltwise_exp, 0.f, 0.f};
  if (op == "Abs") return {A::eltwise_abs, 0.f, 0.f};
  return {};
}

std::vector<PostOp> parse_post_ops(const Node& node) {
  const Attribute* names = node.attr("post_ops");
  std::vector<PostOp> ops;
  if (!names) return ops;
  const std::vector<float> a = node.attr_floats("post_alpha");
  const std::vector<float> b = node.attr_floats("post_beta");
  for (size_t i = 0; i < names->strings.size(); ++i) {
    PostOp p{names->strings[i], i < a.size() ? a[i] : 0.f, i < b.size() ? b[i] : 0.f};
    if (p.op != "Add" && eltwise_of(p.op, p.alpha, p.beta).alg == dnnl::algorithm::undef)
      fail_input("node ", node.describe(), ": unknown post-op '", p.op, "'");
    ops.push_back(p);
  }
  return ops;
}

void set_post_ops(Node& node, const std::vector<PostOp>& ops) {
  node.remove_attr("post_ops");
  node.remove_attr("post_alpha");
  node.remove_attr("post_beta");
  if (ops.empty()) return;
  Attribute names;
  names.name = "post_ops";
  names.type = AttrType::kStrings;
  std::vector<float> a, b;
  for (const PostOp& p : ops) {
    names.strings.push_back(p.op);
    a.push_back(p.alpha);
    b.push_back(p.beta);
  }
  node.attributes.push_back(names);
  node.set_attr_floats("post_alpha", a);
  node.set_attr_floats("post_beta", b);
}

dnnl::post_ops make_post_ops(const Node& node, const std::vector<PostOp>& ops,
                             const dnnl::memory::desc& add_md) {
  dnnl::post_ops po;
  for (const PostOp& p : ops) {
    if (p.op == "Add") {
      po.append_binary(dnnl::algorithm::binary_add, add_md);
    } else {
      const Eltwise e = eltwise_of(p.op, p.alpha, p.beta);
      po.append_eltwise(1.f, e.alg, e.alpha, e.beta);
    }
  }
  return po;
}

int count_adds(const std::vector<PostOp>& ops) {
  int n = 0;
  for (const PostOp& p : ops) n += p.op == "Add";
  return n;
}

bool clip_bounds(const KernelInit& init, float& lo, float& hi) {
  lo = -FLT_MAX;
  hi = FLT_MAX;
  if (init.opset < 11) {
    lo = init.node.attr_float("min", lo);
    hi = init.node.attr_float("max", hi);
    return true;
  }
  for (size_t i = 1; i <= 2; ++i) {
    if (i >= init.node.inputs.size() || init.node.inputs[i].empty()) continue;
    const Tensor* c = i < init.constants.size() ? init.constants[i] : nullptr;
    if (!c || c->numel() != 1 || c->dtype() != DType::kF32) return false;
    (i == 1 ? lo : hi) = c->data<float>()[0];
  }
  return true;
}

bool all_f32(const KernelInit& init) {
  for (size_t i = 0; i < init.input_dtypes.size(); ++i) {
    if (i < init.node.inputs.size() && init.node.inputs[i].empty()) continue;
    const DType d = init.input_dtypes[i];
    if (d != DType::kUndefined && d != DType::kF32) return false;
  }
  return true;
}

void require_f32(const Node& node, const Tensor& t, const char* what) {
  if (t.dtype() != DType::kF32)
    fail_unsupported("node ", node.describe(), ": onednn takes f32 ", what, ", got ",
                     dtype_name(t.dtype()));
}

}  // namespace edgeopt::rt::onednn
