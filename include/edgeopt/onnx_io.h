// ONNX import and export.
#pragma once

#include <filesystem>
#include <string>

#include "edgeopt/ir.h"

namespace edgeopt {

struct LoadOptions {
  bool check = true;         // run the ONNX checker
  bool infer_shapes = true;  // run ONNX shape inference into Graph::inferred
};

// Loads an ONNX file. External data is read from files inside the model's folder; a location
// that escapes it is refused. Throws Error (invalid input) with a one-line message.
Model load_model(const std::filesystem::path& path, const LoadOptions& options = {});
// Parses a serialized ModelProto; external data resolves relative to `base_dir`.
Model parse_model(const std::string& bytes, const std::filesystem::path& base_dir,
                  const LoadOptions& options = {});

struct SaveOptions {
  bool check = true;  // run the ONNX checker on what is written
  // Store tensors of at least `external_threshold` bytes in a side file `<model file>.data`.
  // Turned on automatically when the model would not fit a 2 GB protobuf.
  bool external_data = false;
  size_t external_threshold = 1024;
};

// Writes atomically (temp file + rename). Refuses to overwrite `protect` (the input model).
void save_model(const Model& model, const std::filesystem::path& path,
                const SaveOptions& options = {}, const std::filesystem::path& protect = {});
// Serialized ModelProto with all tensors inline.
std::string serialize_model(const Model& model);

// Raises the model's default-domain opset to `min_opset` with ONNX's version converter when it is
// older; `why` names what needs the newer opset ("per-channel DequantizeLinear needs 13").
// Returns a one-line note for the user ("converted model from opset 11 to 13 (why)"), or "" when
// the model already had it. Throws Error (unsupported), naming the op, when the converter cannot.
std::string ensure_opset(Model& model, int64_t min_opset, const std::string& why);

}  // namespace edgeopt
