// oneDNN fp32 forward convolution (+bias, ReLU post-op) on resnet18's and squeezenet1_1's layer
// shapes, batch 1, with src/dst channels-last (nhwc), oneDNN's own choice (format_tag::any:
// nChw8c on AVX2), plain nchw and 16-lane blocks (nChw16c, the layout edgeopt's rewrite gives
// a run on AVX-512). The variants alternate rep by rep (so that load from other processes hits
// them alike); each cell is the median of the reps, with the implementation oneDNN chose.
// `edge` runs the convs the kernel (src/runtime/onednn/conv.cpp) moves to channels-last when
// the graph's layout gets `ref:any` or GEMMs: grouped 2-D (RegNetY's 8 channels per group, 2,
// 4 and 12), 1-D depthwise (Silero VAD) and 3-D (r3d_18). Built as build/onednn_conv_layouts:
//   OMP_NUM_THREADS=1 build/onednn_conv_layouts [REPS] [squeezenet|edge]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using dnnl::memory;
using tag = memory::format_tag;

struct ConvShape {
  const char* name;
  int c, m, hw, k, stride, pad;
  int group = 1;
  int nd = 2;     // spatial dims: 1 (width hw), 2 (hw x hw) or 3 (depth x hw x hw)
  int depth = 1;  // nd == 3
};

const std::vector<ConvShape> kResnet18 = {
    {"3->64 7x7 s2 224", 3, 64, 224, 7, 2, 3},   {"64->64 3x3 56", 64, 64, 56, 3, 1, 1},
    {"64->128 3x3 s2 56", 64, 128, 56, 3, 2, 1}, {"64->128 1x1 s2 56", 64, 128, 56, 1, 2, 0},
    {"128->128 3x3 28", 128, 128, 28, 3, 1, 1},  {"256->256 3x3 14", 256, 256, 14, 3, 1, 1},
    {"512->512 3x3 7", 512, 512, 7, 3, 1, 1},    {"256->512 1x1 s2 14", 256, 512, 14, 1, 2, 0}};

const std::vector<ConvShape> kSqueezenet = {
    {"128->16 1x1 55", 128, 16, 55, 1, 1, 0},    {"16->64 1x1 55", 16, 64, 55, 1, 1, 0},
    {"16->64 3x3 55", 16, 64, 55, 3, 1, 1},      {"256->32 1x1 27", 256, 32, 27, 1, 1, 0},
    {"32->128 3x3 27", 32, 128, 27, 3, 1, 1},    {"384->48 1x1 13", 384, 48, 13, 1, 1, 0},
    {"48->192 3x3 13", 48, 192, 13, 3, 1, 1},    {"64->256 3x3 13", 64, 256, 13, 3, 1, 1},
    {"512->1000 1x1 13", 512, 1000, 13, 1, 1, 0}};

const std::vector<ConvShape> kEdge = {{"g13 104 3x3 28", 104, 104, 28, 3, 1, 1, 13},
                                      {"g8 16 3x3 28", 16, 16, 28, 3, 1, 1, 8},
                                      {"g8 32 3x3 28", 32, 32, 28, 3, 1, 1, 8},
                                      {"g8 96 3x3 28", 96, 96, 28, 3, 1, 1, 8},
                                      {"dw258 k5 w8 1d", 258, 258, 8, 5, 1, 2, 258, 1},
                                      {"dw16 k5 w8 1d", 16, 16, 8, 5, 1, 2, 16, 1},
                                      {"64->64 3x3x3 4x28", 64, 64, 28, 3, 1, 1, 1, 3, 4},
                                      {"512->512 3x3x3 1x4", 512, 512, 4, 3, 1, 1, 1, 3, 1}};

// Dims of an activation [1, channels, spatial...] and the per-axis tags of a rank.
memory::dims act_dims(const ConvShape& s, int channels, int hw, int depth) {
  memory::dims d{1, channels};
  if (s.nd == 3) d.push_back(depth);
  if (s.nd >= 2) d.push_back(hw);
  d.push_back(hw);
  return d;
}
tag channels_last(int nd) { return nd == 1 ? tag::nwc : (nd == 2 ? tag::nhwc : tag::ndhwc); }
tag plain(int nd) { return nd == 1 ? tag::ncw : (nd == 2 ? tag::nchw : tag::ncdhw); }
tag blocked16(int nd) { return nd == 1 ? tag::nCw16c : (nd == 2 ? tag::nChw16c : tag::nCdhw16c); }

