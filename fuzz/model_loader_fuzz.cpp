// Fuzzes the ONNX loader: any byte string must load or fail with edgeopt::Error — never crash,
// hang, leak or throw anything else.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "edgeopt/error.h"
#include "edgeopt/onnx_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path base = std::filesystem::temp_directory_path();
  try {
    edgeopt::Model m = edgeopt::parse_model(
        std::string(reinterpret_cast<const char*>(data), size), base, edgeopt::LoadOptions{});
    // A loaded model must serialize again.
    (void)edgeopt::serialize_model(m);
  } catch (const edgeopt::Error&) {
  }
  return 0;
}
