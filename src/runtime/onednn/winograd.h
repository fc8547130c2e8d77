// Winograd F(4x4, 3x3) fp32 convolution on the blocked activation layout with 8 lanes
// ([N, ceil(C/8), H, W, 8], common.h), for 3x3 convs with stride 1, dilation 1 and group 1 on
// AVX2 + FMA hosts (oneDNN 2.x has Winograd only with AVX-512). Each output tile of 4x4 comes
// from a 6x6 input tile: V = Bt d B per input channel, M = sum over channels of U .* V (36
// GEMMs [tiles x C] . [C x M]), y = At M A, then bias and the conv node's post-ops.
//
// Layouts (all f32, K = C rounded up to 8, N = M rounded up to 8, T tiles per block):
//  - U (weights, transformed once at load): for each of the 36 positions xi, panels of 16 output
//    channels (the last one 8 wide when N % 16 == 8): U[xi][panel][k][16];
//  - V (per tile block): V[xi][k/8][tile][8], the 8 channels of an input block in one ymm;
//  - M (per tile block): M[xi][n/8][tile][8].
// A block of tiles goes through input transform -> 36 GEMMs -> output transform while V and M
// stay in L2; the GEMM micro-kernel holds 6 tiles x 16 output channels in 12 ymm. Threads take
// tile blocks (or output channel groups) on the OpenMP team oneDNN runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common.h"

namespace edgeopt::rt::onednn {

class Winograd {
 public:
  // True on a CPU with AVX2 and FMA.
  static bool available();
  // True when every post-op is one the output transform applies (Relu, LeakyRelu, Clip, Add).
  static bool supports(const std::vector<PostOp>& ops);

  // Per input shape: batch, input and output sizes, top/left pads (bottom/right follow from the
  // output size), the tile split, up to how many threads and the scratch they need (V and M of
  // one block per thread).
  struct Plan {
    int64_t n = 0, h = 0, w = 0, oh = 0, ow = 0, pad_t = 0, pad_l = 0;
    int64_t tiles_h = 0, tiles_w = 0, tiles = 0, block = 0;
    int threads = 1;
    size_t scratch_bytes = 0;
  };

  // w: ONNX weights [m, c, 3, 3]; bias: m values or null.
  Winograd(const float* w, const float* bias, int64_t m, int64_t c, std::vector<PostOp> post);

  Plan plan(int64_t n, int64_t h, int64_t w, int64_t oh, int64_t ow, int64_t pad_t, int64_t pad_l,
            int threads) const;
  // x: [n, ceil(c/8), h, w, 8]; y: [n, ceil(m/8), oh, ow, 8]; adds: one tensor of y's shape per
  // Add post-op, in order; scratch: plan.scratch_bytes.
  void run(const Plan& p, const float* x, float* y, const std::vector<const float*>& adds,
           void* scratch, int threads) const;

  size_t weight_bytes() const { return u_.size() * sizeof(float); }

 private:
  int64_t m_, c_, kb_, nb_;  // channels, input and output blocks of 8
  std::vector<float> u_;     // transformed weights, layout above
  std::vector<float> bias_;  // nb_ * 8, zeros past m_
  std::vector<PostOp> post_;
};

}  // namespace edgeopt::rt::onednn
