// Low-rank factorization of linear layers by truncated SVD.
//
// A constant weight W (K×N for x·W, or Cout × Cin·kh·kw for a convolution) is
// replaced by the product of two thinner factors, W ≈ U_r · (Σ_r V_rᵀ), which
// the graph computes as two nodes in a row: MatMul → MatMul/Gemm, or a kh×kw
// Conv with r filters → a 1×1 Conv with the bias. A layer is factorized only
// when the two nodes together need fewer multiply-accumulates.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edgeopt/ir.h"

namespace edgeopt {

struct LowRankOptions {
  // Exactly one of these is > 0.
  double energy = 0;      // keep the smallest rank r with Σ_{i<r} σ_i² ≥ energy · Σ σ_i²
  double rank_ratio = 0;  // keep r = round(rank_ratio · min(rows, cols)) singular values
  std::vector<std::string> exclude;  // node names left untouched
};

struct LowRankLayer {
  std::string node;
  std::string op_type;
  int64_t rows = 0,
          cols = 0;       // the matrix factorized (K×N, or Cout × Cin·kh·kw)
  int64_t rank = 0;       // chosen rank r
  int64_t full_rank = 0;  // min(rows, cols)
  // Multiply-accumulates per output row (Gemm/MatMul) or output pixel (Conv).
  int64_t macs_before = 0, macs_after = 0;
  double rel_error = 0;  // ||W − W_r||_F / ||W||_F
  bool applied = false;
  std::string skipped;  // why a layer was not factorized
};

struct LowRankReport {
  std::vector<LowRankLayer> layers;
};

// Factorizes every eligible Gemm / MatMul / Conv (group 1) with a constant
// float weight. Throws Error for bad options or unknown excluded nodes.
LowRankReport factorize_lowrank(Model &model, const LowRankOptions &options);

}  // namespace edgeopt
