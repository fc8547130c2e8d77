// Conversions between edgeopt's IR and ONNX protobuf messages (internal to edgeopt; the
// conformance runner and tests use them to read .pb tensors).
#pragma once

#include <onnx/onnx_pb.h>

#include <filesystem>

#include "edgeopt/ir.h"
#include "edgeopt/onnx_io.h"

namespace edgeopt {

Tensor tensor_from_proto(const onnx::TensorProto& tp, const std::filesystem::path& base_dir);
void tensor_to_proto(const Tensor& t, onnx::TensorProto* tp);
Model model_from_proto(const onnx::ModelProto& mp, const std::filesystem::path& base_dir,
                       const LoadOptions& options);
onnx::ModelProto model_to_proto(const Model& m);
void value_info_to_proto(const ValueInfo& v, onnx::ValueInfoProto* vp);

// Reads a serialized TensorProto file (conformance test data).
Tensor load_tensor_pb(const std::filesystem::path& path);
void save_tensor_pb(const Tensor& t, const std::filesystem::path& path);

}  // namespace edgeopt
