// Shared by the fuzz targets: a private scratch folder per process, and writing the fuzzer's
// bytes to a file in it (the parsers under test read files, as they do for users).
#pragma once

#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace edgeopt::fuzz {

// A folder under the temp dir, made once per process (mkdtemp: no two processes share it).
// Removed again when the process exits normally (libFuzzer ends with exit()).
inline const std::filesystem::path& scratch_dir() {
  struct Scratch {
    std::filesystem::path dir;
    Scratch() {
      std::string tmpl = (std::filesystem::temp_directory_path() / "edgeopt-fuzz-XXXXXX").string();
      if (!mkdtemp(tmpl.data())) abort();
      dir = tmpl;
    }
    ~Scratch() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  };
  static const Scratch scratch;
  return scratch.dir;
}

inline void write_bytes(const std::filesystem::path& path, std::string_view bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) abort();
}

// Splits the input at a point chosen by its first two bytes, so one input can carry two files.
inline std::pair<std::string_view, std::string_view> split_input(const uint8_t* data, size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  if (size < 2) return {all, {}};
  const size_t at = 2 + (static_cast<size_t>(data[0]) | static_cast<size_t>(data[1]) << 8);
  const std::string_view rest = all.substr(2);
  const size_t cut = std::min(at - 2, rest.size());
  return {rest.substr(0, cut), rest.substr(cut)};
}

}  // namespace edgeopt::fuzz
