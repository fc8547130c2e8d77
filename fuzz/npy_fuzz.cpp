// Fuzzes the .npy reader: any file must load or fail with edgeopt::Error (one line), never
// crash, hang, allocate what the file cannot back, or throw anything else.
#include "edgeopt/data.h"
#include "edgeopt/error.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = edgeopt::fuzz::scratch_dir() / "a.npy";
  edgeopt::fuzz::write_bytes(path, {reinterpret_cast<const char*>(data), size});
  try {
    edgeopt::Tensor t = edgeopt::load_npy(path);
    // A loaded array must serialize again.
    (void)edgeopt::npy_bytes(t);
  } catch (const edgeopt::Error&) {
  }
  return 0;
}
