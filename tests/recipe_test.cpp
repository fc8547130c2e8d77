// Recipes: parsing errors are caught before any work, and every row of the report is what an
// independent measurement of the written model gives (inspect, evaluate).
#include "edgeopt/recipe.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "edgeopt/error.h"
#include "edgeopt/eval.h"
#include "edgeopt/inspect.h"
#include "edgeopt/onnx_io.h"
#include "edgeopt/session.h"

namespace edgeopt {
namespace {

namespace fs = std::filesystem;

fs::path model_path(const char* name) { return fs::path(EDGEOPT_SOURCE_DIR) / "models" / name; }

std::string parse_error(const char* text) {
  try {
    parse_recipe(nlohmann::json::parse(text));
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    return e.what();
  }
  return "";
}

TEST(Recipe, RejectsMistakesBeforeDoingAnything) {
  EXPECT_NE(parse_error(R"({"steps": []})").find("non-empty"), std::string::npos);
  EXPECT_NE(parse_error(R"({"steps": [{"op": "shrink"}]})").find("unknown op 'shrink'"),
            std::string::npos);
  EXPECT_NE(
      parse_error(R"({"steps": [{"op": "prune", "ratoi": 0.3}]})").find("unknown option \"ratoi\""),
      std::string::npos);
  EXPECT_NE(
      parse_error(R"({"steps": [{"op": "passes", "name": "a"}, {"op": "passes", "name": "a"}]})")
          .find("used twice"),
      std::string::npos);
  EXPECT_NE(
      parse_error(
          R"({"steps": [{"op": "passes", "from": "later"}, {"op": "passes", "name": "later"}]})")
          .find("not an earlier step"),
      std::string::npos);
  EXPECT_NE(parse_error(R"({"steps": [{"op": "passes"}], "stpes": 1})").find("unknown key"),
            std::string::npos);
  // A step name that is not a string (found by fuzz_recipe: it escaped as a JSON type error).
  EXPECT_NE(parse_error(R"({"steps": [{"op": "passes", "name": true}]})")
                .find("recipe step 1: \"name\" must be a string"),
            std::string::npos);
}

TEST(Recipe, DefaultsChainStepsAndFromBranches) {
  const Recipe r = parse_recipe(nlohmann::json::parse(R"({"steps": [
      {"op": "passes"}, {"op": "prune", "name": "p", "structured": true},
      {"op": "prune", "name": "s", "from": "passes", "sparsity": 0.5}]})"));
  ASSERT_EQ(r.steps.size(), 3u);
  EXPECT_EQ(r.steps[0].name, "passes");
  EXPECT_EQ(r.steps[0].from, "baseline");
  EXPECT_EQ(r.steps[1].from, "passes");
  EXPECT_EQ(r.steps[2].from, "passes");
  EXPECT_EQ(r.steps[2].options["sparsity"], 0.5);
}

TEST(Recipe, BadOptionValueIsAnInputError) {
  const Recipe r = parse_recipe(nlohmann::json::parse(
      R"({"steps": [{"op": "prune", "structured": true, "ratio": "lots"}]})"));
  const Model m = load_model(model_path("fashion_resnet.onnx"));
  RecipeOptions opts;
  try {
    run_recipe(m, "m", r, opts, nullptr);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_NE(std::string(e.what()).find("\"ratio\" must be a number"), std::string::npos);
  }
}

TEST(Recipe, RowsMatchIndependentMeasurements) {
  const fs::path dir =
      fs::temp_directory_path() / ("edgeopt_recipe_test_" + std::to_string(getpid()));
  fs::remove_all(dir);
  const Recipe r = parse_recipe(nlohmann::json::parse(R"({"name": "t", "steps": [
      {"op": "passes", "name": "fold"},
      {"op": "prune", "name": "prune 40%", "structured": true, "ratio": 0.4},
      {"op": "prune", "name": "sparse", "from": "fold", "sparsity": 0.6}]})"));
  const Model m = load_model(model_path("fashion_resnet.onnx"));
  RecipeOptions opts;
  opts.eval_spec = "fashion-mnist:test";
  opts.eval_limit = 300;
  opts.keep_dir = dir;
  Model final_model;
  const RecipeReport rep = run_recipe(m, "fashion_resnet", r, opts, &final_model);
  ASSERT_EQ(rep.rows.size(), 4u);
  EXPECT_EQ(rep.rows[0].name, "baseline");
  // The baseline's accuracy is the unmodified model's.
  auto data = open_dataset("fashion-mnist:test");
  EvalOptions eo;
  eo.limit = 300;
  Session base(m);
  const EvalResult want_base = evaluate(base, *data, eo);
  EXPECT_DOUBLE_EQ(*rep.rows[0].top1, want_base.metrics.top1());
  for (const RecipeRow& row : rep.rows) {
    ASSERT_TRUE(fs::exists(row.file)) << row.name;
    const Model saved = load_model(row.file);
    const ModelStats st = inspect_model(saved, 1, row.file);
    EXPECT_EQ(row.file_bytes, static_cast<int64_t>(fs::file_size(row.file))) << row.name;
    EXPECT_EQ(row.compressed_bytes, st.compressed_bytes) << row.name;
    EXPECT_EQ(row.macs, st.macs) << row.name;
    EXPECT_EQ(row.params, st.params) << row.name;
    Session s(saved);
    const EvalResult got = evaluate(s, *data, eo, &base);
    EXPECT_DOUBLE_EQ(*row.top1, got.metrics.top1()) << row.name;
    if (row.name != "baseline") EXPECT_DOUBLE_EQ(*row.agreement, got.fidelity->agreement);
  }
  // Passes keep the function; structured pruning removes MACs; unstructured zeros compress.
  EXPECT_EQ(*rep.rows[1].agreement, 1.0);
  EXPECT_LT(rep.rows[2].macs, 0.5 * rep.rows[1].macs);
  EXPECT_EQ(rep.rows[2].from, "fold");
  EXPECT_EQ(rep.rows[3].from, "fold");
  EXPECT_EQ(rep.rows[3].macs, rep.rows[1].macs);
  EXPECT_LT(rep.rows[3].compressed_bytes, 0.7 * rep.rows[1].compressed_bytes);
  // The final model is the last step's.
  EXPECT_EQ(final_model.graph.nodes.size(), static_cast<size_t>(rep.rows.back().nodes));

