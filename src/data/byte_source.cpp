#include "data/byte_source.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "edgeopt/error.h"

namespace edgeopt::data {

namespace fs = std::filesystem;

namespace {

void check_regular_file(const fs::path& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) fail_input(path.string(), ": no such file");
  if (fs::is_directory(st)) fail_input(path.string(), ": is a directory, expected a file");
}

class FileSource : public ByteSource {
 public:
  FileSource(const fs::path& path, uint64_t offset, uint64_t length, std::string name)
      : name_(std::move(name)), offset_(offset) {
    check_regular_file(path);
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) fail_input(name_, ": cannot open (", std::strerror(errno), ")");
    const off_t end = ::lseek(fd_, 0, SEEK_END);
    if (end < 0) fail_input(name_, ": cannot seek");
    const uint64_t file_size = static_cast<uint64_t>(end);
    if (offset > file_size) fail_input(name_, ": truncated file");
    length_ = std::min<uint64_t>(length, file_size - offset);
  }
  ~FileSource() override {
    if (fd_ >= 0) ::close(fd_);
  }

  void read_at(uint64_t off, void* dst, size_t n) override {
    if (off > length_ || n > length_ - off)
      fail_input(name_, ": truncated (wanted ", n, " bytes at offset ", off, " of ", length_, ")");
    auto* p = static_cast<char*>(dst);
    while (n > 0) {
      const ssize_t got = ::pread(fd_, p, n, static_cast<off_t>(offset_ + off));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) fail_input(name_, ": read error");
      p += got;
      off += static_cast<uint64_t>(got);
      n -= static_cast<size_t>(got);
    }
  }
  uint64_t size() const override { return length_; }
  const std::string& name() const override { return name_; }

 private:
  std::string name_;
  int fd_ = -1;
  uint64_t offset_ = 0;
  uint64_t length_ = 0;
};

class GzipSource : public ByteSource {
 public:
  explicit GzipSource(const fs::path& path) : name_(path.string()) {
    check_regular_file(path);
    gz_ = gzopen(path.c_str(), "rb");
    if (!gz_) fail_input(name_, ": cannot open");
    gzbuffer(gz_, 1 << 17);
    // A plain file read through zlib's pass-through has a known size, which lets callers check
    // what a header declares against it before allocating.
    std::error_code ec;
    if (gzdirect(gz_) == 1) {
      const uintmax_t n = fs::file_size(path, ec);
      if (!ec) size_ = n;
    }
  }
  ~GzipSource() override {
    if (gz_) gzclose(gz_);
  }

  void read_at(uint64_t off, void* dst, size_t n) override {
    // gzseek emulates seeking: forward by decompressing, backward by starting over.
    if (static_cast<uint64_t>(gztell(gz_)) != off &&
        gzseek(gz_, static_cast<z_off_t>(off), SEEK_SET) < 0)
      fail_input(name_, ": cannot seek to offset ", off, " (corrupt or truncated gzip?)");
    auto* p = static_cast<char*>(dst);
    while (n > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n, 1u << 30));
      const int got = gzread(gz_, p, chunk);
      if (got <= 0) {
        int err = Z_OK;
        const char* msg = gzerror(gz_, &err);
        fail_input(name_, ": ", err != Z_OK && err != Z_STREAM_END ? msg : "truncated file",
                   " (wanted ", n, " more bytes)");
      }
      p += got;
      n -= static_cast<size_t>(got);
    }
  }
  uint64_t size() const override { return size_; }
  const std::string& name() const override { return name_; }

 private:
  std::string name_;
  gzFile gz_ = nullptr;
  uint64_t size_ = std::numeric_limits<uint64_t>::max();  // known for plain files only
};

