// Structured (channel) pruning with dependency groups.
//
// Every activation with a channel axis (axis 1: NCHW feature maps, [N,
// features] matrices) gets a layout: the list of channel spaces it is made of.
// A space is the set of output channels created by one producer (a Conv with
// group 1, a Gemm, a MatMul by a constant). Walking the graph in topological
// order:
//   - element-wise ops, pooling, reductions over the spatial axes,
//   BatchNormalization and depthwise convs pass the layout on;
//   - a grouped conv (1 < group, not depthwise) creates a space of G equal
//   blocks and marks its input's space as G equal blocks too: both lose the
//   same number of channels in every block, so the conv stays a G-group conv
//   (Cin/G and Cout/G shrink alike in every group);
//   - a residual Add (or any element-wise op of two activations) unites the
//   spaces of its
//     inputs: they must lose the same channels;
//   - Concat on axis 1 concatenates layouts (each part keeps its own space, at
//   an offset);
//   - Flatten / Reshape to [N, C·H·W] keeps the spaces, each channel now H·W
//   columns wide;
//   - ShuffleNetV2's channel shuffle (Reshape [N, 2, C/2, H, W], Transpose,
//   Reshape back) of Concat(first half of the stream, new channels) and the
//   Slices that halve the stream again are followed (see Derived): their
//   channels are the kept channels of their inputs, permuted, and the
//   producers feeding the stream keep channels by lifetime;
//   - an op edgeopt does not understand, a graph output, or an excluded node
//   blocks the spaces
//     it touches: they keep every channel.
// Each united set of spaces is one group. Its channels are scored (L1 / L2 norm
// of each producer's output-channel weights, summed over the group's producers,
// or |gamma| of its BatchNormalizations), the lowest `ratio` of them are
// removed (in a space of G blocks: the lowest of every block, the same count
// in each), and every weight recorded along the way (producer output axis,
// pass-through vectors, consumer input axis, Gemm columns c·H·W .. c·H·W + H·W
// - 1) is sliced to the kept channels. A grouped conv's weight [Cout, Cin/G, k..]
// is cut on both axes at once: row o (group g = o / (Cout/G)) keeps the columns
// of the kept input channels of block g, shifted to g's own range.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <set>

#include "compress/prune/prune_util.h"
#include "edgeopt/error.h"
#include "edgeopt/passes.h"
#include "edgeopt/prune.h"
#include "ir/graph_util.h"

namespace edgeopt {
namespace {

// `channels` channels of space `space`, each `inner` consecutive entries wide.
// `derived` >= 0: the channels are those of a channel shuffle's output or of a
// slice of one (ChannelPruner::derived_), not of a space.
struct Segment {
  int space;
  int64_t channels;
  int64_t inner;
  int derived = -1;
};
using Layout = std::vector<Segment>;

// ShuffleNetV2's channel stream: a shuffle of g = 2 groups of Concat(x1, y)
// where x1 is the first half of the previous shuffle's output (or, at a stage's
// first block, a producer's channels) and y a producer's channels; each block
// slices the stream into halves again. Stream position p of width 2n passes
// to position 2p of the next block's stream while p < n, and is consumed (the
// second half goes into the block's branch) once p >= n: its lifetime is
// L(p) = min{k : 2^k·p >= n}. The pruned stream (width 2n') slices at n', so a
// kept channel must have the same lifetime at its pruned position as at its
// original one: a producer whose channel i sits at position 2i + parity keeps,
// for every lifetime l, exactly as many channels of lifetime l as pruned
// positions 2j + parity (j < n') have.
struct Derived {
  enum Kind { kShuffle, kSlice } kind;
  int node;       // the shuffle's first Reshape, or the Slice
  Layout input;   // the Concat's layout (kShuffle) or the sliced stream (kSlice)
  int64_t begin;  // kSlice: original channel range [begin, end)
  int64_t end;
  int chain;  // kShuffle: index of the first shuffle of its stage (a union-find root)
};

int64_t lifetime(int64_t p, int64_t n) {
  if (p == 0) return std::numeric_limits<int64_t>::max();
  int64_t k = 0;
  for (; p < n; p *= 2) ++k;
  return k;
}

int64_t layout_width(const Layout &l) {
  int64_t w = 0;
  for (const Segment &s : l) w += s.channels * s.inner;
  return w;
}

// A constant input sliced along `axis` to the kept entries of `layout`; for
// kGroup, the group attribute set to the kept width of a depthwise conv; for
// kGroupedWeight, a grouped conv weight cut to the kept output channels
// (`layout`) and, within each group, the kept input channels (`in_layout`,
// empty when the input has no prunable channels).
struct Action {
  enum Kind { kSlice, kGroup, kGroupedWeight } kind;
  int node;
  int input;
  int axis;
  Layout layout;
  Layout in_layout = {};
};

// A weight whose entries along `axis` score the channels of `layout`.
struct Scorer {
  int node;
  int input;
  int axis;
  Layout layout;
};

class ChannelPruner {
 public:
  ChannelPruner(Model &m, const StructuredPruneOptions &o) : model_(m), g_(m.graph), opt_(o) {}

  StructuredPruneReport run();

