// The `fit` HTML report: its structure, where the pick's marker lands (worked out by hand from
// the axis rules), escaping of names that come from users, and pages from odd reports. The
// browser half (tests/fit_report_browser.sh) renders the pages FitReportBrowser writes in
// headless Chromium and finds the pick in the screenshot.
#include "edgeopt/fit_report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

namespace edgeopt {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// Six candidates with round figures: device p50 latencies 10..50 ms (a 10 ms step from 10 to
// 50 on the axis), top-1 85..92 % (a 2 pp step from 84 to 92), sizes 1..44.7 MB (0 to 50).
json candidate(const std::string& name, json steps, double size_mb, double p50_ms, double top1,
               bool fits, bool frontier) {
  return {{"name", name},
          {"steps", std::move(steps)},
          {"size_bytes", size_mb * 1e6},
          {"deflated_bytes", size_mb * 0.9e6},
          {"params", 1000000},
          {"macs", 2000000},
          {"top1", top1},
          {"agreement", 0.98},
          {"host_p50_ms", p50_ms / 4},
          {"host_p95_ms", p50_ms / 3},
          {"host_peak_ram_mb", 80},
          {"device_p50_ms", p50_ms},
          {"device_p95_ms", p50_ms * 1.2},
          {"device_peak_ram_mb", 60 + size_mb},
          {"energy_mj", p50_ms * 6.4},
          {"fits", fits},
          {"on_frontier", frontier},
          {"provenance",
           {{"size_bytes", "measured"},
            {"top1", "measured"},
            {"device_p50_ms", "estimated"},
            {"device_peak_ram_mb", "estimated"},
            {"energy_mj", "estimated"}}}};
}

const char* kEvilName = "<img src=x onerror=alert(1)>&\"'";

json sample_report() {
  json quant =
      json::array({{{"name", "q"}, {"op", "quantize"}, {"mode", "static"}, {"per_channel", true}}});
  json prune = json::array({{{"name", "p"}, {"op", "prune"}, {"structured", true}, {"ratio", 0.5}},
                            {{"name", "q"}, {"op", "quantize"}, {"mode", "static"}}});
  json report;
  report["device"] = {{"name", "raspberry-pi-4"},
                      {"description", "Raspberry Pi 4 Model B, 4x Cortex-A72"},
                      {"arch", "aarch64"},
                      {"cores", 4}};
  report["limits"] = {{"max_latency_ms", 35}, {"latency_stat", "p50"},    {"max_ram_mb", 512},
                      {"max_size_mb", 16},    {"max_energy_mj", nullptr}, {"max_drop_pp", 1}};
  report["pick"] = "int8-static";
  report["baseline"] = "fp32";
  report["candidates"] = json::array({
      candidate("fp32", json::array(), 44.7, 50, 0.92, false, true),
      candidate("fp16", json::array({{{"op", "quantize"}, {"mode", "fp16"}}}), 22.4, 40, 0.918,
                false, true),
      candidate(kEvilName, json::array({{{"op", "lowrank"}, {"rank", "<b>"}}}), 30, 45, 0.91, false,
                false),
      candidate("int8-static", quant, 11.2, 30, 0.915, true, true),
      candidate("prune-50-int8", prune, 6, 20, 0.90, false, true),
      candidate("student-xs", json::array({{{"op", "distill"}, {"student", "mobilenet-xs"}}}), 1,
                10, 0.85, false, true),
  });
  report["commands"] = {"edgeopt quantize model.onnx --calib fashion-mnist:train -o int8.onnx",
                        "edgeopt bench int8.onnx --device raspberry-pi-4 </dev/null"};
  report["budget"] = "12 of 20 minutes used; QAT was cut by the budget";
  return report;
}

// Forty candidates along an accuracy-latency curve with long names, every fourth dominated:
// labels must give way, the pick stay visible.
json crowded_report() {
  json report = sample_report();
  json list = json::array();
  for (int i = 0; i < 40; ++i) {
    const double ms = 10 + i, top1 = 0.80 + 0.12 * (1 - std::exp(-i / 10.0));
    list.push_back(candidate("candidate-with-a-long-descriptive-name-" + std::to_string(i),
                             json::array(), 5 + i, ms, i % 4 == 3 ? top1 - 0.02 : top1, i == 17,
                             i % 4 != 3));
  }
  list[0]["name"] = "fp32";
  list[17]["name"] = "int8-static";
  report["candidates"] = list;
  return report;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

// The first circle of the group with id `id`: its centre.
std::pair<double, double> circle_centre(const std::string& html, const std::string& id) {
  const std::regex re("id=\"" + id +
                      "\"[^>]*>(?:<title>[^<]*</title>)?<circle cx=\"([-0-9.]+)\" "
                      "cy=\"([-0-9.]+)\"");
  std::smatch m;
  if (!std::regex_search(html, m, re)) return {-1, -1};
  return {std::stod(m[1]), std::stod(m[2])};
}

TEST(FitReport, IsOneSelfContainedPage) {
  const std::string html = fit_report_html(sample_report());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(count(html, "<svg id=\"pareto\""), 1u);
  EXPECT_EQ(count(html, "<svg id=\"size-plot\""), 1u);
  EXPECT_EQ(count(html, "class=\"plot-area\""), 2u);
  // No script, nothing fetched: no external sheet, font, image or link to the network.
  for (const char* banned : {"<script", "<link", "<img", "@import", "url(", "http:", "https:"})
    EXPECT_EQ(html.find(banned), std::string::npos) << banned;
  EXPECT_NE(html.find("</html>"), std::string::npos);
}

TEST(FitReport, PickIsHighlightedWhereItsFiguresPutIt) {
  const std::string html = fit_report_html(sample_report());
  EXPECT_EQ(count(html, "class=\"marker pick frontier\" id=\"pareto-pick\""), 1u);
  EXPECT_EQ(count(html, "class=\"marker pick frontier\" id=\"size-plot-pick\""), 1u);
  EXPECT_EQ(count(html, "class=\"pick-ring\""), 2u);
  EXPECT_NE(html.find("pick: int8-static"), std::string::npos);
  // Pareto: x axis 10..50 ms over pixels 90..718, y axis 84..92 % over pixels 366..42.
  // int8-static at 30 ms, 91.5 %: x = 90 + 20/40 * 628, y = 366 - 7.5/8 * 324.
  auto [x, y] = circle_centre(html, "pareto-pick");
  EXPECT_NEAR(x, 404, 0.01);
  EXPECT_NEAR(y, 62.25, 0.01);
  // Size: x axis 0..50 MB; 11.2 MB at x = 90 + 11.2/50 * 628.
  auto [sx, sy] = circle_centre(html, "size-plot-pick");
  EXPECT_NEAR(sx, 230.672, 0.01);
  EXPECT_NEAR(sy, 62.25, 0.01);
  // Ticks on round numbers.
  for (const char* tick : {">10</text>", ">50</text>", ">84</text>", ">92</text>", ">0</text>"})
    EXPECT_NE(html.find(tick), std::string::npos) << tick;
}

TEST(FitReport, DrawsLimitsFrontierAndFadesDominated) {
  const std::string html = fit_report_html(sample_report());
  // Max latency and min accuracy on the first plot, max size and min accuracy on the second.
  EXPECT_EQ(count(html, "<line class=\"limit\""), 4u);
  EXPECT_NE(html.find("max latency 35 ms"), std::string::npos);
  EXPECT_NE(html.find("max size 16 MB"), std::string::npos);
  EXPECT_NE(html.find("min accuracy 91 % (baseline − 1 pp)"), std::string::npos);
  // The latency frontier is every candidate but the dominated one: five points, four steps.
  const std::regex path("<path class=\"frontier-line\" d=\"([^\"]*)\"");
  std::smatch m;
  const std::string pareto = html.substr(0, html.find("<svg id=\"size-plot\""));
  ASSERT_TRUE(std::regex_search(pareto, m, path));
  EXPECT_EQ(count(m[1], "H"), 4u);
  EXPECT_EQ(count(m[1], "V"), 4u);
  EXPECT_EQ(count(html, "class=\"marker dominated misses\" opacity=\"0.3\""), 2u);
  // Without on_frontier in the report, a point beaten on both axes of a plot is faded: the
  // same one, on both plots.
  json report = sample_report();
  for (json& c : report["candidates"]) c.erase("on_frontier");
  const std::string guessed = fit_report_html(report);
  EXPECT_EQ(count(guessed, "class=\"marker dominated misses\" opacity=\"0.3\""), 2u);
  EXPECT_EQ(count(guessed, "opacity=\"0.3\""), 2u);
}

TEST(FitReport, EscapesEveryStringFromTheReport) {
  json report = sample_report();
  report["device"]["name"] = "<b>pi</b>";
  report["commands"].push_back("echo '<script>alert(1)</script>'");
  const std::string html = fit_report_html(report);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  const std::string escaped = "&lt;img src=x onerror=alert(1)&gt;&amp;&quot;&#39;";
  // The table, the recipe heading and both plots' tooltips (a dominated point has no label).
  EXPECT_EQ(count(html, escaped), 4u);
  EXPECT_NE(html.find("rank=&lt;b&gt;"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;pi&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(html.find("echo &#39;&lt;script&gt;alert(1)&lt;/script&gt;&#39;"), std::string::npos);
  EXPECT_NE(html.find("&lt;/dev/null"), std::string::npos);
}

TEST(FitReport, TableMarksEstimatedAndMissingFigures) {
  json report = sample_report();
  report["candidates"][3]["energy_mj"] = nullptr;
  report["candidates"][3].erase("device_peak_ram_mb");
  const std::string html = fit_report_html(report);
  const size_t row = html.find("<tr class=\"pick\">");
  ASSERT_NE(row, std::string::npos);
  const std::string pick_row = html.substr(row, html.find("</tr>", row) - row);
  // Size 11.2 MB measured, latency 30 ms estimated (from 7.5 ms on the host, whose provenance
  // the report does not give), top-1 91.50 % measured, drop 0.50 pp, RAM and energy missing,
  // fits.
  EXPECT_NE(pick_row.find("<td class=\"num\">11.2</td>"), std::string::npos) << pick_row;
  EXPECT_NE(pick_row.find("<td class=\"num est\">~30.0</td><td class=\"num\">7.50</td>"),
            std::string::npos)
      << pick_row;
  EXPECT_NE(pick_row.find("<td class=\"num\">91.50</td>"), std::string::npos) << pick_row;
  EXPECT_NE(pick_row.find("<td class=\"num\">0.50</td>"), std::string::npos) << pick_row;
  EXPECT_EQ(count(pick_row, "<td class=\"num\">—</td>"), 2u) << pick_row;
  EXPECT_NE(pick_row.find("<td>yes</td>"), std::string::npos) << pick_row;
  EXPECT_EQ(count(html, "<tr"), 7u);  // header and six candidates
  // Which limits the others miss: fp32, fp16 and the lowrank one are slower than 35 ms and
  // larger than 16 MB; prune-50-int8 and student-xs lose more than 1 pp.
  EXPECT_EQ(count(html, "<td>no: latency, size</td>"), 3u);
  EXPECT_EQ(count(html, "<td>no: top-1</td>"), 2u);
  // Recipes and the commands.
  EXPECT_NE(html.find("<code class=\"op\">prune</code>"), std::string::npos);
  EXPECT_NE(html.find("<code>ratio=0.5</code>"), std::string::npos);
  EXPECT_NE(html.find("The model as given (no steps)."), std::string::npos);
  EXPECT_NE(html.find("edgeopt quantize model.onnx --calib fashion-mnist:train -o int8.onnx\n"),
            std::string::npos);
  EXPECT_NE(html.find("QAT was cut by the budget"), std::string::npos);
  EXPECT_EQ(html.find("<dt>objective</dt>"), std::string::npos);
  report["objective"] = "latency";
  EXPECT_NE(fit_report_html(report).find("<dt>objective</dt><dd>latency</dd>"), std::string::npos);
  // The pick's steps as a recipe, valid JSON once unescaped.
  const size_t at = html.find("The pick's recipe:");
  ASSERT_NE(at, std::string::npos);
  const size_t from = html.find("<code>", at) + 6;
  std::string text = html.substr(from, html.find("</code>", from) - from);
  for (auto [entity, c] : {std::pair{"&quot;", "\""}, {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}})
    for (size_t p = text.find(entity); p != std::string::npos; p = text.find(entity, p))
      text.replace(p, std::string(entity).size(), c);
  EXPECT_EQ(json::parse(text), json({{"steps", report["candidates"][3]["steps"]}}));
}

TEST(FitReport, LatencyStatChoosesTheColumn) {
  json report = sample_report();
  report["limits"]["latency_stat"] = "p95";
  const std::string html = fit_report_html(report);
  EXPECT_NE(html.find("Latency ms (p95)"), std::string::npos);
  // p95 = 1.2 × p50: 12..60 ms, axis 10..60 in steps of 10; 36 ms at 90 + 26/50 * 628.
  auto [x, y] = circle_centre(html, "pareto-pick");
  EXPECT_NEAR(x, 416.56, 0.01);
}

TEST(FitReport, Top1InPercentGivesTheSamePage) {
  json report = sample_report();
  const std::string as_fraction = fit_report_html(report);
  for (json& c : report["candidates"]) c["top1"] = c["top1"].get<double>() * 100;
  EXPECT_EQ(fit_report_html(report), as_fraction);
}

TEST(FitReport, HostFiguresWhenNoCandidateHasDeviceOnes) {
  json report = sample_report();
  for (json& c : report["candidates"]) {
    c["device_p50_ms"] = nullptr;
    c.erase("device_peak_ram_mb");
    c["provenance"]["host_p50_ms"] = "measured";
  }
  const std::string html = fit_report_html(report);
  EXPECT_NE(html.find("latency on this host, p50 (ms)"), std::string::npos);
  // Host p50 = a quarter of the device's: 2.5..12.5 ms, axis 2..14 in steps of 2, the 35 ms
  // limit too far off to draw; the pick's 7.5 ms at 90 + 5.5/12 * 628.
  auto [x, y] = circle_centre(html, "pareto-pick");
  EXPECT_NEAR(x, 377.833, 0.01);
  EXPECT_NE(html.find("max latency 35 ms: off the scale"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\">7.50</td>"), std::string::npos);  // measured
  EXPECT_NE(html.find("<td class=\"num\">80.0</td>"), std::string::npos);  // host RAM
}

// Reports the renderer must survive without a crash, a NaN or an infinite coordinate.
TEST(FitReport, OddReportsStillGiveAPage) {
  json one = sample_report();
  one["candidates"] = json::array({one["candidates"][3]});
  json none_fit = sample_report();
  none_fit["pick"] = nullptr;
  for (json& c : none_fit["candidates"]) c["fits"] = false;
  json identical = sample_report();
  for (json& c : identical["candidates"]) {
    c["device_p50_ms"] = 7;
    c["top1"] = 0.5;
    c["size_bytes"] = 0;
  }
  json zeros = sample_report();
  zeros["limits"] = nullptr;
  for (json& c : zeros["candidates"]) c["device_p50_ms"] = 0, c["top1"] = 0;
  json wrong_types = sample_report();
  wrong_types["limits"] = "fast please";
  wrong_types["device"] = json::array({1, 2});
  wrong_types["commands"] = 42;
  wrong_types["candidates"][0] = "not an object";
  wrong_types["candidates"][1]["top1"] = "high";
  wrong_types["candidates"][2]["steps"] = {{"op", 3}};
  wrong_types["candidates"][3]["provenance"] = nullptr;
  wrong_types["candidates"][4]["name"] = 17;
  json empty_candidates = {{"candidates", json::array()}};
  json bare_nulls = {{"candidates", json::array({json::object(), {{"name", nullptr}}})}};
  int pages = 0;
  for (const json& report : {one, none_fit, identical, zeros, wrong_types, empty_candidates,
                             bare_nulls, json::object(), json(), json::array({1})}) {
    const std::string html = fit_report_html(report);
    ++pages;
    EXPECT_NE(html.find("</html>"), std::string::npos) << report.dump();
    for (const char* bad : {"nan", "inf\"", "=\"-inf"})
      EXPECT_EQ(html.find(bad), std::string::npos) << bad << " in " << report.dump();
  }
  EXPECT_EQ(pages, 10);
  EXPECT_NE(fit_report_html(none_fit).find("No candidate meets every limit."), std::string::npos);
  EXPECT_EQ(fit_report_html(none_fit).find("class=\"pick-ring\""), std::string::npos);
  // One candidate, identical values: the axis is widened around the value, the marker centred.
  auto [x, y] = circle_centre(fit_report_html(one), "pareto-pick");
  EXPECT_GT(x, 90);
  EXPECT_LT(x, 718);
  EXPECT_GT(y, 42);
  EXPECT_LT(y, 366);
  EXPECT_NE(fit_report_html(empty_candidates).find("nothing to plot"), std::string::npos);
}

TEST(FitReport, NamesTheClosestCandidateForEachLimitNoneMeets) {
  json report = sample_report();
  report["pick"] = nullptr;
  report["limits"]["max_latency_ms"] = 5;  // the fastest takes 10 ms
  report["limits"]["max_size_mb"] = 0.5;   // the smallest is 1 MB
  const std::string html = fit_report_html(report);
  EXPECT_NE(html.find("latency (p50) ≤ 5 ms: met by none; closest <strong>student-xs</strong> at "
                      "10.00 ms, 5.00 ms over (100 %)"),
            std::string::npos);
  EXPECT_NE(html.find("size ≤ 0.5 MB: met by none; closest <strong>student-xs</strong> at 1.000 "
                      "MB, 0.500 MB over (100 %)"),
            std::string::npos);
  EXPECT_EQ(count(html, "met by none"), 2u);  // RAM and accuracy are met by some
  report["limits"]["max_latency_ms"] = 35;
  report["limits"]["max_size_mb"] = 16;
  EXPECT_NE(fit_report_html(report).find("none meets them all at once"), std::string::npos);
}

TEST(FitReport, CrowdedPlotsDropLabelsButNeverThePick) {
  const std::string html = fit_report_html(crowded_report());
  const std::string pareto = html.substr(0, html.find("<svg id=\"size-plot\""));
  EXPECT_EQ(count(pareto, "<circle cx="), 40u);
  EXPECT_EQ(count(pareto, "<circle class=\"pick-ring\""), 1u);
  EXPECT_NE(pareto.find("pick: int8-static"), std::string::npos);
  EXPECT_NE(pareto.find("fp32 (baseline)"), std::string::npos);
  // Thirty undominated candidates and labels about 280 px wide each: far from all fit.
  const size_t labels = count(pareto, "class=\"point-label");
  EXPECT_GE(labels, 3u);
  EXPECT_LT(labels, 20u);
  // Long names keep their start and their end.
  EXPECT_NE(pareto.find(">candidate-with-a…criptive-name-"), std::string::npos);
}

void write(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

// The pages tests/fit_report_browser.sh renders: the sample report, the same without a pick
// (the screenshot must then show no pick colour in the plot), and a crowded plot. The script
// names its folder (EDGEOPT_FIT_PAGES), so that a parallel ctest run of this test does not
// write into it.
TEST(FitReportBrowser, WritesPages) {
  const char* chosen = std::getenv("EDGEOPT_FIT_PAGES");
  const fs::path dir =
      chosen ? fs::path(chosen) : fs::path(EDGEOPT_BINARY_DIR) / "fit_report_pages";
  fs::create_directories(dir);
  json report = sample_report();
  write(dir / "report.json", report.dump(2));
  write(dir / "report.html", fit_report_html(report));
  report["pick"] = nullptr;
  write(dir / "nopick.json", report.dump(2));
  write(dir / "nopick.html", fit_report_html(report));
  write(dir / "crowded.json", crowded_report().dump(2));
  write(dir / "crowded.html", fit_report_html(crowded_report()));
}

}  // namespace
}  // namespace edgeopt
