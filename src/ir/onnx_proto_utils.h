// Conversions between edgeopt's IR and ONNX protobuf messages (internal to edgeopt; the
// conformance runner and tests use them to read .pb tensors).
#pragma once

#ifdef EDGEOPT_ONNX_LITE
// libedgeopt_rt: onnx.proto compiled for protobuf-lite in a package of its own (CMakeLists.txt);
// the code below reads it under the usual name.
#include "edgeopt_onnx_lite.pb.h"
namespace onnx = ::edgeopt_onnx_lite;
#else
#include <onnx/onnx_pb.h>
#endif

#include <filesystem>
#include <string>

#include "edgeopt/ir.h"
#include "edgeopt/onnx_io.h"

namespace edgeopt {

Tensor tensor_from_proto(const onnx::TensorProto& tp, const std::filesystem::path& base_dir);
void tensor_to_proto(const Tensor& t, onnx::TensorProto* tp);
// Consumes `mp`: the raw data of its large initializers moves into the model as they are
// converted (the weights are never held twice while loading).
Model model_from_proto(onnx::ModelProto&& mp, const std::filesystem::path& base_dir,
                       const LoadOptions& options);
onnx::ModelProto model_to_proto(const Model& m);
// For shape inference: initializers of more than `max_data_bytes` carry dtype and dims only
// (inference reads the values of small shape-like constants alone), so no weight is copied.
onnx::ModelProto model_to_proto_for_inference(const Model& m, size_t max_data_bytes = 4096);
void value_info_to_proto(const ValueInfo& v, onnx::ValueInfoProto* vp);

// ONNX shape inference (data propagation on) of `mp`, run in a child process: libonnx's per-op
// inference functions index dims and attributes without checking them, so a malformed model
// can crash it (found by fuzzing: ConvTranspose-1 with a rank-0 weight, LayerNormalization
// with garbage outputs). On success the graph's value_info and outputs are replaced by the
// inferred ones. On an inference error, `error` gets its first line; if the child died, it
// gets a line saying so.
bool infer_shapes_isolated(onnx::ModelProto& mp, std::string* error);

// Reads a serialized TensorProto file (conformance test data).
Tensor load_tensor_pb(const std::filesystem::path& path);
void save_tensor_pb(const Tensor& t, const std::filesystem::path& path);

}  // namespace edgeopt
