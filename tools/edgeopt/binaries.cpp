#include "binaries.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "edgeopt/device.h"
#include "edgeopt/error.h"

extern char** environ;

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
  std::vector<std::string> all = {exe.filename().string()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& x : all) argv.push_back(x.data());
  argv.push_back(nullptr);
  int fds[2];
  if (pipe(fds) != 0) fail(ErrorKind::kInternal, "cannot create a pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    fail(ErrorKind::kInternal, "cannot start ", exe.string(), ": ", std::strerror(rc));
  }
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail(ErrorKind::kInternal, exe.filename().string(), " ", args.empty() ? "" : args[0],
         " failed (see the message above)");
  return out;
}

}  // namespace edgeopt::cli
