// Fuzzes image decoding (stb: PNG, JPEG, BMP, GIF, TGA, PNM) and preprocessing through an
// image-folder dataset: one image in one class folder, read with a resize and a crop.
#include "edgeopt/data.h"
#include "edgeopt/error.h"
#include "edgeopt/tensor.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // A 32 MiB memory budget: images of up to 4 Mpixel are decoded, larger ones refused as the
  // CLI refuses them under --max-memory 32M (under the sanitizers, a 64 Mpixel decode takes
  // tens of seconds and the run would spend its executions on a few such inputs).
  edgeopt::set_memory_budget(int64_t{32} << 20);
  // The first byte picks the file's extension (stb decodes by content, edgeopt lists by name)
  // and the preprocessing.
  static const char* kExt[] = {".png", ".jpg", ".bmp", ".gif", ".tga", ".pgm"};
  static const char* kQuery[] = {"", "?size=9&crop=7", "?channels=1",
                                 "?size=3&crop=2x3&mean=0.5&std=0.25"};
  const auto dir = edgeopt::fuzz::scratch_dir() / "images";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  edgeopt::fuzz::write_bytes(dir / "cls" / (std::string("a") + kExt[data[0] % 6]),
                             {reinterpret_cast<const char*>(data + 1), size - 1});
  try {
    auto ds = edgeopt::open_dataset(dir.string() + kQuery[(data[0] / 6) % 4]);
    if (ds->size() > 0) (void)ds->read(0, 1);
  } catch (const edgeopt::Error&) {
  }
  return 0;
}
