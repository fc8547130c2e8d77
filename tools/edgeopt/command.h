// Subcommand registry of the CLI: each command lives in its own file and registers itself.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace edgeopt::cli {

// Declares a subcommand's options on `sub` and returns the function that runs it (exit code).
using CommandSetup = std::function<std::function<int()>(CLI::App& sub)>;

struct CommandRegistrar {
  // `order` fixes the position in --help.
  CommandRegistrar(int order, const char* name, const char* help, CommandSetup setup);
};

}  // namespace edgeopt::cli
