// Zip archives (the container of .npz): central directory parsing and a stored-entry writer.
// Layout per PKWARE APPNOTE 6.3: local headers + data, central directory, [zip64 end record,
// zip64 locator], end of central directory record (EOCD).
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "data/byte_source.h"
#include "edgeopt/error.h"

namespace edgeopt::data {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50;
constexpr uint32_t kMax32 = 0xffffffffu;

uint16_t le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t le64(const unsigned char* p) {
  return static_cast<uint64_t>(le32(p)) | (static_cast<uint64_t>(le32(p + 4)) << 32);
}

void put16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}
void put32(std::string& s, uint32_t v) {
  put16(s, static_cast<uint16_t>(v & 0xffff));
  put16(s, static_cast<uint16_t>(v >> 16));
}

}  // namespace

std::vector<ZipEntry> zip_entries(const fs::path& path) {
  const std::string name = path.string();
  auto file = open_file_source(path);
  const uint64_t size = file->size();
  if (size < 22) fail_input(name, ": not a zip archive (too small)");
  // The EOCD is the last 22 bytes plus a comment of at most 65535 bytes: scan that tail
  // backwards for its signature.
  const uint64_t tail_len = std::min<uint64_t>(size, 22 + 65535);
  std::vector<unsigned char> tail(tail_len);
  file->read_at(size - tail_len, tail.data(), tail.size());
  int64_t eocd = -1;
  for (int64_t i = static_cast<int64_t>(tail_len) - 22; i >= 0; --i)
    if (le32(&tail[i]) == kEocdSig) {
      eocd = i;
      break;
    }
  if (eocd < 0) fail_input(name, ": not a zip archive (no end of central directory record)");
  const unsigned char* e = &tail[eocd];
  if (le16(e + 4) != 0 || le16(e + 6) != 0) fail_unsupported(name, ": multi-disk zip archive");
  uint64_t count = le16(e + 10);
  uint64_t cd_size = le32(e + 12);
  uint64_t cd_offset = le32(e + 16);
  const uint64_t eocd_pos = size - tail_len + static_cast<uint64_t>(eocd);
  if (count == 0xffff || cd_size == kMax32 || cd_offset == kMax32) {
    // Zip64: a locator right before the EOCD points at the zip64 end record.
    if (eocd_pos < 20) fail_input(name, ": corrupt zip64 archive");
    unsigned char loc[20];
    file->read_at(eocd_pos - 20, loc, sizeof(loc));
    if (le32(loc) != kZip64LocatorSig) fail_input(name, ": corrupt zip64 archive (no locator)");
    unsigned char rec[56];
    file->read_at(le64(loc + 8), rec, sizeof(rec));
    if (le32(rec) != kZip64EocdSig) fail_input(name, ": corrupt zip64 end record");
    count = le64(rec + 32);
    cd_size = le64(rec + 40);
    cd_offset = le64(rec + 48);
  }
  if (cd_offset > size || cd_size > size - cd_offset)
    fail_input(name, ": corrupt zip archive (central directory out of range)");
  std::vector<unsigned char> cd(cd_size);
  file->read_at(cd_offset, cd.data(), cd.size());

  std::vector<ZipEntry> entries;
  size_t p = 0;
  for (uint64_t k = 0; k < count; ++k) {
    if (p + 46 > cd.size() || le32(&cd[p]) != kCentralSig)
      fail_input(name, ": corrupt zip central directory (entry ", k, ")");
    const unsigned char* h = &cd[p];
    ZipEntry z;
    const uint16_t flags = le16(h + 8);
    z.method = le16(h + 10);
    z.crc32 = le32(h + 16);
    z.compressed = le32(h + 20);
    z.size = le32(h + 24);
    const size_t nlen = le16(h + 28), xlen = le16(h + 30), clen = le16(h + 32);
    uint64_t local = le32(h + 42);
    if (p + 46 + nlen + xlen + clen > cd.size())
      fail_input(name, ": corrupt zip central directory (entry ", k, ")");
    z.name.assign(reinterpret_cast<const char*>(h + 46), nlen);
    // Zip64 extra field (id 1) holds, in order, only the fields saturated at 0xffffffff.
    for (size_t x = 0; x + 4 <= xlen;) {
      const unsigned char* f = h + 46 + nlen + x;
      const uint16_t id = le16(f), len = le16(f + 2);
      if (x + 4 + len > xlen) break;
      if (id == 1) {
        size_t q = 4;
        auto next = [&](uint64_t& v) {
          if (v != kMax32) return;
          if (q + 8 > 4u + len) fail_input(name, ": corrupt zip64 extra field of ", z.name);
          v = le64(f + q);
          q += 8;
        };
        next(z.size);
        next(z.compressed);
        next(local);
      }
      x += 4 + len;
    }
    if (flags & 1) fail_unsupported(name, ": entry ", z.name, " is encrypted");
    // The data follows the local header, whose name/extra lengths may differ from the
    // central directory's.
    unsigned char lh[30];
    file->read_at(local, lh, sizeof(lh));
    if (le32(lh) != kLocalSig) fail_input(name, ": corrupt zip local header of ", z.name);
    z.data_offset = local + 30 + le16(lh + 26) + le16(lh + 28);
    if (z.data_offset > size || z.compressed > size - z.data_offset)
      fail_input(name, ": entry ", z.name, " runs past the end of the archive");
    entries.push_back(std::move(z));
    p += 46 + nlen + xlen + clen;
  }
  return entries;
}