struct Variant {
  const char* name;
  tag act;
  dnnl::convolution_forward conv;
  std::unordered_map<int, memory> args;
  std::string impl;
  std::vector<double> seconds;
};

void fill(const memory& m, float v) {
  std::fill_n(static_cast<float*>(m.get_data_handle()), m.get_desc().get_size() / 4, v);
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 50;
  const std::string set = argc > 2 ? argv[2] : "resnet18";
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream st(eng);
  std::printf("%-20s %-28s %-28s %-28s %-28s %s\n", "shape", "nhwc ms GF/s", "any ms GF/s",
              "nchw ms GF/s", "blocked16 ms GF/s", "nhwc/any");
  const std::vector<ConvShape>& shapes =
      set == "squeezenet" ? kSqueezenet : (set == "edge" ? kEdge : kResnet18);
  for (const ConvShape& s : shapes) {
    const int oh = (s.hw + 2 * s.pad - s.k) / s.stride + 1;
    const int od = s.nd == 3 ? (s.depth + 2 * s.pad - s.k) / s.stride + 1 : 1;
    double flops = 2.0 * s.m * (s.c / s.group) * oh * od;
    for (int d = 0; d < s.nd; ++d) flops *= s.k;
    if (s.nd >= 2) flops *= oh;
    std::vector<Variant> vs = {{"nhwc", channels_last(s.nd), {}, {}, {}, {}},
                               {"any", tag::any, {}, {}, {}, {}},
                               {"nchw", plain(s.nd), {}, {}, {}, {}},
                               {"blocked16", blocked16(s.nd), {}, {}, {}, {}}};
    for (Variant& v : vs) {
      const memory::desc src(act_dims(s, s.c, s.hw, s.depth), memory::data_type::f32, v.act);
      const memory::desc dst(act_dims(s, s.m, oh, od), memory::data_type::f32, v.act);
      memory::dims wd = s.group > 1 ? memory::dims{s.group, s.m / s.group, s.c / s.group}
                                    : memory::dims{s.m, s.c};
      for (int d = 0; d < s.nd; ++d) wd.push_back(s.k);
      const memory::desc w(wd, memory::data_type::f32, tag::any);
      const memory::desc b({s.m}, memory::data_type::f32, tag::a);
      const memory::dims strides(s.nd, s.stride), pads(s.nd, s.pad);
      dnnl::post_ops po;
      po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      dnnl::primitive_attr attr;
      attr.set_post_ops(po);
      const dnnl::convolution_forward::primitive_desc pd(
          dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                          dnnl::algorithm::convolution_direct, src, w, b, dst,
                                          strides, pads, pads),
          attr, eng);
      memory ms(pd.src_desc(), eng), md(pd.dst_desc(), eng), mw(pd.weights_desc(), eng), mb(b, eng);
      fill(ms, 0.5f);
      fill(mw, 0.01f);
      fill(mb, 0.f);
      v.conv = dnnl::convolution_forward(pd);
      v.args = {
          {DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_BIAS, mb}, {DNNL_ARG_DST, md}};
      v.impl = pd.impl_info_str();
    }
    for (int r = 0; r < reps + 3; ++r)
      for (Variant& v : vs) {
        const auto t0 = std::chrono::steady_clock::now();
        v.conv.execute(st, v.args);
        st.wait();
        const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
        if (r >= 3) v.seconds.push_back(dt.count());
      }
    std::printf("%-20s", s.name);
    double med[4];
    for (size_t i = 0; i < vs.size(); ++i) {
      std::vector<double>& t = vs[i].seconds;
      std::sort(t.begin(), t.end());
      med[i] = t[t.size() / 2];
      char cell[64];
      std::snprintf(cell, sizeof cell, "%7.3f %5.1f %s", med[i] * 1e3, flops / med[i] / 1e9,
                    vs[i].impl.c_str());
      std::printf(" %-28s", cell);
    }
    std::printf(" %.2f\n", med[0] / med[1]);
  }
  return 0;
}
