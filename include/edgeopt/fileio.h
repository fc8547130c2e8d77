// File helpers shared by every writer: atomic writes and the same-file guard.
#pragma once

#include <filesystem>
#include <string>

namespace edgeopt {

// Reads a whole regular file; throws Error (invalid input) naming the path on failure.
std::string read_file(const std::filesystem::path& path);
// Writes `bytes` to `path` via a temp file in the same folder and rename, so readers never see
// a partial file.
void write_file_atomic(const std::filesystem::path& path, const std::string& bytes);
// Throws Error (invalid input) when `out` names the same file as `in`.
void refuse_same_file(const std::filesystem::path& in, const std::filesystem::path& out);

}  // namespace edgeopt