 private:
  int new_space(int64_t channels, int producer) {
    spaces_.push_back({static_cast<int>(spaces_.size()), channels, "", {}, 1});
    if (producer >= 0) spaces_.back().producers.push_back(producer);
    return static_cast<int>(spaces_.size()) - 1;
  }
  int root(int s) {
    while (spaces_[s].parent != s) s = spaces_[s].parent = spaces_[spaces_[s].parent].parent;
    return s;
  }
  void block(int s, const std::string &why) {
    std::string &b = spaces_[root(s)].blocked;
    if (b.empty()) b = why;
  }
  void block(const Layout &l, const std::string &why) {
    for (const Segment &s : l) {
      if (s.derived >= 0)
        block(derived_[s.derived].input, why);
      else
        block(s.space, why);
    }
  }
  void unite(int a, int b) {
    a = root(a), b = root(b);
    if (a == b) return;
    if (spaces_[a].channels != spaces_[b].channels) {
      block(a, "united with a space of another width");
      block(b, "united with a space of another width");
      return;
    }
    if (spaces_[a].parity >= 0 || spaces_[b].parity >= 0) {
      block(a, "channel-shuffled channels united with others");
      block(b, "channel-shuffled channels united with others");
    }
    spaces_[b].parent = a;
    for (int p : spaces_[b].producers) spaces_[a].producers.push_back(p);
    if (spaces_[a].blocked.empty()) spaces_[a].blocked = spaces_[b].blocked;
    set_blocks(a, spaces_[b].blocks, "united with a grouped convolution's channels");
  }
  // Space `s` must lose the same number of channels in each of `blocks` equal
  // runs. Two such constraints hold together when the width splits into
  // lcm(blocks) runs.
  void set_blocks(int s, int64_t blocks, const std::string &why) {
    s = root(s);
    const int64_t l = std::lcm(spaces_[s].blocks, blocks);
    if (spaces_[s].channels % l != 0) {
      block(s, why + ": " + std::to_string(spaces_[s].channels) + " channels in " +
                   std::to_string(spaces_[s].blocks) + " and " + std::to_string(blocks) +
                   " equal groups");
      return;
    }
    spaces_[s].blocks = l;
  }
  // Element-wise combination of two layouts: the same channel must go from
  // both.
  bool unite(const Layout &a, const Layout &b) {
    bool same = a.size() == b.size();
    for (const Layout *l : {&a, &b})
      for (const Segment &s : *l) same = same && s.derived < 0 && spaces_[root(s.space)].parity < 0;
    for (size_t i = 0; same && i < a.size(); ++i)
      same = a[i].channels == b[i].channels && a[i].inner == b[i].inner;
    if (!same) {
      block(a, "element-wise op on differently concatenated inputs");
      block(b, "element-wise op on differently concatenated inputs");
      return false;
    }
    for (size_t i = 0; i < a.size(); ++i) unite(a[i].space, b[i].space);
    return true;
  }
  const Layout *layout_of(const std::string &v) const {
    auto it = layouts_.find(v);
    return it == layouts_.end() ? nullptr : &it->second;
  }
  // Records that constant input `input` of node `n` is sliced along `axis` like
  // `l`; blocks `l` when the input is not a constant of matching width.
  bool slice(int n, int input, int axis, const Layout &l) {
    const Tensor *t = constant_of(g_, g_.nodes[n].input(input));
    if (!t || axis >= t->rank() || t->dim(axis) != layout_width(l)) {
      block(l, g_.nodes[n].describe() + " input " + std::to_string(input) +
                   " is not a constant matching the channels");
      return false;
    }
    actions_.push_back({Action::kSlice, n, input, axis, l});
    return true;
  }
  void block_inputs(int n, const std::string &why) {
    for (const std::string &in : g_.nodes[n].inputs)
      if (const Layout *l = layout_of(in)) block(*l, why);
  }
  void visit(int n);
  void visit_conv(int n);
  void visit_grouped_conv(int n, const Layout *in, int64_t group);
  void visit_reduce(int n);
  void visit_shuffle(int n);
  void visit_slice(int n);
  bool stream_half(const Segment &seg, int64_t half, int parity);
  int chain_root(int d) {
    while (derived_[d].chain != d) d = derived_[d].chain;
    return d;
  }
  void check_chains();
  std::vector<int64_t> keep_by_lifetime(int root_space, int64_t keep, std::string *why);
  std::vector<int64_t> derived_kept(int d, int64_t *first = nullptr);
  void rewrite_shuffles();
  void visit_gemm(int n);
  void visit_matmul(int n);
  void visit_elementwise(int n);
  void visit_concat(int n);
  void visit_flatten(int n, bool reshape);
  int64_t channel_shuffle_groups(int n) const;
  std::vector<double> score(int root_space);
  int64_t keep_count(int64_t c) const;
  std::vector<int64_t> kept_indices(const Layout &l);
  std::vector<int64_t> keep_in_blocks(int root_space, int64_t keep_per_block);
  Tensor grouped_weight(const Action &a);

