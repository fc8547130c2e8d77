// Fuzzes the IDX reader (MNIST-style folders): the input is split into an images file and a
// labels file, opened as `mnist:DIR:train` and its first samples read.
#include <algorithm>

#include "edgeopt/data.h"
#include "edgeopt/error.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto dir = edgeopt::fuzz::scratch_dir() / "idx";
  const auto [images, labels] = edgeopt::fuzz::split_input(data, size);
  edgeopt::fuzz::write_bytes(dir / "train-images-idx3-ubyte", images);
  edgeopt::fuzz::write_bytes(dir / "train-labels-idx1-ubyte", labels);
  try {
    auto ds = edgeopt::open_dataset("mnist:" + dir.string() + ":train");
    const int64_t n = std::min<int64_t>(ds->size(), 4);
    if (n > 0) (void)ds->read(0, n);
  } catch (const edgeopt::Error&) {
  }
  return 0;
}