  const std::string md = recipe_markdown(rep);
  EXPECT_NE(md.find("| Model | Size MB |"), std::string::npos);
  EXPECT_NE(md.find("| prune 40% |"), std::string::npos);
  const nlohmann::json j = recipe_json(rep);
  EXPECT_EQ(j["rows"].size(), 4u);
  EXPECT_NEAR(j["rows"][2]["macs_ratio"].get<double>(),
              double(rep.rows[2].macs) / double(rep.rows[0].macs), 1e-12);
  fs::remove_all(dir);
}

TEST(Recipe, CliBadRecipeIsOneLineExit2) {
  const fs::path dir =
      fs::temp_directory_path() / ("edgeopt_recipe_cli_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "bad.json") << R"({"steps": [{"op": "quantise"}]})";
  const std::string cmd = std::string(EDGEOPT_BINARY_DIR) + "/edgeopt optimize " +
                          model_path("fashion_resnet.onnx").string() + " -o " +
                          (dir / "out.onnx").string() + " --recipe " + (dir / "bad.json").string() +
                          " 2>" + (dir / "err").string();
  const int st = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 2);
  std::ifstream in(dir / "err");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string err = ss.str();
  EXPECT_NE(err.find("unknown op 'quantise'"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1);
  EXPECT_FALSE(fs::exists(dir / "out.onnx"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace edgeopt
