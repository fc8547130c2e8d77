// Distributed fit evaluations (DESIGN.md's "distributed" row): fit's candidates built and
// evaluated by workers over libtorch's c10d store. A layer of its own above search, whose
// FitWorkers interface it implements; the training layer below it knows nothing of fit.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "edgeopt/fit.h"

namespace edgeopt::train {

// fit --workers tcp://HOST:PORT: the coordinator's side. Serves the workers' store on PORT
// (c10d's TCPStore); fails when no worker is alive for `join_timeout_s` seconds while tasks wait.
std::shared_ptr<FitWorkers> serve_fit_workers(const std::string& address, int join_timeout_s,
                                              std::function<void(const std::string&)> log);

// edgeopt fit-worker tcp://HOST:PORT: runs the coordinator's tasks until its search ends (0).
int run_fit_worker(const std::string& address, int join_timeout_s,
                   const std::function<void(const std::string&)>& log);

}  // namespace edgeopt::train
