// The `fit` report as one self-contained HTML page (no network): the Pareto plot of accuracy
// against latency on the device (marker size by model size, the limits as lines, the pick
// highlighted, dominated candidates faded), accuracy against size, the table in the lecture's
// style, each candidate's recipe and the commands that reproduce the pick.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace edgeopt {

// `report` is report.json as `edgeopt fit` writes it (docs/fit.md lists the fields).
std::string fit_report_html(const nlohmann::json& report);

}  // namespace edgeopt
