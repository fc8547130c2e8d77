// Quantization parameters of the QuantizeLinear / DequantizeLinear nodes the XNNPACK provider
// takes (internal; shared by the rewrite, which decides what the provider takes, and the
// Subgraph kernel, which builds XNNPACK's int8 values from them).
//
// XNNPACK's quantized operators (qs8 / qc8: convolution, fully connected, add, multiply, global
// average pooling, max pooling) read signed 8-bit activations and signed, zero-point-free 8-bit
// weights with one scale per output channel. A uint8 activation q with zero point z is the
// int8 activation q − 128 with zero point z − 128: the same real values, bytes flipped at the
// subgraph's boundary.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "edgeopt/ir.h"

namespace edgeopt::rt::xnnpack {

// Looks a constant up by value name (nullptr when the value is not a constant).
using ConstantLookup = std::function<const Tensor*(const std::string&)>;

// Per-tensor parameters of an 8-bit activation: real = scale · (q − zero_point).
struct ActQuant {
  float scale = 1;
  int32_t zero_point = 0;  // in the tensor's own type (uint8: 0..255)
  DType dtype = DType::kU8;
  // The zero point of XNNPACK's signed view.
  int32_t signed_zero_point() const { return dtype == DType::kU8 ? zero_point - 128 : zero_point; }
  bool operator==(const ActQuant& o) const {
    return scale == o.scale && zero_point == o.zero_point && dtype == o.dtype;
  }
};

// The parameters of a QuantizeLinear or DequantizeLinear node with a constant scalar scale
// (finite, > 0) and an absent or constant scalar 8-bit zero point; nullopt otherwise.
std::optional<ActQuant> act_quant(const Node& n, const ConstantLookup& constant);

// A DequantizeLinear of constant data (weights, biases): 8- or 32-bit integers, one scale per
// tensor or per index along `axis`, optional zero points like the scales.
struct StaticQuant {
  const Tensor* data = nullptr;
  const Tensor* scale = nullptr;
  const Tensor* zero_point = nullptr;  // nullptr: zero
  int axis = 0;                        // normalized; meaningful when scale has several values
  bool per_axis() const { return scale->numel() > 1; }
  // The scale and zero point of index i along the axis (per tensor: the only ones).
  float scale_at(int64_t i) const;
  int32_t zero_point_at(int64_t i) const;
  bool zero_points_are_zero() const;
};
std::optional<StaticQuant> static_quant(const Node& n, const ConstantLookup& constant);

// The real values of `q`, as DequantizeLinear computes them.
Tensor dequantize(const StaticQuant& q);

}  // namespace edgeopt::rt::xnnpack