std::unique_ptr<ByteSource> open_zip_entry(const fs::path& path, const ZipEntry& e) {
  const std::string name = path.string() + ":" + e.name;
  if (e.method == 0) {
    if (e.compressed != e.size) fail_input(name, ": stored entry with mismatched sizes");
    return open_file_range(path, e.data_offset, e.size, name);
  }
  if (e.method == 8) return open_inflate_source(path, e.data_offset, e.compressed, e.size, name);
  fail_unsupported(name, ": zip compression method ", e.method,
                   " (only stored and deflated entries are supported)");
}

std::string zip_stored(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out, central;
  for (const auto& file : files) {
    // Named references, not a structured binding: lambdas may not capture bindings before C++20
    // compilers implement P1091 (clang 14 refuses it).
    const std::string& fname = file.first;
    const std::string& bytes = file.second;
    if (bytes.size() >= kMax32 || out.size() >= kMax32)
      fail_unsupported("zip writer: entry ", fname, " needs zip64 (over 4 GB)");
    const uint32_t crc = static_cast<uint32_t>(
        crc32_z(crc32(0, nullptr, 0), reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
    const uint32_t offset = static_cast<uint32_t>(out.size());
    const uint16_t dos_date = (0 << 9) | (1 << 5) | 1;  // 1980-01-01
    auto common = [&](std::string& s) {
      put16(s, 20);  // version needed: 2.0
      put16(s, 0);   // flags
      put16(s, 0);   // method: stored
      put16(s, 0);   // time
      put16(s, dos_date);
      put32(s, crc);
      put32(s, static_cast<uint32_t>(bytes.size()));
      put32(s, static_cast<uint32_t>(bytes.size()));
      put16(s, static_cast<uint16_t>(fname.size()));
      put16(s, 0);  // extra length
    };
    put32(out, kLocalSig);
    common(out);
    out += fname;
    out += bytes;
    put32(central, kCentralSig);
    put16(central, 20);  // version made by
    common(central);
    put16(central, 0);  // comment length
    put16(central, 0);  // disk
    put16(central, 0);  // internal attributes
    put32(central, 0);  // external attributes
    put32(central, offset);
    central += fname;
  }
  if (out.size() >= kMax32 || files.size() >= 0xffff)
    fail_unsupported("zip writer: archive needs zip64 (over 4 GB or 65535 entries)");
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += central;
  put32(out, kEocdSig);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<uint16_t>(files.size()));
  put16(out, static_cast<uint16_t>(files.size()));
  put32(out, static_cast<uint32_t>(central.size()));
  put32(out, cd_offset);
  put16(out, 0);
  return out;
}

}  // namespace edgeopt::data
