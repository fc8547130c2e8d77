// Running the edgeopt CLI from a test: exit code, stdout and stderr of one command. Shared by
// the CLI tests (the binary is the one built next to the tests).
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace edgeopt::testing {

struct CliResult {
  int exit_code = -1;
  bool signaled = false;
  std::string out, err;
  // Bad input: exit 2 with one line on stderr.
  bool one_line_input_error() const {
    size_t lines = 0;
    for (char c : err) lines += c == '\n';
    return exit_code == 2 && !signaled && lines == 1;
  }
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `edgeopt ARGS`; stdout and stderr go through files in `scratch` (an existing folder).
inline CliResult run_edgeopt(const std::string& args, const std::filesystem::path& scratch) {
  const std::string cmd = std::string(EDGEOPT_BINARY_DIR) + "/edgeopt " + args + " >" +
                          (scratch / "cli_out").string() + " 2>" + (scratch / "cli_err").string();
  const int st = std::system(cmd.c_str());
  CliResult r;
  r.signaled = WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) >= 128);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = slurp(scratch / "cli_out");
  r.err = slurp(scratch / "cli_err");
  return r;
}

}  // namespace edgeopt::testing
