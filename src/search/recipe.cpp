// Recipes: parsing, the step registry, running the steps with measurements, and the report.
#include "edgeopt/recipe.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "edgeopt/error.h"
#include "edgeopt/eval.h"
#include "edgeopt/fileio.h"
#include "edgeopt/inspect.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/session.h"

namespace edgeopt {

namespace fs = std::filesystem;

StepRegistry& StepRegistry::global() {
  static StepRegistry r;
  return r;
}

void StepRegistry::add(StepKind kind) {
  for (const StepKind& k : kinds_)
    if (k.op == kind.op) fail(ErrorKind::kInternal, "recipe step '", kind.op, "' registered twice");
  kinds_.push_back(std::move(kind));
}

const StepKind* StepRegistry::find(const std::string& op) const {
  for (const StepKind& k : kinds_)
    if (k.op == op) return &k;
  return nullptr;
}

std::vector<std::string> StepRegistry::ops() const {
  std::vector<std::string> v;
  for (const StepKind& k : kinds_) v.push_back(k.op);
  std::sort(v.begin(), v.end());
  return v;
}

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

Recipe parse_recipe(const nlohmann::json& j) {
  if (!j.is_object()) fail_input("recipe: expected a JSON object with \"steps\"");
  Recipe r;
  for (const auto& [key, value] : j.items()) {
    if (key == "name") {
      if (!value.is_string()) fail_input("recipe: \"name\" must be a string");
      r.name = value.get<std::string>();
    } else if (key != "steps" && key != "description") {
      fail_input("recipe: unknown key \"", key, "\" (expected name, description, steps)");
    }
  }
  if (!j.contains("steps") || !j["steps"].is_array() || j["steps"].empty())
    fail_input("recipe: \"steps\" must be a non-empty array");
  std::set<std::string> names = {"baseline"};
  std::string previous = "baseline";
  for (size_t i = 0; i < j["steps"].size(); ++i) {
    const nlohmann::json& s = j["steps"][i];
    const std::string where = "recipe step " + std::to_string(i + 1);
    if (!s.is_object()) fail_input(where, ": expected an object");
    if (!s.contains("op") || !s["op"].is_string())
      fail_input(where, ": \"op\" (a string) is missing");
    RecipeStep step;
    step.op = s["op"].get<std::string>();
    const StepKind* kind = StepRegistry::global().find(step.op);
    if (!kind)
      fail_input(where, ": unknown op '", step.op, "' (known: ", join(StepRegistry::global().ops()),
                 ")");
    if (s.contains("name") && !s["name"].is_string())
      fail_input(where, ": \"name\" must be a string");
    step.name = s.value("name", step.op);
    if (!s.contains("name") && names.count(step.name)) step.name += " " + std::to_string(i + 1);
    if (names.count(step.name))
      fail_input(where, ": the name '", step.name, "' is used twice (or is 'baseline')");
    step.from = previous;
    if (s.contains("from")) {
      if (!s["from"].is_string()) fail_input(where, ": \"from\" must be a string");
      step.from = s["from"].get<std::string>();
      if (!names.count(step.from))
        fail_input(where, ": \"from\" names '", step.from, "', which is not an earlier step");
    }
    step.options = nlohmann::json::object();
    for (const auto& [key, value] : s.items()) {
      if (key == "op" || key == "name" || key == "from") continue;
      if (std::find(kind->options.begin(), kind->options.end(), key) == kind->options.end())
        fail_input(where, " (", step.op, "): unknown option \"", key,
                   "\" (known: ", join(kind->options), ")");
      step.options[key] = value;
    }
    names.insert(step.name);
    previous = step.name;
    r.steps.push_back(std::move(step));
  }
  return r;
}

Recipe load_recipe(const fs::path& path) {
  const std::string text = read_file(path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    // parse_error, and out_of_range for a number that overflows a double ("1e400").
    const std::string msg = e.what();
    const size_t bracket = msg.find("] ");
    fail_input(path.string(),
               ": not valid JSON: ", bracket == std::string::npos ? msg : msg.substr(bracket + 2));
  }
  try {
    return parse_recipe(j);
  } catch (const Error& e) {
    fail_input(path.string(), ": ", e.what());
  }
}

namespace {

// A file-system-safe version of a step name ("prune+int8" → "prune_int8").
std::string file_stem(const std::string& name) {
  std::string s;
  for (char c : name) s += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  while (s.find("__") != std::string::npos) s.erase(s.find("__"), 1);
  return s.empty() ? "step" : s;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

double elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since)
      .count();
}

}  // namespace