  struct Space {
    int parent;
    int64_t channels;
    std::string blocked;
    std::vector<int> producers;
    int64_t blocks;           // equal runs that must keep the same count (grouped convs)
    int parity = -1;          // >= 0: channel i sits at position 2i + parity of a shuffled stream
    int64_t stream_half = 0;  // ... of width 2·stream_half
  };
  std::vector<Derived> derived_;
  Model &model_;
  Graph &g_;
  const StructuredPruneOptions &opt_;
  std::vector<Space> spaces_;
  std::map<std::string, Layout> layouts_;
  std::vector<Action> actions_;
  std::vector<Scorer> weight_scorers_, bn_scorers_;
  std::map<int, std::vector<int64_t>> keep_;  // root space → kept channels (pruned roots only)
};

// Dims of a value (symbolic ones too: the batch is often symbolic), when its
// rank is known.
std::optional<std::vector<Dim>> dims_of(const Graph &g, const std::string &name) {
  if (const Tensor *t = constant_of(g, name)) {
    std::vector<Dim> d;
    for (int64_t v : t->shape()) d.push_back({v, ""});
    return d;
  }
  const ValueInfo *vi = g.find_value_info(name);
  if (!vi || !vi->has_shape || !vi->raw_type.empty()) return std::nullopt;
  return vi->dims;
}

const std::set<std::string> &pass_through_ops() {
  static const std::set<std::string> ops = {"Relu",
                                            "Clip",
                                            "Sigmoid",
                                            "Tanh",
                                            "LeakyRelu",
                                            "HardSigmoid",
                                            "HardSwish",
                                            "Elu",
                                            "Selu",
                                            "Softplus",
                                            "Softsign",
                                            "Identity",
                                            "Dropout",
                                            "Neg",
                                            "Abs",
                                            "Exp",
                                            "Sqrt",
                                            "Erf",
                                            "Gelu",
                                            "Mish",
                                            "Celu",
                                            "ThresholdedRelu",
                                            "Cast",
                                            "MaxPool",
                                            "AveragePool",
                                            "LpPool",
                                            "GlobalAveragePool",
                                            "GlobalMaxPool",
                                            "GlobalLpPool"};
  return ops;
}

const std::set<std::string> &elementwise_ops() {
  static const std::set<std::string> ops = {"Add", "Sub", "Mul",  "Div",   "Max",
                                            "Min", "Sum", "Mean", "PRelu", "Pow"};
  return ops;
}

void ChannelPruner::visit(int n) {
  const Node &node = g_.nodes[n];
  const std::string &op = node.op_type;
  const bool default_domain = node.domain.empty() || node.domain == "ai.onnx";
  if (!default_domain || has_subgraph(node)) {
    block_inputs(n, node.describe() + " is not understood by the pruner");
    // What its subgraphs (If branches, Loop and Scan bodies) read from this graph is an input
    // too, one the pruner cannot rewrite.
    for (const std::string &v : node.outer_reads())
      if (const Layout *l = layout_of(v)) block(*l, node.describe() + " reads it in a subgraph");
  } else if (op == "Conv") {
    visit_conv(n);
  } else if (op == "Gemm") {
    visit_gemm(n);
  } else if (op == "MatMul") {
    visit_matmul(n);
  } else if (op == "BatchNormalization") {
    const Layout *l = layout_of(node.input(0));
    if (l) {
      // scale, B, mean, var are per channel (the training outputs are not used
      // at inference).
      for (int i = 1; i <= 4; ++i)
        if (!slice(n, i, 0, *l)) break;
      layouts_[node.outputs[0]] = *l;
    }
  } else if (pass_through_ops().count(op)) {
    if (const Layout *l = layout_of(node.input(0))) {
      // Clip's min / max are scalars by definition; other extra inputs must be
      // constants.
      for (size_t i = 1; i < node.inputs.size() && op != "Clip"; ++i)
        if (!node.inputs[i].empty() && !constant_of(g_, node.inputs[i]))
          block(*l, node.describe() + " has a non-constant parameter");
      layouts_[node.outputs[0]] = *l;
      // MaxPool indices and Dropout masks are not followed.
      for (size_t i = 1; i < node.outputs.size(); ++i)
        if (!node.outputs[i].empty() && g_.use_count(node.outputs[i]))
          block(*l, node.describe() + " second output is used");
    }
  } else if (elementwise_ops().count(op)) {
    visit_elementwise(n);
  } else if (op == "Concat") {
    visit_concat(n);
  } else if (op == "Flatten") {
    visit_flatten(n, false);
  } else if (op == "Reshape" && channel_shuffle_groups(n) == 2) {
    visit_shuffle(n);
  } else if (op == "Reshape") {
    visit_flatten(n, true);
  } else if (op == "Slice") {
    visit_slice(n);
  } else if (op == "ReduceMean" || op == "ReduceMax" || op == "ReduceMin" || op == "ReduceSum" ||
             op == "ReduceL1" || op == "ReduceL2") {
    visit_reduce(n);
  } else {
    block_inputs(n, node.describe() + " is not understood by the pruner");
  }
}

void ChannelPruner::visit_conv(int n) {
  const Node &node = g_.nodes[n];
  const Layout *in = layout_of(node.input(0));
  const Tensor *w = constant_of(g_, node.input(1));
  const std::string &bias = node.input(2);
  if (!w || w->rank() < 3 || (!bias.empty() && !constant_of(g_, bias))) {
    if (in) block(*in, node.describe() + " has non-constant weights");
    return;
  }
  const int64_t group = node.attr_int("group", 1);
  const int64_t cout = w->dim(0), cin = w->dim(1) * group;
  if (group == 1) {
    if (in) slice(n, 1, 1, *in);
    const int s = new_space(cout, n);
    const Layout out = {{s, cout, 1}};
    layouts_[node.outputs[0]] = out;
    actions_.push_back({Action::kSlice, n, 1, 0, out});
    if (!bias.empty()) slice(n, 2, 0, out);
    weight_scorers_.push_back({n, 1, 0, out});
  } else if (group == cin && cout == cin && in) {
    // Depthwise with multiplier 1: output channel c is input channel c filtered
    // alone, so its channels are its producer's; its filters, bias and group
    // count follow them.
    const Layout l = *in;
    layouts_[node.outputs[0]] = l;
    slice(n, 1, 0, l);
    if (!bias.empty()) slice(n, 2, 0, l);
    actions_.push_back({Action::kGroup, n, 0, 0, l});
  } else {
    visit_grouped_conv(n, in, group);
  }
}

// Output channel o of a G-group conv reads input channels g·Cin/G ..
// (g+1)·Cin/G - 1 of its group g = o / (Cout/G). Keeping the same count of
// input channels and of output channels in every group keeps a valid G-group
// conv whose kept outputs compute what they computed before.
void ChannelPruner::visit_grouped_conv(int n, const Layout *in, int64_t group) {
  const Node &node = g_.nodes[n];
  const Tensor &w = *constant_of(g_, node.input(1));
  const int64_t cout = w.dim(0), cin = w.dim(1) * group;
  const std::string what = node.describe() + " (group " + std::to_string(group) + ")";
  const int s = new_space(cout, n);
  const Layout out = {{s, cout, 1}};
  layouts_[node.outputs[0]] = out;
  if (cout % group != 0) {
    block(s, what + " has " + std::to_string(cout) + " outputs, not a multiple of the groups");
    if (in) block(*in, what + " has outputs that are not a multiple of the groups");
    return;
  }
  set_blocks(s, group, what + " output");
  Layout in_layout;
  if (in) {
    if (in->size() == 1 && (*in)[0].inner == 1 && (*in)[0].channels == cin &&
        (*in)[0].derived < 0 && spaces_[root((*in)[0].space)].parity < 0) {
      in_layout = *in;
      set_blocks((*in)[0].space, group, what + " input");
    } else {
      block(*in, what + " reads a concatenation of several channel spaces");
      in_layout.clear();
    }
  }
  actions_.push_back({Action::kGroupedWeight, n, 1, 0, out, in_layout});
  if (!node.input(2).empty()) slice(n, 2, 0, out);
  weight_scorers_.push_back({n, 1, 0, out});
}

// A reduction over axes other than the batch and the channel axis keeps axis 1
// as the channels (keepdims or not).
void ChannelPruner::visit_reduce(int n) {
  const Node &node = g_.nodes[n];
  const Layout *l = layout_of(node.input(0));
  if (!l) return;
  const int rank = rank_of(g_, node.input(0));
  std::vector<int64_t> axes = node.attr_ints("axes");
  if (node.inputs.size() > 1 && !node.input(1).empty()) {
    const Tensor *t = constant_of(g_, node.input(1));
    if (!t || t->dtype() != DType::kI64) {
      block(*l, node.describe() + " has non-constant axes");
      return;
    }
    axes.assign(t->data<int64_t>(), t->data<int64_t>() + t->numel());
  }
  bool ok = rank >= 2 && !axes.empty();
  for (int64_t a : axes) ok = ok && (a < 0 ? a + rank : a) >= 2;
  for (const Segment &s : *l) ok = ok && s.inner == 1;
  if (!ok) {
    block(*l, node.describe() + " reduces the batch or channel axis (or its rank is unknown)");
    return;
  }
  layouts_[node.outputs[0]] = *l;
}

void ChannelPruner::visit_gemm(int n) {
  const Node &node = g_.nodes[n];
  const Layout *in = layout_of(node.input(0));
  const Tensor *b = constant_of(g_, node.input(1));
  const std::string &bias = node.input(2);
  const Tensor *c = bias.empty() ? nullptr : constant_of(g_, bias);
  if (!b || b->rank() != 2 || node.attr_int("transA", 0) || (!bias.empty() && !c)) {
    if (in) block(*in, node.describe() + " is not x·W + b with constant W, b");
    return;
  }
  const bool trans_b = node.attr_int("transB", 0) != 0;
  if (in) slice(n, 1, trans_b ? 1 : 0, *in);
  const int64_t nout = b->dim(trans_b ? 0 : 1);
  const int s = new_space(nout, n);
  const Layout out = {{s, nout, 1}};
  layouts_[node.outputs[0]] = out;
  actions_.push_back({Action::kSlice, n, 1, trans_b ? 0 : 1, out});
  weight_scorers_.push_back({n, 1, trans_b ? 0 : 1, out});
  // C broadcasts to [M, N]: slice its last axis when it spans the N outputs.
  if (c && c->rank() >= 1 && c->dim(-1) == nout && nout > 1) slice(n, 2, c->rank() - 1, out);
}

void ChannelPruner::visit_matmul(int n) {
  const Node &node = g_.nodes[n];
  const Layout *in = layout_of(node.input(0));
  const Tensor *w = constant_of(g_, node.input(1));
  if (!w || w->rank() != 2 || rank_of(g_, node.input(0)) != 2) {
    block_inputs(n, node.describe() + " is not a 2-D x·W with constant W");
    return;
  }
  if (in) slice(n, 1, 0, *in);
  const int s = new_space(w->dim(1), n);
  const Layout out = {{s, w->dim(1), 1}};
  layouts_[node.outputs[0]] = out;
  actions_.push_back({Action::kSlice, n, 1, 1, out});
  weight_scorers_.push_back({n, 1, 1, out});
}

void ChannelPruner::visit_elementwise(int n) {
  const Node &node = g_.nodes[n];
  const Layout *first = nullptr;
  for (const std::string &in : node.inputs)
    if (const Layout *l = layout_of(in)) {
      if (!first)
        first = l;
      else
        unite(*first, *l);
    }
  if (!first) return;
  const Layout out = *first;
  const int rank = rank_of(g_, node.outputs[0]);
  if (rank < 2) {
    block_inputs(n, node.describe() + " output rank is unknown");
    return;
  }
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const std::string &in = node.inputs[i];
    if (in.empty()) continue;
    if (layout_of(in)) {
      if (rank_of(g_, in) != rank)
        block(out, node.describe() + " broadcasts an activation over the channel axis");
      continue;
    }
    // The other operand broadcasts against [N, C, ...]: its dim aligned with
    // axis 1 is sliced when it runs over the channels (a [C,1,1] scale), else
    // it is channel-independent.
    std::optional<std::vector<Dim>> dims = dims_of(g_, in);
    const int pos = dims ? 1 - (rank - static_cast<int>(dims->size())) : -1;
    if (!dims || (pos >= 0 && !(*dims)[pos].is_static())) {
      block(out, node.describe() + " operand " + in + " has an unknown shape");
      continue;
    }
    if (pos < 0 || (*dims)[pos].value == 1) continue;
    if (!constant_of(g_, in))
      block(out, node.describe() + " operand " + in + " runs over the channels");
    else
      slice(n, static_cast<int>(i), pos, out);
  }
  layouts_[node.outputs[0]] = out;
}

void ChannelPruner::visit_concat(int n) {
  const Node &node = g_.nodes[n];
  const int rank = rank_of(g_, node.outputs[0]);
  int64_t axis = node.attr_int("axis", 0);
  if (rank > 0 && axis < 0) axis += rank;
  bool any = false;
  for (const std::string &in : node.inputs) any = any || layout_of(in);
  if (!any) return;
  if (axis != 1) {
    block_inputs(n, node.describe() + " concatenates along an axis other than channels");
    return;
  }
  Layout out;
  for (const std::string &in : node.inputs) {
    if (const Layout *l = layout_of(in)) {
      out.insert(out.end(), l->begin(), l->end());
      continue;
    }
    std::optional<std::vector<Dim>> dims = dims_of(g_, in);
    if (!dims || dims->size() < 2 || !(*dims)[1].is_static()) {
      block_inputs(n, node.describe() + " input " + in + " has an unknown width");
      return;
    }
    // An input with no producer channels (a graph input) becomes a space that
    // keeps all.
    const int64_t width = (*dims)[1].value;
    const int s = new_space(width, -1);
    block(s, "concatenated graph input");
    out.push_back({s, width, 1});
  }
  for (const Segment &s : out)
    if (s.inner != 1) {
      block(out, node.describe() + " concatenates flattened inputs");
      return;
    }
  layouts_[node.outputs[0]] = out;
}

// g when Reshape `n` is the start of ShuffleNet's channel shuffle as torch.onnx
// exports it: Reshape [N, C, H, W] → [N, g, C/g, H, W], Transpose perm
// [0, 2, 1, 3, 4], Reshape back to rank 4; else 0.
int64_t ChannelPruner::channel_shuffle_groups(int n) const {
  const Node &node = g_.nodes[n];
  std::optional<std::vector<Dim>> out = dims_of(g_, node.outputs[0]);
  if (!out || out->size() != 5 || !(*out)[1].is_static()) return 0;
  const std::vector<int> t = g_.consumers(node.outputs[0]);
  if (t.size() != 1 || g_.nodes[t[0]].op_type != "Transpose" ||
      g_.nodes[t[0]].attr_ints("perm") != std::vector<int64_t>{0, 2, 1, 3, 4})
    return 0;
  const std::vector<int> r = g_.consumers(g_.nodes[t[0]].outputs[0]);
  if (r.size() != 1 || g_.nodes[r[0]].op_type != "Reshape" ||
      rank_of(g_, g_.nodes[r[0]].outputs[0]) != 4)
    return 0;
  return (*out)[1].value;
}

// One half of a shuffle's input, [half·parity, half·(parity+1)): either a
// producer's whole space (it takes the stream's lifetime rule) or the first
// half of an earlier shuffle of the same width (the stream passed on).
bool ChannelPruner::stream_half(const Segment &seg, int64_t half, int parity) {
  if (seg.channels != half || seg.inner != 1) return false;
  if (seg.derived >= 0) {
    const Derived &d = derived_[seg.derived];
    if (d.kind != Derived::kSlice || d.begin != 0 || d.end != half) return false;
    const Segment &src = d.input[0];
    return parity == 0 && src.derived >= 0 && derived_[src.derived].kind == Derived::kShuffle &&
           src.channels == 2 * half;
  }
  const Space &sp = spaces_[root(seg.space)];
  return sp.producers.size() == 1 && sp.blocks == 1 && sp.parity < 0;
}

void ChannelPruner::visit_shuffle(int n) {
  const Node &node = g_.nodes[n];
  const Layout *in = layout_of(node.input(0));
  if (!in) return;
  const int64_t width = layout_width(*in), half = width / 2;
  const std::string why = node.describe() +
                          " starts a channel shuffle that is not ShuffleNetV2's Concat(first "
                          "half of the stream, new channels) of two equal halves";
  // The Concat's two halves, each a single segment.
  const bool same = in->size() == 2 && (*in)[0].derived < 0 && (*in)[1].derived < 0 &&
                    root((*in)[0].space) == root((*in)[1].space);
  if (width % 2 || in->size() != 2 || same || !stream_half((*in)[0], half, 0) ||
      !stream_half((*in)[1], half, 1)) {
    block(*in, why);
    return;
  }
  for (int parity : {0, 1}) {
    const Segment &seg = (*in)[parity];
    if (seg.derived >= 0) continue;
    spaces_[root(seg.space)].parity = parity;
    spaces_[root(seg.space)].stream_half = half;
  }
  const int d = static_cast<int>(derived_.size());
  int chain = d;
  if ((*in)[0].derived >= 0) chain = chain_root(derived_[(*in)[0].derived].input[0].derived);
  derived_.push_back({Derived::kShuffle, n, *in, 0, width, chain});
  // The shuffle's last Reshape carries the stream.
  const int t = g_.consumers(node.outputs[0])[0];
  const int r = g_.consumers(g_.nodes[t].outputs[0])[0];
  layouts_[g_.nodes[r].outputs[0]] = {{-1, width, 1, d}};
}

// Slice of the channel axis: the halves of a shuffled stream are followed, other
// channel slices are not.
void ChannelPruner::visit_slice(int n) {
  const Node &node = g_.nodes[n];
  const Layout *in = layout_of(node.input(0));
  if (!in) return;
  auto scalar = [&](int i, int64_t def) -> std::optional<int64_t> {
    if (node.inputs.size() <= static_cast<size_t>(i) || node.input(i).empty()) return def;
    const Tensor *t = constant_of(g_, node.input(i));
    if (!t || t->numel() != 1 || t->dtype() != DType::kI64) return std::nullopt;
    return t->data<int64_t>()[0];
  };
  const int rank = rank_of(g_, node.input(0));
  const std::optional<int64_t> start = scalar(1, 0), end = scalar(2, 0), axis = scalar(3, 0),
                               step = scalar(4, 1);
  const int64_t width = layout_width(*in);
  bool ok = start && end && axis && step && *step == 1 && rank > 1 &&
            (*axis == 1 || *axis == 1 - rank) && in->size() == 1 && (*in)[0].derived >= 0 &&
            derived_[(*in)[0].derived].kind == Derived::kShuffle;
  const int64_t b = ok ? std::clamp<int64_t>(*start, 0, width) : 0;
  const int64_t e = ok ? std::clamp<int64_t>(*end, 0, width) : 0;
  ok = ok && ((b == 0 && e == width / 2) || (b == width / 2 && e == width));
  if (!ok) {
    block(*in, node.describe() + " slices channels other than a channel shuffle's halves");
    return;
  }
  const int d = static_cast<int>(derived_.size());
  derived_.push_back({Derived::kSlice, n, *in, b, e, -1});
  layouts_[node.outputs[0]] = {{-1, e - b, 1, d}};
}

// A stage's shuffles prune together or not at all: every stream must keep n'
// of n channels per half. A chain with a blocked space (or a producer whose
// lifetimes leave no choice) is blocked whole.
void ChannelPruner::check_chains() {
  std::map<int, std::vector<int>> spaces;  // chain → producer spaces
  for (size_t d = 0; d < derived_.size(); ++d) {
    if (derived_[d].kind != Derived::kShuffle) continue;
    for (const Segment &s : derived_[d].input)
      if (s.derived < 0) spaces[chain_root(static_cast<int>(d))].push_back(root(s.space));
  }
  for (const auto &[chain, members] : spaces) {
    std::string why;
    for (int s : members) {
      if (!spaces_[s].blocked.empty()) {
        why = spaces_[s].blocked;
        break;
      }
      const int64_t keep = keep_count(spaces_[s].channels);
      if (keep < spaces_[s].channels) keep_by_lifetime(s, keep, &why);
      if (!why.empty()) break;
    }
    if (why.empty()) continue;
    for (int s : members) block(s, "same channel-shuffle stream as a kept group (" + why + ")");
  }
}

// The channels root space `r` keeps in a shuffled stream (see Derived): for
// each lifetime, the highest scores, as many as the pruned stream has slots of
// that lifetime. Lifetimes fall as positions grow, so sorted channels land on
// the slots of their own lifetime.
std::vector<int64_t> ChannelPruner::keep_by_lifetime(int r, int64_t keep, std::string *why) {
  const Space &sp = spaces_[r];
  const int64_t n = sp.stream_half;
  std::map<int64_t, std::vector<int64_t>> by_life;  // lifetime → channels
  for (int64_t i = 0; i < n; ++i) by_life[lifetime(2 * i + sp.parity, n)].push_back(i);
  std::map<int64_t, int64_t> slots;  // lifetime → pruned positions 2j + parity, j < keep
  for (int64_t j = 0; j < keep; ++j) ++slots[lifetime(2 * j + sp.parity, keep)];
  const std::vector<double> sc = score(r);
  std::vector<int64_t> kept;
  for (const auto &[life, count] : slots) {
    std::vector<int64_t> &ch = by_life[life];
    if (static_cast<int64_t>(ch.size()) < count) {
      if (why) *why = "the channel shuffle leaves no consistent choice of channels";
      return {};
    }
    std::stable_sort(ch.begin(), ch.end(), [&](int64_t x, int64_t y) { return sc[x] > sc[y]; });
    kept.insert(kept.end(), ch.begin(), ch.begin() + count);
  }
  std::sort(kept.begin(), kept.end());
  return kept;
}

// The original channels of derived activation `d`, in pruned order; for a
// slice, `first` gets where its kept channels start in the pruned input.
std::vector<int64_t> ChannelPruner::derived_kept(int d, int64_t *first) {
  const Derived &dv = derived_[d];
  const std::vector<int64_t> in = kept_indices(dv.input);
  std::vector<int64_t> out;
  if (dv.kind == Derived::kShuffle) {
    // Reshape [N, 2, C/2, ...], swap the two axes, Reshape back: output
    // position 2i + k holds input position k·C/2 + i.
    const int64_t half = layout_width(dv.input) / 2,
                  kept_half = static_cast<int64_t>(in.size()) / 2;
    for (int64_t p = 0; p < 2 * kept_half; ++p) {
      const int64_t q = in[(p % 2) * kept_half + p / 2];
      out.push_back((q % half) * 2 + q / half);
    }
    return out;
  }
  int64_t at = -1;
  for (size_t k = 0; k < in.size(); ++k) {
    if (in[k] < dv.begin || in[k] >= dv.end) continue;
    if (at < 0) at = static_cast<int64_t>(k);
    if (static_cast<int64_t>(k) != at + static_cast<int64_t>(out.size()))
      fail(ErrorKind::kInternal, g_.nodes[dv.node].describe(),
           ": the pruned channel shuffle split its halves");
    out.push_back(in[k] - dv.begin);
  }
  if (first) *first = std::max<int64_t>(at, 0);
  return out;
}

// Pruned widths into the shuffles' first Reshape ([N, 2, C'/2, ...]; the last
// one reads -1 or C) and into the Slices' starts / ends.
void ChannelPruner::rewrite_shuffles() {
  for (size_t d = 0; d < derived_.size(); ++d) {
    const Derived &dv = derived_[d];
    if (dv.kind == Derived::kSlice) {
      int64_t first = 0;
      const int64_t count = static_cast<int64_t>(derived_kept(static_cast<int>(d), &first).size());
      for (int i : {1, 2}) {
        Tensor t(DType::kI64, {1});
        t.data<int64_t>()[0] = i == 1 ? first : first + count;
        compress::set_node_constant(model_, dv.node, i, std::move(t));
      }
      continue;
    }
    const int64_t kept = static_cast<int64_t>(kept_indices(dv.input).size());
    const int64_t width = layout_width(dv.input);
    const int t = g_.consumers(g_.nodes[dv.node].outputs[0])[0];
    const int last = g_.consumers(g_.nodes[t].outputs[0])[0];
    for (auto [node, axis, from, to] :
         {std::tuple{dv.node, 2, width / 2, kept / 2}, std::tuple{last, 1, width, kept}}) {
      const Tensor *shape = constant_of(g_, g_.nodes[node].input(1));
      if (!shape || shape->dtype() != DType::kI64 || shape->numel() <= axis)
        fail(ErrorKind::kInternal, g_.nodes[node].describe(), ": shape is not constant");
      if (shape->data<int64_t>()[axis] != from) continue;  // -1 or 0 needs no change
      Tensor c = shape->clone();
      c.data<int64_t>()[axis] = to;
      compress::set_node_constant(model_, node, 1, std::move(c));
    }
  }
}

void ChannelPruner::visit_flatten(int n, bool reshape) {
  const Node &node = g_.nodes[n];
  const Layout *l = layout_of(node.input(0));
  if (!l) return;
  // The batch may be symbolic; the flattened dims must be static.
  std::optional<std::vector<Dim>> in = dims_of(g_, node.input(0));
  std::optional<std::vector<Dim>> out = dims_of(g_, node.outputs[0]);
  bool ok = in && in->size() >= 2 && out && out->size() == 2 && (*out)[1].is_static();
  if (reshape)
    ok = ok && ((*out)[0] == (*in)[0]);
  else
    ok = ok && node.attr_int("axis", 1) == 1;
  int64_t spatial = 1;
  for (size_t i = 1; ok && i < in->size(); ++i) {
    ok = (*in)[i].is_static();
    if (i >= 2) spatial *= (*in)[i].value;
  }
  ok = ok && (*out)[1].value == (*in)[1].value * spatial;
  for (const Segment &s : *l) ok = ok && s.inner == 1;
  if (!ok) {
    const int64_t groups = reshape ? channel_shuffle_groups(n) : 0;
    if (groups)
      block(*l, node.describe() + " starts a channel shuffle of " + std::to_string(groups) +
                    " groups (Reshape, Transpose, Reshape), which the pruner does not follow");
    else
      block(*l, node.describe() + " is not a flatten of [N, C, ...] to [N, C·...]");
    return;
  }
  if (reshape) {
    // A constant target shape [N, C·H·W] (an exporter's, or one shape folding made) would keep
    // the unpruned width: make it [N, -1], the same reshape for the model as it is, and right
    // for any width pruning leaves.
    const Tensor *shape = constant_of(g_, node.input(1));
    if (!shape || shape->numel() != 2 || shape->dtype() != DType::kI64 ||
        shape->data<int64_t>()[0] == -1) {
      if (!shape) {
        // Computed at run time from the input's shape: follows the pruned width by itself.
      } else {
        block(*l, node.describe() + " reshapes to a constant shape the pruner cannot rewrite");
        return;
      }
    } else if (shape->data<int64_t>()[1] != -1) {
      Tensor flat_shape(DType::kI64, {2});
      flat_shape.data<int64_t>()[0] = shape->data<int64_t>()[0];
      flat_shape.data<int64_t>()[1] = -1;
      const std::string name = g_.unique_name(node.input(1) + "_flat");
      g_.add_initializer(name, std::move(flat_shape));
      g_.set_input(n, 1, name);
    }
  }
  // [N, C, H, W] → [N, C·H·W]: channel c owns columns c·H·W .. c·H·W + H·W - 1.
  Layout flat = *l;
  for (Segment &s : flat) s.inner = spatial;
  layouts_[node.outputs[0]] = flat;
}

std::vector<double> ChannelPruner::score(int r) {
  std::vector<double> total(spaces_[r].channels, 0.0);
  bool from_bn = false;
  auto add = [&](const std::vector<Scorer> &scorers, bool bn) {
    bool any = false;
    for (const Scorer &sc : scorers) {
      const Tensor &t = *constant_of(g_, g_.nodes[sc.node].input(sc.input));
      const int64_t dim = t.dim(sc.axis);
      int64_t outer = 1, inner = 1;
      for (int i = 0; i < sc.axis; ++i) outer *= t.dim(i);
      for (int i = sc.axis + 1; i < t.rank(); ++i) inner *= t.dim(i);
      std::vector<double> per(dim, 0.0);
      const float *p = t.data<float>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t d = 0; d < dim; ++d)
          for (int64_t i = 0; i < inner; ++i) {
            const double v = p[(o * dim + d) * inner + i];
            per[d] += bn || opt_.criterion == ChannelCriterion::kL1 ? std::fabs(v) : v * v;
          }
      if (!bn && opt_.criterion != ChannelCriterion::kL1)
        for (double &v : per) v = std::sqrt(v);
      // Entry d of the axis belongs to channel (d - offset) / inner of its
      // segment's space.
      int64_t offset = 0;
      for (const Segment &s : sc.layout) {
        if (s.derived < 0 && root(s.space) == r) {
          any = true;
          for (int64_t c = 0; c < s.channels; ++c)
            for (int64_t i = 0; i < s.inner; ++i) total[c] += per[offset + c * s.inner + i];
        }
        offset += s.channels * s.inner;
      }
    }
    return any;
  };
  if (opt_.criterion == ChannelCriterion::kBnScale) from_bn = add(bn_scorers_, true);
  if (!from_bn) add(weight_scorers_, false);
  return total;
}

