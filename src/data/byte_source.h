// Random-access byte streams over files, gzip files and zip entries, so that array readers
// (npy, IDX) can fetch just the rows of one batch. Internal to src/data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "edgeopt/tensor.h"

namespace edgeopt::data {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads exactly n bytes at offset `off` of the (decompressed) stream into dst; throws Error
  // naming the source when the stream is shorter. Reading forward is cheap; compressed sources
  // seek backwards by starting over.
  virtual void read_at(uint64_t off, void* dst, size_t n) = 0;
  // Decompressed size when known without reading everything, else UINT64_MAX.
  virtual uint64_t size() const = 0;
  virtual const std::string& name() const = 0;
};

// A plain file, or a range [offset, offset + length) of it.
std::unique_ptr<ByteSource> open_file_source(const std::filesystem::path& path);
std::unique_ptr<ByteSource> open_file_range(const std::filesystem::path& path, uint64_t offset,
                                            uint64_t length, std::string name);
// A gzip file via zlib's gzread (plain files pass through unchanged).
std::unique_ptr<ByteSource> open_gzip_source(const std::filesystem::path& path);
// Raw-deflate data in [offset, offset + compressed) of a file, inflating to `size` bytes.
std::unique_ptr<ByteSource> open_inflate_source(const std::filesystem::path& path, uint64_t offset,
                                                uint64_t compressed, uint64_t size,
                                                std::string name);

// ---- zip ----------------------------------------------------------------------------------

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflated
  uint64_t compressed = 0;
  uint64_t size = 0;
  uint64_t data_offset = 0;  // of the entry's data in the archive
  uint32_t crc32 = 0;
};

// Entries of a zip archive from its central directory (zip64 aware).
std::vector<ZipEntry> zip_entries(const std::filesystem::path& path);
// Stream over one entry's uncompressed bytes.
std::unique_ptr<ByteSource> open_zip_entry(const std::filesystem::path& path, const ZipEntry& e);
// Serialized zip with every entry stored (method 0).
std::string zip_stored(const std::vector<std::pair<std::string, std::string>>& files);

// ---- npy ----------------------------------------------------------------------------------

struct NpyHeader {
  DType dtype = DType::kUndefined;
  Shape shape;
  uint64_t data_offset = 0;  // bytes from the start of the .npy stream
};

// Parses the header at the start of `src`; refuses big-endian, Fortran order and unknown dtypes.
NpyHeader read_npy_header(ByteSource& src);
// Reads the whole array.
Tensor read_npy(ByteSource& src);

}  // namespace edgeopt::data