RecipeReport run_recipe(const Model& model, const std::string& model_name, const Recipe& recipe,
                        const RecipeOptions& options, Model* final_model) {
  auto log = [&](const std::string& line) {
    if (options.log) options.log(line);
  };
  RecipeReport report;
  report.recipe = recipe.name;
  report.model = model_name;
  report.eval_spec = options.eval_spec;
  report.bench_note = options.bench ? options.bench_note : "";

  // Models are written to a private folder (beside keep_dir, so that the files move into it by
  // rename), removed at the end; with keep_dir they move there once every step has succeeded,
  // so a failing recipe leaves keep_dir as it was.
  const fs::path& keep = options.keep_dir;
  if (!keep.empty()) check_output_folder(keep);
  const fs::path stage_parent = keep.empty()
                                    ? fs::temp_directory_path()
                                    : (keep.has_parent_path() ? keep.parent_path() : fs::path("."));
  const fs::path dir = stage_parent / (".edgeopt_recipe_" + std::to_string(::getpid()));
  std::error_code mk;
  fs::create_directories(dir, mk);
  if (mk) fail_input(dir.string(), ": cannot create (", mk.message(), ")");
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};

  std::map<std::string, std::unique_ptr<Dataset>> datasets;
  StepContext ctx;
  ctx.dataset = [&](const std::string& spec) -> Dataset& {
    auto it = datasets.find(spec);
    if (it == datasets.end()) it = datasets.emplace(spec, open_dataset(spec)).first;
    return *it->second;
  };
  ctx.log = log;
  ctx.calibration_spec = options.calibration_spec;
  ctx.train_spec = options.train_spec;
  // Every step's options and datasets are checked before the baseline is measured.
  for (const RecipeStep& step : recipe.steps) {
    const StepKind* kind = StepRegistry::global().find(step.op);
    if (!kind || !kind->check) continue;
    try {
      kind->check(step.options, ctx);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kInvalidInput) throw;
      fail_input("recipe step '", step.name, "': ", e.what());
    }
  }

  Dataset* eval_data = options.eval_spec.empty() ? nullptr : &ctx.dataset(options.eval_spec);
  // The baseline's session is the reference every other row's agreement is measured against.
  std::unique_ptr<Session> baseline_session;
  if (eval_data) baseline_session = std::make_unique<Session>(model);

  auto measure = [&](const Model& m, RecipeRow& row) {
    row.file = dir / (file_stem(row.name) + ".onnx");
    save_model(m, row.file);
    const ModelStats st = inspect_model(m, 1, row.file);
    row.file_bytes = st.file_bytes;
    row.compressed_bytes = st.compressed_bytes;
    row.params = st.params;
    row.macs = st.macs;
    row.nodes = static_cast<int64_t>(m.graph.nodes.size());
    row.quantized_share = st.quantized_share;
    if (eval_data) {
      EvalOptions eo;
      eo.limit = options.eval_limit;
      const bool is_baseline = &m == &model;
      std::optional<Session> own;
      Session& session = is_baseline ? *baseline_session : own.emplace(m);
      const EvalResult r =
          evaluate(session, *eval_data, eo, is_baseline ? nullptr : baseline_session.get());
      row.top1 = r.metrics.top1();
      row.eval_count = r.metrics.count;
      if (r.fidelity) row.agreement = r.fidelity->agreement;
    }
    std::string line = row.name + ": " + fmt("%.3f MB, ", row.file_bytes / 1e6) +
                       fmt("%.1f MMACs", row.macs / 1e6);
    if (row.top1) line += fmt(", top-1 %.2f%%", *row.top1 * 100);
    log(line);
  };

  std::map<std::string, Model> models;
  models.emplace("baseline", model);
  {
    RecipeRow row;
    row.name = "baseline";
    measure(model, row);
    report.rows.push_back(std::move(row));
  }
  for (const RecipeStep& step : recipe.steps) {
    const StepKind* kind = StepRegistry::global().find(step.op);
    Model m = models.at(step.from);
    RecipeRow row;
    row.name = step.name;
    row.op = step.op;
    row.from = step.from;
    log("step '" + step.name + "': " + step.op + " from '" + step.from + "'");
    const auto t0 = std::chrono::steady_clock::now();
    row.summary = kind->run(m, step.options, ctx);
    row.step_ms = elapsed_ms(t0);
    measure(m, row);
    report.rows.push_back(std::move(row));
    models[step.name] = std::move(m);
  }
  // Latency last, in rounds over all models: on a shared machine, load that comes and goes then
  // hits every model alike, and the median of the rounds drops the outliers.
  if (options.bench) {
    const int rounds = std::max(1, options.bench_rounds);
    std::vector<std::vector<RecipeRow>> samples(report.rows.size());
    for (int k = 0; k < rounds; ++k) {
      for (size_t i = 0; i < report.rows.size(); ++i) {
        RecipeRow sample;
        options.bench(report.rows[i].file, sample);
        samples[i].push_back(sample);
      }
      log("benchmark round " + std::to_string(k + 1) + " of " + std::to_string(rounds) + " done");
    }
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      const size_t n = v.size();
      return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    };
    for (size_t i = 0; i < report.rows.size(); ++i) {
      std::vector<double> p50, p95, mean, rss;
      for (const RecipeRow& x : samples[i]) {
        p50.push_back(*x.p50_ms);
        p95.push_back(*x.p95_ms);
        mean.push_back(*x.mean_ms);
        rss.push_back(double(*x.peak_rss_bytes));
      }
      RecipeRow& row = report.rows[i];
      row.p50_ms = median(p50);
      row.p95_ms = median(p95);
      row.mean_ms = median(mean);
      row.peak_rss_bytes = static_cast<int64_t>(*std::max_element(rss.begin(), rss.end()));
      log(row.name + ": p50 " + fmt("%.3f ms", *row.p50_ms));
    }
  }
  if (final_model) *final_model = models.at(recipe.steps.back().name);
  if (keep.empty()) {
    for (RecipeRow& row : report.rows) row.file.clear();
  } else {
    std::error_code ec;
    fs::create_directories(keep, ec);
    if (ec) fail_input(keep.string(), ": cannot create (", ec.message(), ")");
    for (RecipeRow& row : report.rows) {
      const fs::path to = keep / row.file.filename();
      fs::rename(row.file, to, ec);
      if (ec) fail_input(to.string(), ": cannot move the step's model there (", ec.message(), ")");
      row.file = to;
    }
  }
  return report;
}

