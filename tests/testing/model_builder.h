// Small models for tests: inputs, initializers, nodes and outputs, then either the IR as written
// (model()) or the IR after a round trip through the ONNX serializer and parser (build()), so
// that ONNX shape inference fills Graph::inferred as for a model loaded from a file.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "edgeopt/ir.h"
#include "edgeopt/tensor.h"

namespace edgeopt::test {

class ModelBuilder {
 public:
  explicit ModelBuilder(int64_t opset = 13, const std::string& name = "test");

  // Imports `domain` at `version` (the default domain's was given to the constructor).
  ModelBuilder& opset(const std::string& domain, int64_t version);
  // A graph input of static shape.
  ModelBuilder& input(const std::string& name, const Shape& shape, DType dtype = DType::kF32);
  // A graph input with symbolic or unknown dims.
  ModelBuilder& input_dims(const std::string& name, const std::vector<Dim>& dims,
                           DType dtype = DType::kF32);
  // An initializer (not a graph input).
  ModelBuilder& constant(const std::string& name, Tensor value);
  // Appends a node named "<op>_<index>"; set its attributes on the reference returned, which
  // stays valid until the next node() call.
  Node& node(const std::string& op_type, std::vector<std::string> inputs,
             std::vector<std::string> outputs, const std::string& domain = "");
  // A graph output; `rank` >= 0 declares that many unknown dims (the ONNX checker wants a shape
  // on outputs), -1 declares no shape.
  ModelBuilder& output(const std::string& name, DType dtype = DType::kF32, int rank = -1);

  const Model& model() const { return m_; }
  // Serialized and parsed again, with ONNX shape inference (the checker is skipped when
  // `check` is false, e.g. for outputs declared without a shape).
  Model build(bool check = false) const;

 private:
  Model m_;
};

// DQ of 7-bit s8 weights of `shape`, one scale per channel along `axis`, and DQ of an int32 bias
// in [-bias_max, bias_max] with scale sx·sw (what a quantizer gives a layer whose input has scale
// sx), drawn from `seed`; returns the two DQ outputs, NAME_wdq and NAME_bdq.
std::pair<std::string, std::string> add_int8_weights(ModelBuilder& b, const std::string& name,
                                                     const Shape& shape, float sx, uint32_t seed,
                                                     int64_t axis, int bias_max);

// y = Relu(x), graph "relu", x and y of the given dims (-1: the symbolic batch "N").
Model relu_model(const std::vector<int64_t>& dims, DType dtype = DType::kF32);

// For tests that assemble Node and Graph structs themselves.
Attribute int_attr(const std::string& name, int64_t value);
Attribute ints_attr(const std::string& name, std::vector<int64_t> values);
Attribute float_attr(const std::string& name, float value);
// A node of the default domain, without attributes.
Node make_node(const std::string& name, const std::string& op_type, std::vector<std::string> inputs,
               std::vector<std::string> outputs);
// A value of static shape.
ValueInfo value_info(const std::string& name, const Shape& shape, DType dtype = DType::kF32);

}  // namespace edgeopt::test
