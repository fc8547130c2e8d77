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

}  // namespace edgeopt
