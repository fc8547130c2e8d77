// Fuzzes dataset SPEC strings (`--data`, `--calib`): source names, splits and the preprocessing
// query. Specs are resolved inside a scratch folder holding one valid dataset of each kind, so
// the fuzzer reaches the readers without wandering the file system (absolute paths and '..'
// are skipped: they would only list this machine's folders).
#include <algorithm>

#include "edgeopt/data.h"
#include "edgeopt/error.h"
#include "fuzz_util.h"

namespace {

void make_datasets(const std::filesystem::path& dir) {
  using edgeopt::DType;
  using edgeopt::Tensor;
  Tensor x(DType::kF32, {2, 1, 2, 2});
  for (int i = 0; i < 8; ++i) x.data<float>()[i] = static_cast<float>(i);
  Tensor y(DType::kI64, {2});
  y.data<int64_t>()[0] = 0;
  y.data<int64_t>()[1] = 1;
  edgeopt::save_npz(dir / "d.npz", {{"x", x}, {"y", y}});
  edgeopt::save_npy(dir / "x.npy", x);
  // A 2x2 gray PGM in two classes.
  const std::string pgm = std::string("P5 2 2 255\n") + std::string("\x01\x02\x03\x04", 4);
  edgeopt::fuzz::write_bytes(dir / "imgs" / "a" / "i.pgm", pgm);
  edgeopt::fuzz::write_bytes(dir / "imgs" / "b" / "j.pgm", pgm);
  // IDX: 2 images of 2x2, 2 labels.
  std::string img("\0\0\x08\x03\0\0\0\x02\0\0\0\x02\0\0\0\x02", 16);
  img += std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8);
  std::string lab("\0\0\x08\x01\0\0\0\x02\x00\x01", 10);
  edgeopt::fuzz::write_bytes(dir / "m" / "t10k-images-idx3-ubyte", img);
  edgeopt::fuzz::write_bytes(dir / "m" / "t10k-labels-idx1-ubyte", lab);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool ready = [] {
    make_datasets(edgeopt::fuzz::scratch_dir());
    std::filesystem::current_path(edgeopt::fuzz::scratch_dir());
    return true;
  }();
  (void)ready;
  const std::string spec(reinterpret_cast<const char*>(data), size);
  if (spec.find('/') != std::string::npos || spec.find("..") != std::string::npos) return 0;
  // fashion-mnist would read the real 60,000-image package: keep each input fast.
  if (spec.find("fashion") != std::string::npos) return 0;
  // Resizing to thousands of pixels is legitimate work, only slow under the sanitizers (the
  // pixel caps have tests of their own): numbers above 1024 are left out.
  int64_t number = 0;
  for (char c : spec) {
    number = (c >= '0' && c <= '9') ? number * 10 + (c - '0') : 0;
    if (number > 1024) return 0;
  }
  try {
    auto ds = edgeopt::open_dataset(spec);
    const int64_t n = std::min<int64_t>(ds->size(), 1);
    if (n > 0) (void)ds->read(0, n);
  } catch (const edgeopt::Error&) {
  }
  return 0;
}
