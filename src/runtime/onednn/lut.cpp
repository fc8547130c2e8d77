// Lut (edgeopt.onednn): 8-bit → 8-bit table lookup, y[i] = table[x[i]] for u8 x and
// table[x[i] + 128] for s8 x; inputs {x, table (u8 or s8 [256], the output dtype)}. Element-wise,
// so it runs in any layout and rank.
//
// fuse_lut (called by the rewrite after the int8 fusion) makes it from a float "island" that
// int8 exports leave between a DequantizeLinear and a QuantizeLinear, e.g. SiLU:
//   q' = Q(Mul(DQ(q), Sigmoid(DQ(q))))
// With one 8-bit input and one 8-bit output the island is a function of 256 values. The island:
// a per-tensor DQ (u8/s8 input, constant scalar scale and zero point) feeding element-wise
// nodes (unary: Sigmoid, Tanh, Relu, Clip, HardSwish, HardSigmoid, LeakyRelu, Elu; binary:
// Add, Sub, Mul, Div) whose inputs are the DQ output, island values or f32 scalar constants,
// ending in one per-tensor QuantizeLinear (u8/s8 output). Island values other than the DQ
// output may have no reader outside the island and may not be graph outputs; the DQ stays when
// something else reads its output. The table is computed by the reference provider running the
// island itself (DQ, nodes, Q) on all 256 inputs, so the Lut's output is bit-identical to it.
#include <algorithm>
#include <cstring>
#include <memory>
#include <unordered_set>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "common.h"
#include "edgeopt/session.h"
#include "ir/graph_util.h"

namespace edgeopt::rt::onednn {
namespace {

bool is_default(const Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }

// Largest island (nodes between DQ and Q) considered.
constexpr size_t kMaxIsland = 16;

class LutFuser {
 public:
  explicit LutFuser(Model& m) : m_(m), g_(m.graph) {}

  void run() {
    dead_.assign(g_.nodes.size(), 0);
    for (size_t i = 0; i < g_.nodes.size(); ++i)
      if (!dead_[i]) try_q(static_cast<int>(i));
    std::vector<Node> kept;
    for (size_t i = 0; i < g_.nodes.size(); ++i)
      if (!dead_[i]) kept.push_back(std::move(g_.nodes[i]));
    g_.nodes = std::move(kept);
    g_.invalidate_index();
  }

 private:
  // A constant f32 scalar.
  bool f32_scalar(const std::string& v) {
    const Tensor* t = v.empty() ? nullptr : constant_of(g_, v);
    return t && t->dtype() == DType::kF32 && t->numel() == 1;
  }

  // Per-tensor Q / DQ: constant scalar scale (f32) and zero point (u8/s8 when present). The
  // 8-bit dtype on the quantized side, or kUndefined.
  DType per_tensor(const Node& n) {
    if (!is_default(n) || n.inputs.size() < 2 || n.outputs.size() != 1) return DType::kUndefined;
    if (n.attr_int("block_size", 0) != 0) return DType::kUndefined;
    const Tensor* s = constant_of(g_, n.input(1));
    if (!s || s->dtype() != DType::kF32 || s->numel() != 1 || s->rank() > 1)
      return DType::kUndefined;
    DType t = DType::kUndefined;
    if (!n.input(2).empty()) {
      const Tensor* z = constant_of(g_, n.input(2));
      if (!z || z->numel() != 1 || z->rank() > 1) return DType::kUndefined;
      t = z->dtype();
    } else if (n.op_type == "DequantizeLinear") {
      t = dtype_of_value(g_, n.inputs[0]);
    } else {
      t = n.has_attr("output_dtype") ? static_cast<DType>(n.attr_int("output_dtype", 0))
                                     : DType::kU8;
    }
    if (n.op_type == "DequantizeLinear") {
      const DType in = dtype_of_value(g_, n.inputs[0]);
      if (in != DType::kUndefined && in != t) return DType::kUndefined;
    }
    return is_8bit(t) ? t : DType::kUndefined;
  }