int64_t ChannelPruner::keep_count(int64_t c) const {
  const double target = static_cast<double>(c) * (1.0 - opt_.ratio);
  const int64_t exact = std::clamp<int64_t>(std::llround(target), 1, c);
  const int64_t m = opt_.round_to;
  if (m > 1 && c >= 2 * m) {
    // The nearest multiple of m, when it is within 5% of the width from the
    // target.
    const int64_t rounded = std::clamp<int64_t>(std::llround(target / m) * m, m, c);
    if (std::fabs(static_cast<double>(rounded) - target) <= 0.05 * static_cast<double>(c) + 1e-9)
      return rounded;
  }
  return exact;
}

// The `keep_per_block` highest-scoring channels of every block of root space
// `r`, in their original order.
std::vector<int64_t> ChannelPruner::keep_in_blocks(int r, int64_t keep_per_block) {
  const std::vector<double> sc = score(r);
  const int64_t per_block = spaces_[r].channels / spaces_[r].blocks;
  std::vector<int64_t> kept;
  for (int64_t b = 0; b < spaces_[r].blocks; ++b) {
    std::vector<int64_t> order(per_block);
    std::iota(order.begin(), order.end(), b * per_block);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t x, int64_t y) { return sc[x] > sc[y]; });
    order.resize(keep_per_block);
    std::sort(order.begin(), order.end());
    kept.insert(kept.end(), order.begin(), order.end());
  }
  return kept;
}

