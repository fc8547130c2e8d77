#include "edgeopt/fileio.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>

#include "edgeopt/error.h"

namespace edgeopt {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) fail_input(path.string(), ": no such file");
  if (fs::is_directory(st)) fail_input(path.string(), ": is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_input(path.string(), ": cannot open (", std::strerror(errno), ")");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail_input(path.string(), ": read error");
  return bytes;
}

void check_output_file(const fs::path& path) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::error_code ec;
  if (path.empty()) fail_input("an output path is empty");
  if (!fs::is_directory(dir, ec)) fail_input(path.string(), ": folder does not exist");
  if (fs::is_directory(path, ec)) fail_input(path.string(), ": is a directory");
}

void check_output_folder(const fs::path& path) {
  std::error_code ec;
  if (path.empty()) fail_input("an output folder is empty");
  const fs::file_status st = fs::status(path, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) fail_input(path.string(), ": exists and is not a folder");
    return;
  }
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (!fs::is_directory(parent, ec)) fail_input(path.string(), ": its folder does not exist");
}

void write_file_atomic(const fs::path& path, const std::string& bytes) {
  check_output_file(path);
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::random_device rd;
  const fs::path tmp = dir / ("." + path.filename().string() + ".tmp" + std::to_string(getpid()) +
                              "_" + std::to_string(rd() % 1000000));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail_input(path.string(), ": cannot write (", std::strerror(errno), ")");
  size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      fail_input(path.string(), ": write failed (", why, ")");
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    fail_input(path.string(), ": write failed (", std::strerror(errno), ")");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    fail_input(path.string(), ": cannot rename into place (", why, ")");
  }
}

void refuse_same_file(const fs::path& in, const fs::path& out) {
  std::error_code ec;
  if (fs::exists(out, ec) && fs::equivalent(in, out, ec))
    fail_input("output ", out.string(), " is the input model; refusing to overwrite it");
  if (fs::weakly_canonical(in, ec) == fs::weakly_canonical(out, ec))
    fail_input("output ", out.string(), " is the input model; refusing to overwrite it");
}

}  // namespace edgeopt