  // An element-wise node an island may hold: its data inputs (1 or 2) by index.
  bool island_op(const Node& n, std::vector<size_t>& data) {
    if (!is_default(n) || n.outputs.size() != 1 || n.inputs.empty()) return false;
    const std::string& op = n.op_type;
    const int64_t opset = m_.opset();
    if (op == "Sigmoid" || op == "Tanh" || op == "Relu" || op == "HardSwish" ||
        op == "HardSigmoid" || op == "LeakyRelu" || op == "Elu") {
      if (n.inputs.size() != 1) return false;
      data = {0};
      return true;
    }
    if (op == "Clip") {
      for (size_t i = 1; i < n.inputs.size(); ++i)
        if (!n.inputs[i].empty() && !f32_scalar(n.inputs[i])) return false;
      data = {0};
      return n.inputs.size() <= 3;
    }
    if ((op == "Add" || op == "Sub" || op == "Mul" || op == "Div") && opset >= 7 &&
        n.inputs.size() == 2) {
      data = {0, 1};
      return true;
    }
    return false;
  }

  void try_q(int qi) {
    const Node& q = g_.nodes[qi];
    if (!is_default(q) || q.op_type != "QuantizeLinear") return;
    const DType out_t = per_tensor(q);
    if (out_t == DType::kUndefined) return;
    // Walk back from the Q's input through island nodes to one DQ output.
    std::string x;  // the DQ output
    int dq = -1;
    std::vector<int> island;
    std::unordered_set<std::string> seen;
    std::vector<std::string> stack = {q.inputs[0]};
    while (!stack.empty()) {
      const std::string v = stack.back();
      stack.pop_back();
      if (!seen.insert(v).second) continue;
      const int p = g_.producer(v);
      if (p < 0 || dead_[p] || g_.is_graph_input(v)) return;
      const Node& n = g_.nodes[p];
      if (n.op_type == "DequantizeLinear" && is_default(n)) {
        if (dq >= 0 || per_tensor(n) == DType::kUndefined) return;
        dq = p;
        x = v;
        continue;
      }
      std::vector<size_t> data;
      if (!island_op(n, data) || island.size() >= kMaxIsland) return;
      island.push_back(p);
      for (size_t k : data) {
        const std::string& in = n.inputs[k];
        if (in.empty()) return;
        if (!f32_scalar(in)) stack.push_back(in);
      }
    }
    if (dq < 0 || island.empty() || constant_of(g_, g_.nodes[dq].inputs[0])) return;
    const DType in_t = per_tensor(g_.nodes[dq]);
    // A rank-1 scalar constant would raise the rank of a rank-0 (or unknown rank) island.
    const int xr = rank_of(g_, x);
    std::unordered_set<int> members(island.begin(), island.end());
    for (int i : island) {
      const Node& n = g_.nodes[i];
      for (const std::string& in : n.inputs)
        if (f32_scalar(in) && constant_of(g_, in)->rank() == 1 && xr < 1) return;
      const std::string& y = n.outputs[0];
      if (g_.is_graph_output(y)) return;
      size_t reads = 0;
      for (int r : g_.readers(y)) {
        if (r != qi && !members.count(r)) return;
        for (const std::string& in : g_.nodes[r].inputs) reads += in == y;
      }
      if (reads != g_.use_count(y)) return;  // e.g. read inside a subgraph
    }
    Tensor table;
    if (!compute_table(dq, island, qi, in_t, out_t, table)) return;
    const Node& d = g_.nodes[dq];
    const std::string src = d.inputs[0];
    const std::string name = add_constant(m_, q.outputs[0] + "_lut", std::move(table));
    Node lut;
    lut.name = q.name.empty() ? q.outputs[0] + "_lut" : q.name;
    lut.op_type = "Lut";
    lut.domain = kDomain;
    lut.inputs = {src, name};
    lut.outputs = q.outputs;
    for (int i : island) kill(i);
    g_.nodes[qi] = std::move(lut);
    g_.invalidate_index();  // node qi replaced in place
    // The DQ stays only for other readers.
    if (!g_.is_graph_output(x) && g_.use_count(x) == 0) kill(dq);
  }