std::string recipe_markdown(const RecipeReport& r) {
  const RecipeRow& base = r.rows.front();
  const bool acc = base.top1.has_value();
  const bool lat = base.p50_ms.has_value();
  const bool ram = base.peak_rss_bytes.has_value();
  std::ostringstream o;
  o << "| Model | Size MB | Smaller | Deflated MB | MMACs |";
  if (lat) o << " Latency ms (p50) | Faster |";
  if (ram) o << " Peak RAM MB |";
  if (acc) o << " Accuracy % | Agreement % |";
  o << "\n|---|---:|---:|---:|---:|";
  if (lat) o << "---:|---:|";
  if (ram) o << "---:|";
  if (acc) o << "---:|---:|";
  o << "\n";
  for (const RecipeRow& row : r.rows) {
    // A step that did nothing says so (e.g. fine-tuning without training data).
    const bool skipped = row.summary.rfind("skipped", 0) == 0;
    o << "| " << row.name << (skipped ? " (" + row.summary + ")" : "") << " | "
      << fmt("%.3f", row.file_bytes / 1e6) << " | "
      << fmt("%.2f×", double(base.file_bytes) / std::max<int64_t>(row.file_bytes, 1)) << " | "
      << fmt("%.3f", row.compressed_bytes / 1e6) << " | " << fmt("%.1f", row.macs / 1e6) << " |";
    if (lat) {
      if (row.p50_ms)
        o << " " << fmt("%.3f", *row.p50_ms) << " | " << fmt("%.2f×", *base.p50_ms / *row.p50_ms)
          << " |";
      else
        o << " – | – |";
    }
    if (ram)
      o << " " << (row.peak_rss_bytes ? fmt("%.1f", *row.peak_rss_bytes / 1e6) : "–") << " |";
    if (acc) {
      o << " " << (row.top1 ? fmt("%.2f", *row.top1 * 100) : "–") << " | "
        << (row.agreement ? fmt("%.2f", *row.agreement * 100) : (&row == &base ? "100" : "–"))
        << " |";
    }
    o << "\n";
  }
  o << "\nSize: the ONNX file (MB = 10^6 bytes); Deflated: the file compressed with zlib, what an "
       "app package ships.";
  if (acc)
    o << " Accuracy: top-1 on " << r.eval_spec << " (" << base.eval_count
      << " samples); Agreement: same top-1 class as the baseline.";
  if (lat) o << " Latency and peak RAM: " << r.bench_note << ".";
  o << "\n";
  return o.str();
}