// w' [Cout', Cin'/G, k..]: row o of the kept outputs, columns j - g·Cin/G for
// the kept inputs j of its group g.
Tensor ChannelPruner::grouped_weight(const Action &a) {
  const Node &node = g_.nodes[a.node];
  const Tensor &w = *constant_of(g_, node.input(a.input));
  const int64_t group = node.attr_int("group", 1);
  const int64_t cout = w.dim(0), cin_g = w.dim(1), cout_g = cout / group;
  const std::vector<int64_t> outs = kept_indices(a.layout);
  std::vector<int64_t> ins;
  if (a.in_layout.empty()) {
    ins.resize(cin_g * group);
    std::iota(ins.begin(), ins.end(), 0);
  } else {
    ins = kept_indices(a.in_layout);
  }
  std::vector<std::vector<int64_t>> cols(group);  // kept columns of each group
  for (int64_t j : ins) cols[j / cin_g].push_back(j % cin_g);
  const int64_t kept_g = static_cast<int64_t>(cols[0].size());
  for (const std::vector<int64_t> &c : cols)
    if (static_cast<int64_t>(c.size()) != kept_g)
      fail(ErrorKind::kInternal, node.describe(), ": groups keep different input channel counts");
  Shape shape = w.shape();
  shape[0] = static_cast<int64_t>(outs.size());
  shape[1] = kept_g;
  Tensor out(w.dtype(), shape);
  const int64_t k = w.numel() / (cout * cin_g);
  const size_t bytes = static_cast<size_t>(k) * dtype_size(w.dtype());
  const char *src = static_cast<const char *>(w.raw());
  char *dst = static_cast<char *>(out.raw());
  for (size_t r = 0; r < outs.size(); ++r)
    for (int64_t c = 0; c < kept_g; ++c)
      std::memcpy(dst + (static_cast<int64_t>(r) * kept_g + c) * bytes,
                  src + (outs[r] * cin_g + cols[outs[r] / cout_g][c]) * bytes, bytes);
  return out;
}