  void kill(int i) {
    dead_[i] = 1;
    g_.nodes[i].inputs.clear();
    g_.nodes[i].outputs.clear();
    g_.invalidate_index();
  }

  // Runs DQ → island → Q with the reference provider on every 8-bit input value.
  bool compute_table(int dq, const std::vector<int>& island, int qi, DType in_t, DType out_t,
                     Tensor& table) {
    Model t;
    t.opset_imports = {{"", m_.opset()}};
    t.graph.name = "lut_island";
    const std::string in_name = g_.nodes[dq].inputs[0];
    ValueInfo vi;
    vi.name = in_name;
    vi.dtype = in_t;
    vi.has_shape = true;
    vi.dims = {Dim{256, ""}};
    t.graph.inputs.push_back(vi);
    ValueInfo vo;
    vo.name = g_.nodes[qi].outputs[0];
    vo.dtype = out_t;
    t.graph.outputs.push_back(vo);
    std::vector<int> order = {dq};
    order.insert(order.end(), island.begin(), island.end());
    std::sort(order.begin() + 1, order.end());  // the graph is topologically sorted
    order.push_back(qi);
    for (int i : order) {
      const Node& n = g_.nodes[i];
      for (const std::string& v : n.inputs)
        if (const Tensor* c = v.empty() ? nullptr : constant_of(g_, v))
          t.graph.add_initializer(v, *c);
      t.graph.nodes.push_back(n);
    }
    Tensor x(in_t, {256});
    for (int k = 0; k < 256; ++k) {
      if (in_t == DType::kU8)
        x.data<uint8_t>()[k] = static_cast<uint8_t>(k);
      else
        x.data<int8_t>()[k] = static_cast<int8_t>(k - 128);
    }
    try {
      Session s(std::move(t), SessionOptions{{"reference"}, 1, false, false});
      std::vector<Tensor> y = s.run({x});
      if (y.size() != 1 || y[0].dtype() != out_t || y[0].numel() != 256) return false;
      table = y[0].reshaped({256});
    } catch (const std::exception&) {
      return false;  // the island stays as it is
    }
    return true;
  }

  Model& m_;
  Graph& g_;
  std::vector<char> dead_;
};

// Eight lookups per 64-bit store (a local table: no aliasing with dst).
void lookup_scalar(const uint8_t* src, uint8_t* dst, int64_t n, const uint8_t* table) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t in, out = 0;
    std::memcpy(&in, src + i, 8);
    for (int k = 0; k < 8; ++k) out |= uint64_t{table[(in >> (8 * k)) & 0xff]} << (8 * k);
    std::memcpy(dst + i, &out, 8);
  }
  for (; i < n; ++i) dst[i] = table[src[i]];
}

#if defined(__x86_64__)
// 32 lookups at a time: the table as 16 rows of 16 bytes; pshufb looks each byte's low nibble
// up in every row, the row of its high nibble is kept (about 1.5x the scalar loop).
__attribute__((target("avx2"))) void lookup_avx2(const uint8_t* src, uint8_t* dst, int64_t n,
                                                 const uint8_t* table) {
  __m256i rows[16];
  for (int h = 0; h < 16; ++h)
    rows[h] = _mm256_broadcastsi128_si256(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(table + 16 * h)));
  const __m256i nibble = _mm256_set1_epi8(0x0f);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    const __m256i lo = _mm256_and_si256(x, nibble);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), nibble);
    __m256i y = _mm256_setzero_si256();
    for (int h = 0; h < 16; ++h) {
      const __m256i row = _mm256_cmpeq_epi8(hi, _mm256_set1_epi8(static_cast<char>(h)));
      y = _mm256_or_si256(y, _mm256_and_si256(row, _mm256_shuffle_epi8(rows[h], lo)));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), y);
  }
  lookup_scalar(src + i, dst + i, n - i, table);
}

