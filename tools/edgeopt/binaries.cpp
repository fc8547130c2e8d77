#include "binaries.h"

#include <unistd.h>

#include "edgeopt/device.h"
#include "edgeopt/error.h"
#include "edgeopt/process.h"

namespace edgeopt::cli {

namespace fs = std::filesystem;

namespace {
char** g_argv = nullptr;
constexpr const char* kTrainName = "edgeopt-train";
}  // namespace

void set_argv(char** argv) { g_argv = argv; }
char** saved_argv() { return g_argv; }

fs::path self_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path(".") : exe.parent_path();
}

std::optional<fs::path> train_binary() {
#ifdef EDGEOPT_TRAIN_BINARY
  return std::nullopt;  // this is it
#else
  const fs::path p = self_dir() / kTrainName;
  if (::access(p.c_str(), X_OK) == 0) return p;
  return std::nullopt;
#endif
}

fs::path lean_binary() {
  const fs::path p = self_dir() / "edgeopt";
  if (::access(p.c_str(), X_OK) == 0) return p;
  return "/proc/self/exe";
}

fs::path runtime_library_dir(const std::string& device_profile) {
  if (load_device_profile(device_profile).arch == load_device_profile("host").arch)
    return self_dir();
  return self_dir().parent_path() / "build-arm64";
}

void exec_with_saved_argv(const fs::path& exe) {
  if (g_argv) execv(exe.c_str(), g_argv);
}

std::string run_capture(const fs::path& exe, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {exe.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  const package::ProcessResult r = package::run_process(argv, /*capture_stderr=*/false);
  if (r.exit_code != 0)
    fail(ErrorKind::kInternal, exe.filename().string(), " ", args.empty() ? "" : args[0],
         " failed (see the message above)");
  return r.output;
}

}  // namespace edgeopt::cli
