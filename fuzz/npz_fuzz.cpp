// Fuzzes the .npz (zip) reader, both as an array container (load_npz, what `run --input` reads)
// and as a dataset (x/y arrays read batch by batch, what --calib and --data read).
#include <algorithm>

#include "edgeopt/data.h"
#include "edgeopt/error.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = edgeopt::fuzz::scratch_dir() / "a.npz";
  edgeopt::fuzz::write_bytes(path, {reinterpret_cast<const char*>(data), size});
  try {
    (void)edgeopt::load_npz(path);
  } catch (const edgeopt::Error&) {
  }
  try {
    auto ds = edgeopt::open_dataset(path.string());
    const int64_t n = std::min<int64_t>(ds->size(), 4);
    if (n > 0) (void)ds->read(0, n);
  } catch (const edgeopt::Error&) {
  }
  return 0;
}