nlohmann::json recipe_json(const RecipeReport& r) {
  nlohmann::json j;
  j["recipe"] = r.recipe;
  j["model"] = r.model;
  if (!r.eval_spec.empty()) j["eval"] = r.eval_spec;
  if (!r.bench_note.empty()) j["bench"] = r.bench_note;
  const RecipeRow& base = r.rows.front();
  nlohmann::json rows = nlohmann::json::array();
  for (const RecipeRow& row : r.rows) {
    nlohmann::json x;
    x["name"] = row.name;
    if (!row.op.empty()) {
      x["op"] = row.op;
      x["from"] = row.from;
      x["summary"] = row.summary;
      x["step_ms"] = row.step_ms;
    }
    x["file_bytes"] = row.file_bytes;
    x["compressed_bytes"] = row.compressed_bytes;
    x["params"] = row.params;
    x["macs"] = row.macs;
    x["nodes"] = row.nodes;
    x["quantized_share"] = row.quantized_share;
    x["size_ratio"] = double(row.file_bytes) / std::max<int64_t>(base.file_bytes, 1);
    x["macs_ratio"] = base.macs ? double(row.macs) / double(base.macs) : 1.0;
    if (row.top1) {
      x["top1"] = *row.top1;
      x["eval_count"] = row.eval_count;
      if (base.top1) x["top1_drop_pp"] = (*base.top1 - *row.top1) * 100;
    }
    if (row.agreement) x["agreement"] = *row.agreement;
    if (row.p50_ms) {
      x["p50_ms"] = *row.p50_ms;
      if (row.p95_ms) x["p95_ms"] = *row.p95_ms;
      if (row.mean_ms) x["mean_ms"] = *row.mean_ms;
      if (base.p50_ms) x["speedup"] = *base.p50_ms / *row.p50_ms;
    }
    if (row.peak_rss_bytes) x["peak_rss_bytes"] = *row.peak_rss_bytes;
    if (!row.file.empty()) x["file"] = row.file.string();
    rows.push_back(std::move(x));
  }
  j["rows"] = rows;
  return j;
}

}  // namespace edgeopt
