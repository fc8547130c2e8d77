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
// Throws Error (invalid input) unless write_file_atomic(path, ...) could write there: the
// folder exists and `path` is not a folder. Commands check every output before any work, so a
// failure never leaves one output written and another not.
void check_output_file(const std::filesystem::path& path);
// The same for an output folder: `path` is a folder or does not exist yet in an existing one.
void check_output_folder(const std::filesystem::path& path);
// Throws Error (invalid input) when `out` names the same file as `in`.
void refuse_same_file(const std::filesystem::path& in, const std::filesystem::path& out);

}  // namespace edgeopt
