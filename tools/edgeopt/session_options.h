// The SessionOptions of the commands that run a model (bench, run, eval): their --provider and
// --threads, and EDGEOPT_WINOGRAD, read here at the CLI layer and handed to the runtime as
// SessionOptions::winograd (kernels never read the environment): 0 = direct convolutions only,
// 1 = Winograd for every conv its kernels can run, unset or empty = the provider's rule.
#pragma once

#include <cstdlib>
#include <string>

#include "edgeopt/error.h"
#include "edgeopt/session.h"

namespace edgeopt::cli {

inline WinogradMode winograd_from_env() {
  const char* env = std::getenv("EDGEOPT_WINOGRAD");
  if (!env || !*env) return WinogradMode::kAuto;
  const std::string v = env;
  if (v == "0") return WinogradMode::kOff;
  if (v == "1") return WinogradMode::kAll;
  fail_input("EDGEOPT_WINOGRAD=", v, ": must be 0 (no Winograd convs) or 1 (every one)");
}

inline SessionOptions session_options(const std::string& providers, int threads) {
  SessionOptions so;
  so.providers = split_provider_list(providers);
  so.threads = threads;
  so.winograd = winograd_from_env();
  return so;
}

}  // namespace edgeopt::cli
