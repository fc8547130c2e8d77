// Fuzzes the ONNX loader: any byte string must load or fail with edgeopt::Error — never crash,
// hang, leak or throw anything else. The input is split into the model and one external-data
// file beside it ("w.bin"), so that tensors stored outside the model are read too.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "edgeopt/error.h"
#include "edgeopt/onnx_io.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& dir = edgeopt::fuzz::scratch_dir();
  // Inputs that are a whole model (the seed corpus) stay whole; others carry a data file.
  std::string_view model(reinterpret_cast<const char*>(data), size), weights;
  if (size > 2 && data[0] == 0xED)
    std::tie(model, weights) = edgeopt::fuzz::split_input(data + 1, size - 1);
  edgeopt::fuzz::write_bytes(dir / "w.bin", weights);
  try {
    edgeopt::Model m = edgeopt::parse_model(std::string(model), dir, edgeopt::LoadOptions{});
    // A loaded model must serialize again.
    (void)edgeopt::serialize_model(m);
  } catch (const edgeopt::Error&) {
  }
  return 0;
}
