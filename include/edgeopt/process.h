// Running the external tools a bundle is made with (the dynamic loader's --list, patchelf, strip,
// the bundle's build.sh, its example under qemu): argv in, exit code and output back. And a free
// port for the processes of a data-parallel job.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace edgeopt::package {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed by one
  std::string output;  // stdout and stderr, interleaved
};

// Runs argv[0] (searched on PATH) with argv; waits for it. Throws Error (internal) when it
// cannot start. Without `capture_stderr`, stderr goes where this process's goes and `output`
// holds stdout alone.
ProcessResult run_process(const std::vector<std::string>& argv, bool capture_stderr = true);

// The program's path when it is on PATH.
std::optional<std::filesystem::path> find_program(const std::string& name);

// A TCP port of 127.0.0.1 that is free now, for a rendezvous another process binds a moment
// later (edgeopt launch, the fit-worker tests). Throws Error (internal) when there is none.
int free_tcp_port();

}  // namespace edgeopt::package