// 64 lookups in three instructions (AVX512-VBMI): vpermi2b looks the low 7 bits up in a
// 128-byte half of the table held in two registers, once per half; the top bit picks the half.
#define EDGEOPT_VBMI __attribute__((target("avx512f,avx512bw,avx512vbmi")))
EDGEOPT_VBMI inline __m512i look64(__m512i x, const __m512i* t) {
  const __m512i lo = _mm512_permutex2var_epi8(t[0], x, t[1]);
  const __m512i hi = _mm512_permutex2var_epi8(t[2], x, t[3]);
  return _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), lo, hi);
}

// The tail is one masked load and store.
EDGEOPT_VBMI void lookup_vbmi(const uint8_t* src, uint8_t* dst, int64_t n, const uint8_t* table) {
  __m512i t[4];
  for (int k = 0; k < 4; ++k) t[k] = _mm512_loadu_si512(table + 64 * k);
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) _mm512_storeu_si512(dst + i, look64(_mm512_loadu_si512(src + i), t));
  if (i < n) {
    const __mmask64 m = (uint64_t{1} << (n - i)) - 1;  // n - i < 64
    _mm512_mask_storeu_epi8(dst + i, m, look64(_mm512_maskz_loadu_epi8(m, src + i), t));
  }
}
#undef EDGEOPT_VBMI
#endif

class Lut final : public NodeKernel {
 public:
  explicit Lut(const KernelInit& init) : NodeKernel(init), threads_(init.threads) {}

  void infer(InferContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const Tensor& t = ctx.input(1);
    if (!is_8bit(x.dtype()) || !is_8bit(t.dtype()) || t.numel() != 256)
      fail_input("node ", node_.describe(), ": Lut needs a u8/s8 input and a u8/s8 [256] table");
    ctx.set_output(0, t.dtype(), x.shape());
  }

  void run(RunContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const uint8_t* src = static_cast<const uint8_t*>(x.raw());
    uint8_t* dst = static_cast<uint8_t*>(ctx.output(0).raw());
    const int64_t n = x.numel();
    // Indexed by the input byte: for s8 the byte of v is v + 256 when v < 0, its entry v + 128.
    uint8_t table[256];
    const uint8_t* t = static_cast<const uint8_t*>(ctx.input(1).raw());
    const int flip = x.dtype() == DType::kI8 ? 0x80 : 0;
    for (int b = 0; b < 256; ++b) table[b] = t[b ^ flip];
    // Chunks of 64 KiB: below that a second thread costs more than it saves.
    constexpr int64_t kChunk = 1 << 16;
    parallel_for(threads_, (n + kChunk - 1) / kChunk, [&](int64_t begin, int64_t end) {
      const int64_t lo = begin * kChunk, hi = std::min(n, end * kChunk);
      lut_lookup_isa(src + lo, dst + lo, hi - lo, table, 2);
    });
  }

 private:
  int threads_ = 1;
};

EDGEOPT_REGISTER_KERNEL(kProvider, kDomain, "Lut", 1, INT_MAX, Lut);

}  // namespace

void fuse_lut(Model& model) { LutFuser(model).run(); }

void lut_lookup_isa(const uint8_t* src, uint8_t* dst, int64_t n, const uint8_t* table,
                    int max_isa) {
#if defined(__x86_64__)
  static const int cpu_isa = [] {
    if (__builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bw")) return 2;
    return __builtin_cpu_supports("avx2") ? 1 : 0;
  }();
  switch (std::min(cpu_isa, max_isa)) {
    case 2:
      return lookup_vbmi(src, dst, n, table);
    case 1:
      return lookup_avx2(src, dst, n, table);
    default:
      break;
  }
#else
  (void)max_isa;
#endif
  lookup_scalar(src, dst, n, table);
}

}  // namespace edgeopt::rt::onednn
