// edgeopt launch -n N [--hosts H1,H2,...] [--port P] [--join-timeout S] -- COMMAND ...
// Runs COMMAND as the ranks of a data-parallel job (what torchrun does; Debian's torchrun does
// not run on its Python): N local processes with torchrun's environment, RANK, LOCAL_RANK,
// WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT, plus EDGEOPT_JOIN_TIMEOUT (how
// long a rank waits for its peers). It forwards SIGINT, SIGTERM and SIGHUP to the ranks, and
// when a rank fails (non-zero exit or a signal) it stops the others and exits with one line,
// instead of leaving them blocked in a collective.
//
// With --hosts, a job spans several machines, N ranks each: launch prints the command to start
// on each host (the first host serves the rendezvous) and exits; `--node-rank K --nodes M
// --master H` is what those commands carry.
//
// COMMAND `edgeopt` or `edgeopt-train` is the program next to this one.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "binaries.h"
#include "cli_checks.h"
#include "command.h"
#include "edgeopt/error.h"
#include "edgeopt/process.h"

extern char** environ;

namespace edgeopt::cli {
namespace {

struct LaunchArgs {
  int ranks = 1;
  std::vector<std::string> hosts;
  int nodes = 1, node_rank = 0;
  std::string master = "127.0.0.1";
  int port = 0;
  int join_timeout = 60;
  std::vector<std::string> command;
};

volatile sig_atomic_t g_signal = 0;
void on_signal(int sig) { g_signal = sig; }

std::string quoted(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789-_./:=,+@%") == std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// A multi-host job: the command for each host.
int print_host_commands(const LaunchArgs& a) {
  const int port = a.port ? a.port : 29500;
  std::printf(
      "# %zu hosts x %d ranks = %zu ranks; start on each host (the first serves the "
      "rendezvous on port %d):\n",
      a.hosts.size(), a.ranks, a.hosts.size() * a.ranks, port);
  for (size_t h = 0; h < a.hosts.size(); ++h) {
    std::string line = "edgeopt launch -n " + std::to_string(a.ranks) + " --nodes " +
                       std::to_string(a.hosts.size()) + " --node-rank " + std::to_string(h) +
                       " --master " + quoted(a.hosts[0]) + " --port " + std::to_string(port) +
                       " --join-timeout " + std::to_string(a.join_timeout) + " --";
    for (const std::string& c : a.command) line += " " + quoted(c);
    std::printf("%s:  %s\n", a.hosts[h].c_str(), line.c_str());
  }
  return 0;
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status))
    return std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

int run_launch(LaunchArgs& a) {
  if (a.command.empty())
    fail_input("launch: give the command after --, e.g. -- edgeopt finetune ...");
  if (!a.hosts.empty()) {
    if (a.nodes != 1 || a.node_rank != 0)
      fail_input("launch: --hosts prints the per-host commands; it excludes --nodes/--node-rank");
    return print_host_commands(a);
  }
  if (a.node_rank >= a.nodes)
    fail_input("launch: --node-rank ", a.node_rank, " must be below --nodes ", a.nodes);
  if (a.nodes > 1 && a.port == 0) fail_input("launch: a job on several hosts needs --port");
  const int port = a.port ? a.port : package::free_tcp_port();
  const int world = a.ranks * a.nodes;

  // The program: edgeopt and edgeopt-train are the ones next to this program.
  std::vector<std::string> argv = a.command;
  if (argv[0] == "edgeopt" || argv[0] == "edgeopt-train") {
    const auto p = self_dir() / argv[0];
    if (::access(p.c_str(), X_OK) == 0) argv[0] = p.string();
  }

  // The environment every rank shares; RANK and LOCAL_RANK are added per rank.
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  env["WORLD_SIZE"] = std::to_string(world);
  env["LOCAL_WORLD_SIZE"] = std::to_string(a.ranks);
  env["GROUP_RANK"] = std::to_string(a.node_rank);
  env["MASTER_ADDR"] = a.master;
  env["MASTER_PORT"] = std::to_string(port);
  env["EDGEOPT_JOIN_TIMEOUT"] = std::to_string(a.join_timeout);

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);

  std::vector<pid_t> pids;
  auto stop_all = [&](int sig) {
    for (pid_t p : pids)
      if (p > 0) ::kill(p, sig);
  };
  for (int local = 0; local < a.ranks; ++local) {
    env["RANK"] = std::to_string(a.node_rank * a.ranks + local);
    env["LOCAL_RANK"] = std::to_string(local);
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp, args;
    for (std::string& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    for (std::string& s : argv) args.push_back(s.data());
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), envp.data());
    if (rc != 0) {
      stop_all(SIGKILL);
      for (pid_t p : pids) ::waitpid(p, nullptr, 0);
      fail_input("launch: cannot start '", a.command[0], "': ", std::strerror(rc));
    }
    pids.push_back(pid);
  }

  // Wait: the first rank that fails (or a signal to launch) stops the job.
  int alive = a.ranks, exit_code = 0, forwarded = 0;
  bool stopping = false;
  auto deadline = std::chrono::steady_clock::time_point::max();
  while (alive > 0) {
    if (g_signal && g_signal != forwarded) {
      forwarded = g_signal;
      stop_all(forwarded);
      if (!stopping) exit_code = 128 + forwarded;
      stopping = true;
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    }
    if (stopping && std::chrono::steady_clock::now() > deadline) {
      stop_all(SIGKILL);
      deadline = std::chrono::steady_clock::time_point::max();
    }
    int status = 0;
    const pid_t p = ::waitpid(-1, &status, WNOHANG);
    if (p <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    size_t rank = 0;
    while (rank < pids.size() && pids[rank] != p) ++rank;
    if (rank == pids.size()) continue;
    pids[rank] = -1;
    --alive;
    const bool failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    if (failed && !stopping) {
      std::fprintf(stderr, "edgeopt: error: launch: rank %zu of %d %s; stopped the other %d\n",
                   a.node_rank * a.ranks + rank, world, describe_status(status).c_str(), alive);
      std::fflush(stderr);
      exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
      stopping = true;
      stop_all(SIGTERM);
      deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    }
  }
  return exit_code;
}

CommandRegistrar reg(
    160, "launch", "Run a command as N ranks of a data-parallel job (torchrun's environment)",
    [](CLI::App& sub) {
      auto a = std::make_shared<LaunchArgs>();
      sub.add_option("-n,--ranks", a->ranks, "Ranks (processes) on this host")
          ->required()
          ->check(whole(1, 1024));
      sub.add_option("--hosts", a->hosts,
                     "A job on several hosts (N ranks each): print the command for each host")
          ->delimiter(',');
      sub.add_option("--nodes", a->nodes, "Hosts in the job (what the per-host commands give)")
          ->check(whole(1, 65536));
      sub.add_option("--node-rank", a->node_rank, "This host's index in the job")
          ->check(whole(0, 65535));
      sub.add_option("--master", a->master, "Host of rank 0, which serves the rendezvous");
      sub.add_option("--port", a->port, "Rendezvous TCP port (default: a free one, local jobs)")
          ->check(whole(1, 65535));
      sub.add_option("--join-timeout", a->join_timeout,
                     "Seconds a rank waits for its peers to join before failing")
          ->check(whole(1, 86400));
      sub.add_option("command", a->command, "The command each rank runs, after --")->required();
      return [a] { return run_launch(*a); };
    });

}  // namespace
}  // namespace edgeopt::cli