class InflateSource : public ByteSource {
 public:
  InflateSource(const fs::path& path, uint64_t offset, uint64_t compressed, uint64_t size,
                std::string name)
      : name_(std::move(name)),
        size_(size),
        file_(path, offset, compressed, name_ + " (compressed data)") {
    if (file_.size() < compressed) fail_input(name_, ": truncated archive");
    compressed_ = compressed;
    restart();
  }
  ~InflateSource() override { inflateEnd(&zs_); }

  void read_at(uint64_t off, void* dst, size_t n) override {
    if (off > size_ || n > size_ - off)
      fail_input(name_, ": truncated (wanted ", n, " bytes at offset ", off, " of ", size_, ")");
    if (off < pos_) restart();
    // Skip forward by inflating into a scratch buffer.
    std::vector<char> skip;
    while (pos_ < off) {
      const size_t k = static_cast<size_t>(std::min<uint64_t>(off - pos_, 1 << 16));
      skip.resize(k);
      inflate_into(skip.data(), k);
    }
    inflate_into(static_cast<char*>(dst), n);
  }
  uint64_t size() const override { return size_; }
  const std::string& name() const override { return name_; }

 private:
  void restart() {
    if (started_) inflateEnd(&zs_);
    std::memset(&zs_, 0, sizeof(zs_));
    // Negative window bits: raw deflate, no zlib/gzip wrapper (as stored in zip entries).
    if (inflateInit2(&zs_, -MAX_WBITS) != Z_OK) fail_input(name_, ": inflateInit2 failed");
    started_ = true;
    pos_ = 0;
    in_pos_ = 0;
    zs_.avail_in = 0;
  }

  void inflate_into(char* dst, size_t n) {
    zs_.next_out = reinterpret_cast<Bytef*>(dst);
    while (n > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n, 1u << 30));
      zs_.next_out = reinterpret_cast<Bytef*>(dst);
      zs_.avail_out = chunk;
      while (zs_.avail_out > 0) {
        if (zs_.avail_in == 0) {
          const uint64_t k = std::min<uint64_t>(compressed_ - in_pos_, in_.size());
          if (k == 0) fail_input(name_, ": truncated compressed data");
          file_.read_at(in_pos_, in_.data(), static_cast<size_t>(k));
          in_pos_ += k;
          zs_.next_in = reinterpret_cast<Bytef*>(in_.data());
          zs_.avail_in = static_cast<uInt>(k);
        }
        const int rc = inflate(&zs_, Z_NO_FLUSH);
        if (rc == Z_STREAM_END && zs_.avail_out > 0)
          fail_input(name_, ": compressed data ends early");
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
          fail_input(name_, ": corrupt compressed data (", zs_.msg ? zs_.msg : "inflate error",
                     ")");
      }
      dst += chunk;
      n -= chunk;
      pos_ += chunk;
    }
  }

  std::string name_;
  uint64_t size_ = 0;
  FileSource file_;
  uint64_t compressed_ = 0;
  z_stream zs_{};
  bool started_ = false;
  uint64_t pos_ = 0;     // decompressed bytes produced so far
  uint64_t in_pos_ = 0;  // compressed bytes consumed from file_
  std::vector<char> in_ = std::vector<char>(1 << 16);
};

}  // namespace

std::unique_ptr<ByteSource> open_file_source(const fs::path& path) {
  return std::make_unique<FileSource>(path, 0, std::numeric_limits<uint64_t>::max(), path.string());
}

std::unique_ptr<ByteSource> open_file_range(const fs::path& path, uint64_t offset, uint64_t length,
                                            std::string name) {
  return std::make_unique<FileSource>(path, offset, length, std::move(name));
}

std::unique_ptr<ByteSource> open_gzip_source(const fs::path& path) {
  return std::make_unique<GzipSource>(path);
}

std::unique_ptr<ByteSource> open_inflate_source(const fs::path& path, uint64_t offset,
                                                uint64_t compressed, uint64_t size,
                                                std::string name) {
  return std::make_unique<InflateSource>(path, offset, compressed, size, std::move(name));
}

}  // namespace edgeopt::data