std::vector<int64_t> ChannelPruner::kept_indices(const Layout &l) {
  std::vector<int64_t> idx;
  int64_t offset = 0;
  for (const Segment &s : l) {
    std::vector<int64_t> channels;  // kept, in the pruned order
    if (s.derived >= 0) {
      channels = derived_kept(s.derived);
    } else if (auto it = keep_.find(root(s.space)); it != keep_.end()) {
      channels = it->second;
    } else {
      channels.resize(s.channels);
      std::iota(channels.begin(), channels.end(), 0);
    }
    for (int64_t c : channels)
      for (int64_t i = 0; i < s.inner; ++i) idx.push_back(offset + c * s.inner + i);
    offset += s.channels * s.inner;
  }
  return idx;
}

StructuredPruneReport ChannelPruner::run() {
  if (!(opt_.ratio >= 0 && opt_.ratio < 1))
    fail_input("--ratio must be in [0, 1), got ", opt_.ratio);
  compress::check_node_names(g_, opt_.exclude);
  StructuredPruneReport report;
  {
    // Weights reached through Identity or Constant nodes (PyTorch exports
    // shared tensors that way) become plain initializers first, so every
    // producer and consumer sees constants.
    int64_t bns = 0;
    for (const Node &n : g_.nodes) bns += n.op_type == "BatchNormalization";
    PassOptions po;
    // Shape folding makes the channel-shuffle Reshapes and the Slices of a
    // static-shape model constant.
    po.only = {"identity_elimination", "constant_folding", "shape_folding",
               "dead_code_elimination"};
    if (opt_.criterion != ChannelCriterion::kBnScale)
      po.only.insert(po.only.end(), {"conv_bn_fold", "gemm_bn_fold"});
    optimize(model_, po);
    int64_t bns_after = 0;
    for (const Node &n : g_.nodes) bns_after += n.op_type == "BatchNormalization";
    report.folded_bn = bns_after < bns;
  }
  g_.topological_sort();
  refresh_shapes(model_);

  const std::set<std::string> excluded(opt_.exclude.begin(), opt_.exclude.end());
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    visit(static_cast<int>(i));
    const Node &node = g_.nodes[i];
    if (node.op_type == "BatchNormalization")
      if (const Layout *l = layout_of(node.input(0)))
        if (constant_of(g_, node.input(1))) bn_scorers_.push_back({static_cast<int>(i), 1, 0, *l});
    if (excluded.count(node.name))
      for (const std::string &o : node.outputs)
        if (const Layout *l = layout_of(o)) block(*l, "excluded");
  }
  for (const ValueInfo &o : g_.outputs)
    if (const Layout *l = layout_of(o.name)) block(*l, "reaches graph output " + o.name);
  check_chains();

  // Decide, per group, which channels stay: the highest scores, in their
  // original order.
  for (size_t s = 0; s < spaces_.size(); ++s) {
    if (root(static_cast<int>(s)) != static_cast<int>(s)) continue;
    const Space &sp = spaces_[s];
    if (sp.producers.empty()) continue;
    ChannelGroup group;
    for (int p : sp.producers) group.producers.push_back(g_.nodes[p].name);
    group.channels = sp.channels;
    group.kept = sp.channels;
    group.blocked = sp.blocked;
    if (sp.blocked.empty()) {
      const int64_t per_block = sp.channels / sp.blocks;
      const int64_t keep = keep_count(per_block);
      if (keep < per_block && sp.parity >= 0) {
        keep_[static_cast<int>(s)] = keep_by_lifetime(static_cast<int>(s), keep, nullptr);
        group.kept = keep;
      } else if (keep < per_block) {
        keep_[static_cast<int>(s)] = keep_in_blocks(static_cast<int>(s), keep);
        group.kept = keep * sp.blocks;
      }
    }
    report.groups.push_back(group);
  }
  if (keep_.empty()) return report;

  std::set<std::tuple<int, int, int, int>> done;
  for (const Action &a : actions_) {
    if (!done.insert({a.kind, a.node, a.input, a.axis}).second) continue;
    const std::vector<int64_t> idx = kept_indices(a.layout);
    Node &node = g_.nodes[a.node];
    if (a.kind == Action::kGroupedWeight) {
      if (idx.size() == static_cast<size_t>(layout_width(a.layout)) &&
          kept_indices(a.in_layout).size() == static_cast<size_t>(layout_width(a.in_layout)))
        continue;
      compress::set_node_constant(model_, a.node, a.input, grouped_weight(a));
      continue;
    }
    if (static_cast<int64_t>(idx.size()) == layout_width(a.layout)) continue;
    if (a.kind == Action::kGroup) {
      node.set_attr_int("group", static_cast<int64_t>(idx.size()));
      continue;
    }
    const Tensor &t = *constant_of(g_, node.input(a.input));
    compress::set_node_constant(model_, a.node, a.input, compress::take_along_axis(t, a.axis, idx));
  }
  rewrite_shuffles();
  // Shapes of pruned activations changed: forget the stored ones and infer
  // again.
  g_.value_info.clear();
  g_.inferred.clear();
  refresh_shapes(model_);
  return report;
}

}  // namespace

ChannelCriterion parse_channel_criterion(const std::string &name) {
  if (name == "l1") return ChannelCriterion::kL1;
  if (name == "l2") return ChannelCriterion::kL2;
  if (name == "bn-scale") return ChannelCriterion::kBnScale;
  fail_input("channel criterion must be l1, l2 or bn-scale, not '", name, "'");
}

StructuredPruneReport prune_structured(Model &model, const StructuredPruneOptions &options) {
  return ChannelPruner(model, options).run();
}

}  // namespace edgeopt
