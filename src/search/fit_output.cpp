// fit: report.json (the record every other view reads: report.md here, report.html in
// src/report) and report.md, the table in the lecture's style.
#include <cstdio>
#include <sstream>

#include "edgeopt/fit.h"

namespace edgeopt {

namespace {

nlohmann::json optional_number(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json candidate_json(const FitCandidate& c) {
  nlohmann::json j;
  j["name"] = c.name;
  j["steps"] = c.steps;
  j["size_bytes"] = c.size_bytes;
  j["deflated_bytes"] = c.deflated_bytes;
  j["params"] = c.params;
  j["macs"] = c.macs;
  j["top1"] = c.top1;
  j["agreement"] = c.agreement;
  j["eval_count"] = c.eval_count;
  j["host_p50_ms"] = c.host_p50_ms;
  j["host_p95_ms"] = c.host_p95_ms;
  j["host_peak_ram_mb"] = c.host_peak_ram_mb;
  j["device_p50_ms"] = c.device_p50_ms;
  j["device_p95_ms"] = c.device_p95_ms;
  j["device_peak_ram_mb"] = c.device_peak_ram_mb;
  j["energy_mj"] = c.energy_mj;
  j["latency_noise"] = c.latency_noise;
  j["stage"] = c.stage;
  if (!c.cut_reason.empty()) j["cut_reason"] = c.cut_reason;
  j["fits"] = c.fits;
  j["on_frontier"] = c.on_frontier;
  j["provenance"] = c.provenance;
  j["basis"] = c.basis;
  return j;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

nlohmann::json fit_report_json(const FitResult& r, const FitOptions& o,
                               const std::string& model_name) {
  nlohmann::json j;
  j["edgeopt_fit"] = 1;  // format version; also marks a folder as fit's output
  j["model"] = model_name;
  const DeviceProfile& d = o.device;
  j["device"] = {{"name", d.name},
                 {"description", d.description},
                 {"arch", d.arch},
                 {"cores", d.cores},
                 {"ram_bytes", d.ram_bytes},
                 {"storage_bytes", d.storage_bytes},
                 {"host", d.host},
                 {"dotprod", d.dotprod},
                 {"active_watts", d.active_watts},
                 {"idle_watts", d.idle_watts}};
  j["limits"] = {{"max_latency_ms", optional_number(r.limits.max_latency_ms)},
                 {"latency_stat", r.limits.latency_p95 ? "p95" : "p50"},
                 {"max_ram_mb", optional_number(r.limits.max_ram_mb)},
                 {"max_size_mb", optional_number(r.limits.max_size_mb)},
                 {"max_energy_mj", optional_number(r.limits.max_energy_mj)},
                 {"max_drop_pp", optional_number(r.limits.max_drop_pp)}};
  j["objective"] = fit_objective_name(o.objective);
  j["seed"] = o.seed;
  j["threads"] = o.threads;
  j["eval"] = {{"spec", o.eval_spec},
               {"describe", r.eval_describe},
               {"count", r.eval_count},
               {"subset", r.subset}};
  j["calib"] = o.calib_spec;
  j["train"] = o.train_spec.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.train_spec);
  j["bench"] = r.bench_note;
  j["baseline"] = r.candidates.empty() ? "" : r.candidates[0].name;
  j["baseline_top1"] = r.baseline_top1;
  j["pick"] = r.pick ? nlohmann::json(r.candidates[*r.pick].name) : nlohmann::json(nullptr);
  j["misses"] = r.pick ? std::vector<std::string>{}
                       : closest_miss_lines(r.candidates, r.limits, r.baseline_top1);
  j["budget"] = {{"minutes", o.budget_minutes > 0 ? nlohmann::json(o.budget_minutes)
                                                  : nlohmann::json(nullptr)},
                 {"elapsed_s", r.elapsed_s},
                 {"cut", r.budget_cut}};
  j["skipped"] = r.skipped;
  nlohmann::json cs = nlohmann::json::array();
  for (const FitCandidate& c : r.candidates) cs.push_back(candidate_json(c));
  j["candidates"] = cs;
  if (r.pick) {
    const FitCandidate& p = r.candidates[*r.pick];
    j["pick_recipe"] = {{"name", p.name}, {"steps", p.steps}};
    std::string cmd = "edgeopt optimize " + model_name + " -o model.onnx --recipe recipe.json";
    if (!o.calib_spec.empty()) cmd += " --calib " + o.calib_spec;
    if (!o.train_spec.empty()) cmd += " --train " + o.train_spec;
    j["commands"] = {cmd,
                     "edgeopt eval model.onnx --data " + o.eval_spec +
                         (r.eval_count ? " --limit " + std::to_string(r.eval_count) : ""),
                     "edgeopt inspect model.onnx",
                     "edgeopt bench model.onnx --profile --threads " + std::to_string(o.threads)};
  }
  return j;
}

std::string fit_report_markdown(const nlohmann::json& j) {
  std::ostringstream o;
  const nlohmann::json& d = j.at("device");
  o << "# edgeopt fit: " << j.at("model").get<std::string>() << " on "
    << d.at("name").get<std::string>() << "\n\n";
  o << "| Model | Size MB | Deflated MB | MMACs | Latency ms ("
    << j["limits"]["latency_stat"].get<std::string>()
    << ", device) | Peak RAM MB (device) | Energy mJ | Accuracy % | Agreement % | Fits | Frontier "
       "|\n";
  o << "|---|---:|---:|---:|---:|---:|---:|---:|---:|:-:|:-:|\n";
  const bool p95 = j["limits"]["latency_stat"] == "p95";
  const nlohmann::json pick = j.at("pick");
  for (const nlohmann::json& c : j.at("candidates")) {
    const std::string name = c.at("name").get<std::string>();
    const bool is_pick = !pick.is_null() && pick == name;
    const bool confirmed = c.at("stage") == "confirmed";
    o << "| " << (is_pick ? "**" + name + "** (pick)" : name)
      << (confirmed ? "" : " (" + c.at("stage").get<std::string>() + ")") << " | "
      << fmt("%.3f", c.at("size_bytes").get<double>() / 1e6) << " | "
      << fmt("%.3f", c.at("deflated_bytes").get<double>() / 1e6) << " | "
      << fmt("%.1f", c.at("macs").get<double>() / 1e6) << " | "
      << fmt("%.3f", c.at(p95 ? "device_p95_ms" : "device_p50_ms").get<double>()) << " | "
      << fmt("%.1f", c.at("device_peak_ram_mb").get<double>()) << " | "
      << fmt("%.3f", c.at("energy_mj").get<double>()) << " | "
      << fmt("%.2f", c.at("top1").get<double>() * 100) << " | "
      << fmt("%.2f", c.at("agreement").get<double>() * 100) << " | "
      << (c.at("fits").get<bool>() ? "yes" : "no") << " | "
      << (c.at("on_frontier").get<bool>() ? "yes" : "") << " |\n";
  }
  o << "\nLimits:";
  const nlohmann::json& l = j.at("limits");
  bool any = false;
  auto limit = [&](const char* key, const char* label, const char* unit) {
    if (l.at(key).is_null()) return;
    o << (any ? ", " : " ") << label << " " << l.at(key).get<double>() << " " << unit;
    any = true;
  };
  limit("max_latency_ms", "latency", "ms");
  limit("max_ram_mb", "RAM", "MB");
  limit("max_size_mb", "size", "MB");
  limit("max_energy_mj", "energy", "mJ");
  limit("max_drop_pp", "accuracy drop", "pp");
  if (!any) o << " none";
  o << ". Objective: " << j.at("objective").get<std::string>() << ".\n\n";
  if (!pick.is_null()) {
    o << "Pick: **" << pick.get<std::string>() << "** (model.onnx). Reproduce it:\n\n";
    for (const auto& cmd : j.at("commands")) o << "    " << cmd.get<std::string>() << "\n";
  } else {
    o << "No candidate fits every limit:\n\n";
    for (const auto& line : j.at("misses")) o << "- " << line.get<std::string>() << "\n";
  }
  o << "\nAccuracy: top-1 on the first " << j["eval"]["count"] << " samples of "
    << j["eval"]["describe"].get<std::string>() << " (candidates marked (subset) were ruled out on "
    << "the first " << j["eval"]["subset"] << "). Size: the ONNX file (MB = 10^6 bytes); "
    << "Deflated: compressed with zlib. Host figures: " << j.at("bench").get<std::string>()
    << ". Device figures: " << (d.at("host").get<bool>() ? "measured on this host" : "estimated")
    << " (provenance per figure in report.json).\n";
  if (!j["budget"]["cut"].empty()) {
    o << "\n--budget cut:";
    for (const auto& x : j["budget"]["cut"]) o << " " << x.get<std::string>() << ";";
    o << "\n";
  }
  return o.str();
}

}  // namespace edgeopt
