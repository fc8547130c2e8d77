// The CLI is two programs: `edgeopt`, lean (no libtorch: what runs and measures models), and,
// when the training backend is built, `edgeopt-train` next to it (the same commands plus the
// libtorch ones). `edgeopt` hands the training commands, and recipes with a training step, to
// `edgeopt-train`, so that libtorch's ~160 MB are never mapped into a process that runs or
// benchmarks a model.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace edgeopt::cli {

// argv of main(), kept for handing the command line over.
void set_argv(char** argv);
char** saved_argv();

// This program's folder.
std::filesystem::path self_dir();
// edgeopt-train next to this program, when it exists and this program is not it.
std::optional<std::filesystem::path> train_binary();
// The lean edgeopt next to this program (this program when there is none).
std::filesystem::path lean_binary();
// The folder of libedgeopt_rt.so for a device profile's architecture, what `package` bundles:
// this program's folder for this machine's architecture, else an arm64 build folder beside this
// program's build folder (build-arm64, what `make runtime-arm64` writes).
std::filesystem::path runtime_library_dir(const std::string& device_profile);
// Replaces this process by `exe` with the saved argv (argv[0] kept). Returns only on failure.
void exec_with_saved_argv(const std::filesystem::path& exe);
// Runs `exe args...` and returns its standard output; stderr is inherited. Throws Error
// (internal) when it cannot start or exits non-zero.
std::string run_capture(const std::filesystem::path& exe, const std::vector<std::string>& args);

}  // namespace edgeopt::cli
