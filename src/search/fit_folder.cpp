// fit: OUT_DIR written as a whole (docs/fit.md), shared by `edgeopt fit` and `edgeopt.fit`.
// Everything goes to a temporary folder beside OUT_DIR, renamed into place at the end. An
// existing OUT_DIR is replaced only when it is empty or the output of an earlier fit (its
// report.json says so); anything else is refused, so a typo never deletes a user's folder.
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <string>

#include "edgeopt/error.h"
#include "edgeopt/fileio.h"
#include "edgeopt/fit.h"
#include "edgeopt/fit_report.h"
#include "edgeopt/onnx_io.h"

namespace edgeopt {

namespace {

namespace fs = std::filesystem;

// True when `dir` is empty or holds what an earlier fit wrote.
bool replaceable(const fs::path& dir) {
  if (fs::is_empty(dir)) return true;
  const fs::path report = dir / "report.json";
  if (!fs::is_regular_file(report)) return false;
  try {
    return nlohmann::json::parse(read_file(report)).contains("edgeopt_fit");
  } catch (const std::exception&) {
    return false;
  }
}

// `out` normalized ("out/" is "out"); throws Error (invalid input) when it cannot receive the
// output of a fit of `model`.
fs::path checked_output_dir(const std::string& out_arg, const fs::path& model) {
  fs::path out = fs::path(out_arg).lexically_normal();
  if (out.filename().empty() && out.has_parent_path()) out = out.parent_path();
  if (out.filename().empty() || out.filename() == "." || out.filename() == "..")
    fail_input("fit: -o needs a folder name, got '", out_arg, "'");
  if (fs::exists(out)) {
    if (!fs::is_directory(out)) fail_input("fit: ", out.string(), " exists and is not a folder");
    if (!replaceable(out))
      fail_input("fit: ", out.string(),
                 " is not empty and not the output of an earlier edgeopt fit: give a new folder");
  }
  const fs::path m = fs::weakly_canonical(model), o = fs::weakly_canonical(out);
  for (fs::path p = m.parent_path(); !p.empty(); p = p.parent_path()) {
    if (p == o)
      fail_input("fit: the model ", model.string(), " is inside the output folder ", out.string());
    if (p == p.parent_path()) break;
  }
  return out;
}

// Removes a folder on scope exit unless released.
struct TempDir {
  fs::path path;
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

// A candidate's name as a file name.
std::string stem(const std::string& name) {
  std::string s;
  for (char c : name) s += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '_';
  return s;
}

bool on_frontier(const FitResult& r, const std::string& name) {
  for (const FitCandidate& c : r.candidates)
    if (c.name == name) return c.on_frontier;
  return false;
}

// report.json, report.md, report.html, candidates/ and, with a pick, model.onnx and recipe.json
// into `dir`.
void write_reports_and_models(const FitResult& r, const nlohmann::json& report,
                              const std::string& markdown, const fs::path& dir) {
  write_file_atomic(dir / "report.json", report.dump(2) + "\n");
  write_file_atomic(dir / "report.md", markdown);
  write_file_atomic(dir / "report.html", fit_report_html(report));
  for (const auto& [name, file] : r.files)
    if (on_frontier(r, name)) fs::copy_file(file, dir / "candidates" / (stem(name) + ".onnx"));
  if (!r.pick) return;
  const std::string& pick = r.candidates[*r.pick].name;
  for (const auto& [name, file] : r.files)
    if (name == pick) fs::copy_file(file, dir / "model.onnx");
  write_file_atomic(dir / "recipe.json", report.at("pick_recipe").dump(2) + "\n");
}

// Moves the finished folder `tmp` to `out`, replacing an earlier fit output.
void commit_output(const fs::path& tmp, const fs::path& out) {
  fs::path old;
  if (fs::exists(out)) {
    old =
        out.parent_path() / ("." + out.filename().string() + ".old-" + std::to_string(::getpid()));
    fs::rename(out, old);
  }
  fs::rename(tmp, out);
  std::error_code ec;
  if (!old.empty()) fs::remove_all(old, ec);
}

}  // namespace

FitOutput run_fit_to_folder(const std::string& model_path, const std::string& out_arg,
                            FitOptions options) {
  const fs::path out = checked_output_dir(out_arg, model_path);
  const Model model = load_model(model_path);

  fs::create_directories(fs::absolute(out).parent_path());
  TempDir tmp{out.parent_path() /
              ("." + out.filename().string() + ".tmp-" + std::to_string(::getpid()))};
  fs::remove_all(tmp.path);
  fs::create_directories(tmp.path / "work");
  fs::create_directories(tmp.path / "candidates");
  options.work_dir = tmp.path / "work";
  options.model_path = fs::absolute(model_path).string();

  const FitResult r = run_fit(model, options);
  FitOutput result;
  result.dir = out;
  result.report = fit_report_json(r, options, model_path);
  // Where each frontier model is, relative to OUT_DIR.
  for (auto& c : result.report["candidates"])
    if (c["on_frontier"].get<bool>()) c["file"] = "candidates/" + stem(c["name"]) + ".onnx";
  result.markdown = fit_report_markdown(result.report);
  write_reports_and_models(r, result.report, result.markdown, tmp.path);
  fs::remove_all(tmp.path / "work");
  commit_output(tmp.path, out);
  tmp.path.clear();
  return result;
}

}  // namespace edgeopt
