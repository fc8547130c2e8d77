// The `fit` report page: report.json rendered as one self-contained HTML file (inline CSS and
// SVG, no script, nothing fetched), readable offline and in any browser.
//
// Plots. Each is an SVG whose plot area is a rectangle filled with kPlotBackground and nothing
// else (axes sit just outside it); a value v maps into the area inset by kInset pixels:
//   px = left + kInset + (v - lo) / (hi - lo) * (width - 2 * kInset)
// where [lo, hi] is the "nice" axis range of nice_axis(). tests/fit_report_check.py recomputes
// this from report.json alone to find the pick's marker in a browser's screenshot, so a change
// to the layout rules here is a change there.
//
// Every string taken from the report (model, device and step names, options, commands) is
// HTML-escaped; every figure may be absent or null ("—"), measured or estimated ("~", italic).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "edgeopt/fit_report.h"

namespace edgeopt {

namespace {

using nlohmann::json;

// Plot geometry (SVG user units = CSS pixels).
constexpr double kPlotWidth = 760, kPlotHeight = 440;
constexpr double kLeft = 72, kRight = 736, kTop = 24, kBottom = 384;  // the plot area
constexpr double kInset = 18;       // keeps the largest marker inside the area
constexpr double kMaxRadius = 15;   // marker of the largest model (area ∝ size)
constexpr double kMinRadius = 3.5;  // smallest marker that stays visible
constexpr double kPlainRadius = 6;  // markers when size is not encoded
constexpr const char* kPlotBackground = "#f4f6f9";
constexpr const char* kPickColour = "#d9480f";
constexpr const char* kFrontierColour = "#1c7ed6";
constexpr const char* kBaselineColour = "#495057";

std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A JSON value as text: strings as they are, anything else as compact JSON (invalid UTF-8
// replaced rather than thrown on).
std::string as_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

const json& field(const json& obj, const char* key) {
  static const json null_value;
  if (!obj.is_object()) return null_value;
  auto it = obj.find(key);
  return it == obj.end() ? null_value : *it;
}

std::optional<double> number(const json& obj, const char* key) {
  const json& v = field(obj, key);
  if (!v.is_number()) return std::nullopt;
  const double d = v.get<double>();
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

std::string string_field(const json& obj, const char* key) {
  const json& v = field(obj, key);
  return v.is_null() ? "" : as_text(v);
}

std::optional<bool> bool_field(const json& obj, const char* key) {
  const json& v = field(obj, key);
  if (!v.is_boolean()) return std::nullopt;
  return v.get<bool>();
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// `sig` significant digits, never an exponent: 0.0123, 1.23, 12.3, 1234.
std::string format_sig(double v, int sig) {
  if (v == 0) return "0";
  const int magnitude = static_cast<int>(std::floor(std::log10(std::fabs(v))));
  const int decimals = std::clamp(sig - 1 - magnitude, 0, 6);
  return fmt(("%." + std::to_string(decimals) + "f").c_str(), v);
}

// format_sig without trailing zeros, for figures in prose: 35, 0.5, 91.25.
std::string format_short(double v, int sig) {
  std::string s = format_sig(v, sig);
  if (s.find('.') == std::string::npos) return s;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

struct Candidate {
  std::string name;
  const json* source = nullptr;  // the candidate's object in report.json
  std::optional<double> size_mb, latency_ms, top1_pct, ram_mb, energy_mj;
  std::optional<double> host_latency_ms;  // what a device estimate is scaled from
  std::optional<bool> fits, on_frontier;
  bool pick = false, baseline = false;
};

struct Limits {
  std::string stat = "p50";
  std::optional<double> latency_ms, ram_mb, size_mb, energy_mj, drop_pp;
  std::optional<double> min_top1_pct;  // baseline top-1 − max drop
};

struct Report {
  const json* root = nullptr;
  // The fields latency and RAM come from: the device's, or this host's where no candidate has
  // a device figure (a report on the host profile may fill only those).
  std::string latency_key, ram_key;
  bool on_host = false;
  std::vector<Candidate> candidates;
  Limits limits;
  std::string pick, baseline;
  std::string device_name;
};

Report read_report(const json& root) {
  Report r;
  r.root = &root;
  const json& limits = field(root, "limits");
  if (string_field(limits, "latency_stat") == "p95") r.limits.stat = "p95";
  r.limits.latency_ms = number(limits, "max_latency_ms");
  r.limits.ram_mb = number(limits, "max_ram_mb");
  r.limits.size_mb = number(limits, "max_size_mb");
  r.limits.energy_mj = number(limits, "max_energy_mj");
  r.limits.drop_pp = number(limits, "max_drop_pp");
  r.pick = string_field(root, "pick");
  r.baseline = string_field(root, "baseline");
  r.device_name = string_field(field(root, "device"), "name");
  const json& list = field(root, "candidates");
  auto any_has = [&](const std::string& key) {
    return list.is_array() && std::any_of(list.begin(), list.end(), [&](const json& c) {
             return number(c, key.c_str()).has_value();
           });
  };
  // top1 is a fraction, as `recipe` and `eval` write it; a report with a value above 1 gives
  // percentages.
  const bool top1_in_percent =
      list.is_array() && std::any_of(list.begin(), list.end(), [](const json& c) {
        const auto t = number(c, "top1");
        return t && *t > 1;
      });
  r.latency_key = "device_" + r.limits.stat + "_ms";
  r.ram_key = "device_peak_ram_mb";
  if (!any_has(r.latency_key) && any_has("host_" + r.limits.stat + "_ms")) {
    r.on_host = true;
    r.latency_key = "host_" + r.limits.stat + "_ms";
    r.ram_key = "host_peak_ram_mb";
  }
  bool has_pick = false, has_baseline = false;
  if (list.is_array()) {
    for (const json& c : list) {
      if (!c.is_object()) continue;
      Candidate x;
      x.source = &c;
      x.name = string_field(c, "name");
      if (auto b = number(c, "size_bytes")) x.size_mb = *b / 1e6;
      x.latency_ms = number(c, r.latency_key.c_str());
      x.host_latency_ms = number(c, ("host_" + r.limits.stat + "_ms").c_str());
      if (auto t = number(c, "top1")) x.top1_pct = top1_in_percent ? *t : *t * 100;
      x.ram_mb = number(c, r.ram_key.c_str());
      x.energy_mj = number(c, "energy_mj");
      x.fits = bool_field(c, "fits");
      x.on_frontier = bool_field(c, "on_frontier");
      // The first of the name is the one (names should be unique; ids in the page must be).
      x.pick = !r.pick.empty() && x.name == r.pick && !has_pick;
      x.baseline = !r.baseline.empty() && x.name == r.baseline && !has_baseline;
      has_pick |= x.pick;
      has_baseline |= x.baseline;
      r.candidates.push_back(x);
    }
  }
  // Without a named baseline, the unmodified model is the candidate without steps.
  if (!has_baseline) {
    for (Candidate& c : r.candidates) {
      const json& steps = field(*c.source, "steps");
      if (steps.is_array() && steps.empty()) {
        c.baseline = true;
        r.baseline = c.name;
        break;
      }
    }
  }
  for (const Candidate& c : r.candidates)
    if (c.baseline && c.top1_pct && r.limits.drop_pp)
      r.limits.min_top1_pct = *c.top1_pct - *r.limits.drop_pp;
  return r;
}

// ---- axes -----------------------------------------------------------------------------------

// A linear axis over [lo, hi] (multiples of step), drawn between px0 and px1 (px1 < px0 for
// the vertical axis: SVG's y grows downwards).
struct Axis {
  double lo = 0, hi = 1, step = 1;
  double px0 = 0, px1 = 1;
  double to_px(double v) const { return px0 + (v - lo) / (hi - lo) * (px1 - px0); }
};

// About five intervals of 1, 2 or 5 × 10^k covering [lo, hi] (Heckbert's nice numbers); equal
// ends are widened first so that the axis never has zero width.
Axis nice_axis(double lo, double hi, double px0, double px1) {
  if (!(hi > lo)) {
    const double pad = lo != 0 ? std::fabs(lo) * 0.05 : 1.0;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / 5;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  const double step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  Axis a;
  a.step = step;
  a.lo = std::floor(lo / step + 1e-9) * step;
  a.hi = std::ceil(hi / step - 1e-9) * step;
  a.px0 = px0;
  a.px1 = px1;
  return a;
}

// The range an axis must show: the data, and a limit when it is near enough to the data that
// showing it keeps the data on at least a third of the axis (else the limit is noted as off
// the scale).
struct Domain {
  double lo = 0, hi = 0;
  bool limit_shown = false;
};

Domain domain_of(const std::vector<double>& values, std::optional<double> limit) {
  Domain d;
  d.lo = *std::min_element(values.begin(), values.end());
  d.hi = *std::max_element(values.begin(), values.end());
  if (!limit) return d;
  const double lo = std::min(d.lo, *limit), hi = std::max(d.hi, *limit);
  if (hi - lo <= 3 * (d.hi - d.lo) ||
      (d.hi == d.lo && std::fabs(*limit - d.lo) <= 0.1 * std::fabs(d.lo))) {
    d.lo = lo;
    d.hi = hi;
    d.limit_shown = true;
  }
  return d;
}

// The number of intervals between ticks (at most 50, whatever rounding did to the range).
int intervals(const Axis& a) {
  const double n = std::round((a.hi - a.lo) / a.step);
  return std::isfinite(n) ? static_cast<int>(std::clamp(n, 0.0, 50.0)) : 0;
}

std::string tick_label(double v, double step) {
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  if (std::fabs(v) < step * 1e-6) v = 0;  // no "-0.0"
  return fmt(("%." + std::to_string(decimals) + "f").c_str(), v);
}

// ---- plots ----------------------------------------------------------------------------------

struct PlotSpec {
  std::string id;  // SVG id; marker ids derive from it
  std::string title, x_label, y_label, x_unit;
  std::string x_key;   // the figure's field in report.json (for its provenance)
  std::string x_what;  // the figure in prose
  std::optional<double> Candidate::*x;
  std::optional<double> x_limit;
  std::string x_limit_label;
  bool size_markers = false;  // marker area ∝ model size
};

struct Point {
  const Candidate* c;
  double x, y;  // data values
};

std::string axes_svg(const Axis& xa, const Axis& ya, const PlotSpec& spec) {
  std::ostringstream o;
  o << "<rect class=\"plot-area\" x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\""
    << kRight - kLeft << "\" height=\"" << kBottom - kTop << "\" fill=\"" << kPlotBackground
    << "\"/>\n";
  const int nx = intervals(xa);
  for (int i = 0; i <= nx; ++i) {
    const double v = xa.lo + i * xa.step, px = xa.to_px(v);
    o << "<line class=\"grid\" x1=\"" << px << "\" y1=\"" << kTop << "\" x2=\"" << px << "\" y2=\""
      << kBottom << "\"/>"
      << "<line class=\"tick\" x1=\"" << px << "\" y1=\"" << kBottom + 1 << "\" x2=\"" << px
      << "\" y2=\"" << kBottom + 6 << "\"/>"
      << "<text class=\"tick-label\" x=\"" << px << "\" y=\"" << kBottom + 20
      << "\" text-anchor=\"middle\">" << tick_label(v, xa.step) << "</text>\n";
  }
  const int ny = intervals(ya);
  for (int i = 0; i <= ny; ++i) {
    const double v = ya.lo + i * ya.step, py = ya.to_px(v);
    o << "<line class=\"grid\" x1=\"" << kLeft << "\" y1=\"" << py << "\" x2=\"" << kRight
      << "\" y2=\"" << py << "\"/>"
      << "<line class=\"tick\" x1=\"" << kLeft - 6 << "\" y1=\"" << py << "\" x2=\"" << kLeft - 1
      << "\" y2=\"" << py << "\"/>"
      << "<text class=\"tick-label\" x=\"" << kLeft - 9 << "\" y=\"" << py + 4
      << "\" text-anchor=\"end\">" << tick_label(v, ya.step) << "</text>\n";
  }
  // Axis lines just outside the plot area, which stays a clean rectangle of its colour.
  o << "<line class=\"axis\" x1=\"" << kLeft - 0.5 << "\" y1=\"" << kTop << "\" x2=\""
    << kLeft - 0.5 << "\" y2=\"" << kBottom + 0.5 << "\"/>"
    << "<line class=\"axis\" x1=\"" << kLeft - 0.5 << "\" y1=\"" << kBottom + 0.5 << "\" x2=\""
    << kRight << "\" y2=\"" << kBottom + 0.5 << "\"/>\n"
    << "<text class=\"axis-label\" x=\"" << (kLeft + kRight) / 2 << "\" y=\"" << kBottom + 44
    << "\" text-anchor=\"middle\">" << escape(spec.x_label) << "</text>\n"
    << "<text class=\"axis-label\" transform=\"translate(18 " << (kTop + kBottom) / 2
    << ") rotate(-90)\" text-anchor=\"middle\">" << escape(spec.y_label) << "</text>\n";
  return o.str();
}

// Roughly how wide a label is drawn: characters (not UTF-8 bytes) × average glyph width.
double text_width(const std::string& s, double glyph) {
  size_t chars = 0;
  for (char c : s) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return static_cast<double>(chars) * glyph;
}

struct Box {
  double x0, y0, x1, y1;
  bool overlaps(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
};

// A right-aligned label's box (11 px text; 12 px text is a little wider per glyph).
Box label_box(const std::string& text, double right, double baseline, double glyph) {
  return {right - text_width(text, glyph), baseline - 10, right, baseline + 3};
}

// The limits as dashed lines with their labels; the labels' boxes are added to `taken`.
std::string limits_svg(const Axis& xa, const Axis& ya, const PlotSpec& spec, const Domain& xd,
                       const Domain& yd, const Limits& limits, std::vector<Box>& taken) {
  std::ostringstream o;
  if (spec.x_limit && xd.limit_shown) {
    const double px = xa.to_px(*spec.x_limit);
    taken.push_back(label_box(spec.x_limit_label, px - 4, kTop + 14, 7));
    o << "<line class=\"limit\" x1=\"" << px << "\" y1=\"" << kTop << "\" x2=\"" << px << "\" y2=\""
      << kBottom << "\"/>"
      << "<text class=\"limit-label\" x=\"" << px - 4 << "\" y=\"" << kTop + 14
      << "\" text-anchor=\"end\">" << escape(spec.x_limit_label) << "</text>\n";
  }
  if (limits.min_top1_pct && yd.limit_shown) {
    const double py = ya.to_px(*limits.min_top1_pct);
    const std::string label = "min accuracy " + format_short(*limits.min_top1_pct, 4) +
                              " % (baseline − " + format_short(*limits.drop_pp, 3) + " pp)";
    o << "<line class=\"limit\" x1=\"" << kLeft << "\" y1=\"" << py << "\" x2=\"" << kRight
      << "\" y2=\"" << py << "\"/>"
      << "<text class=\"limit-label\" x=\"" << kRight - 4 << "\" y=\"" << py + 14
      << "\" text-anchor=\"end\">" << escape(label) << "</text>\n";
    taken.push_back(label_box(label, kRight - 4, py + 14, 7));
  }
  return o.str();
}

// The candidates no other plotted one beats on both axes (lower x, higher y), by x: the step
// line from each to the next is the best accuracy reachable at each x.
std::vector<Point> frontier_2d(std::vector<Point> pts) {
  std::sort(pts.begin(), pts.end(),
            [](const Point& a, const Point& b) { return a.x != b.x ? a.x < b.x : a.y > b.y; });
  std::vector<Point> out;
  for (const Point& p : pts)
    if (out.empty() || p.y > out.back().y) out.push_back(p);
  return out;
}

// At most `max_chars` characters: the start and the end (where names tend to differ: "-int8",
// "-prune50") joined by "…", cut on UTF-8 boundaries.
std::string shorten(const std::string& s, size_t max_chars) {
  std::vector<size_t> starts;  // byte offset of each character
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  if (starts.size() <= max_chars) return s;
  const size_t tail = (max_chars - 1) / 2, head = max_chars - 1 - tail;
  return s.substr(0, starts[head]) + "…" + s.substr(starts[starts.size() - tail]);
}

// A marker as drawn, and its label if one found room.
struct Placed {
  const Candidate* c;
  double x, y;    // data values
  double cx, cy;  // SVG coordinates
  double r;
  // Dominated: `on_frontier` false, or where the report does not say, beaten on both axes of
  // this plot.
  bool faded = false;
  std::string label;  // empty: unlabelled (the tooltip and the table still name it)
  double label_x = 0, label_y = 0;
  bool label_left = false;
};

// Labels go to the pick first, then the baseline, then the other undominated candidates, each
// beside its marker (right or left, above or below) where it stays in the plot area and clear
// of every marker and of the labels placed before it; a label with no room is left off.
void place_labels(std::vector<Placed>& pts, std::vector<Box> taken) {
  std::vector<Placed*> order;
  for (Placed& p : pts)
    if (p.c->pick || p.c->baseline || !p.faded) order.push_back(&p);
  std::stable_sort(order.begin(), order.end(), [](const Placed* a, const Placed* b) {
    return (a->c->pick ? 0 : a->c->baseline ? 1 : 2) < (b->c->pick ? 0 : b->c->baseline ? 1 : 2);
  });
  // Every marker (the pick's with its ring) is in the way of the labels of the others.
  for (const Placed& p : pts) {
    const double r = p.c->pick ? p.r + 7 : p.r;
    taken.push_back({p.cx - r, p.cy - r, p.cx + r, p.cy + r});
  }
  for (Placed* p : order) {
    const Candidate& c = *p->c;
    const std::string text =
        (c.pick ? "pick: " : "") + shorten(c.name, 32) + (c.baseline ? " (baseline)" : "");
    const double gap = p->r + (c.pick ? 9 : 4);
    const double width = text_width(text, c.pick ? 7.2 : 6.4), height = c.pick ? 13 : 12;
    // Beside the marker (right, left; above, below its centre), then for the pick also clear
    // above or below it.
    std::vector<std::pair<bool, double>> spots = {{false, p->cy - 4},
                                                  {true, p->cy - 4},
                                                  {false, p->cy + height + 2},
                                                  {true, p->cy + height + 2}};
    if (c.pick)
      for (double y : {p->cy - p->r - 10, p->cy + p->r + height + 8})
        spots.insert(spots.end(), {{false, y}, {true, y}});
    auto box_at = [&](bool left, double baseline) {
      const double x0 = left ? p->cx - gap - width : p->cx + gap;
      return Box{x0, baseline - height + 3, x0 + width, baseline + 3};
    };
    std::optional<std::pair<bool, double>> chosen, first_inside;
    for (const auto& [left, baseline] : spots) {
      const Box box = box_at(left, baseline);
      const bool inside =
          box.x0 >= kLeft && box.x1 <= kRight && box.y0 >= kTop && box.y1 <= kBottom;
      const bool clear =
          std::none_of(taken.begin(), taken.end(), [&](const Box& t) { return t.overlaps(box); });
      if (inside && !first_inside) first_inside = {left, baseline};
      if (inside && clear) {
        chosen = {left, baseline};
        break;
      }
    }
    // The pick is always labelled: where it stays inside if nowhere is clear.
    if (!chosen && c.pick) chosen = first_inside ? *first_inside : spots.front();
    if (!chosen) continue;
    p->label = text;
    p->label_left = chosen->first;
    p->label_x = chosen->first ? p->cx - gap : p->cx + gap;
    p->label_y = chosen->second;
    taken.push_back(box_at(chosen->first, chosen->second));
  }
}

std::string marker_svg(const Placed& p, const PlotSpec& spec) {
  const Candidate& c = *p.c;
  std::string cls = "marker";
  std::string colour = c.baseline ? kBaselineColour : kFrontierColour;
  if (c.pick) {
    cls += " pick";
    colour = kPickColour;
  }
  if (c.baseline) cls += " baseline";
  cls += p.faded ? " dominated" : " frontier";
  const bool misses = c.fits.has_value() && !*c.fits;
  if (misses) cls += " misses";
  std::ostringstream o;
  o << "<g class=\"" << cls << "\"" << (c.pick ? " id=\"" + spec.id + "-pick\"" : "")
    << (p.faded && !c.pick ? " opacity=\"0.3\"" : "") << ">"
    << "<title>" << escape(c.name) << ": " << format_sig(p.y, 4) << " %, " << format_sig(p.x, 3)
    << " " << spec.x_unit
    << (spec.size_markers && c.size_mb ? ", " + format_sig(*c.size_mb, 3) + " MB" : "")
    << "</title>";
  // A candidate that misses a limit is drawn hollow; the pick always fits.
  o << "<circle cx=\"" << p.cx << "\" cy=\"" << p.cy << "\" r=\"" << p.r << "\" fill=\""
    << (misses && !c.pick ? "#ffffff" : colour) << "\" stroke=\"" << colour
    << "\" stroke-width=\"1.5\"/>";
  if (c.pick)
    o << "<circle class=\"pick-ring\" cx=\"" << p.cx << "\" cy=\"" << p.cy << "\" r=\"" << p.r + 5
      << "\" fill=\"none\" stroke=\"" << kPickColour << "\" stroke-width=\"2.5\"/>";
  if (!p.label.empty())
    o << "<text class=\"point-label" << (c.pick ? " pick-label" : "") << "\" x=\"" << p.label_x
      << "\" y=\"" << p.label_y << "\"" << (p.label_left ? " text-anchor=\"end\"" : "") << ">"
      << escape(p.label) << "</text>";
  o << "</g>\n";
  return o.str();
}

std::string plot_svg(const Report& r, const PlotSpec& spec) {
  std::vector<Point> pts;
  std::vector<std::string> missing;
  for (const Candidate& c : r.candidates) {
    const auto& x = c.*spec.x;
    if (x && c.top1_pct)
      pts.push_back({&c, *x, *c.top1_pct});
    else
      missing.push_back(c.name);
  }
  std::ostringstream o;
  o << "<figure class=\"plot\">\n<figcaption>" << escape(spec.title) << "</figcaption>\n";
  if (pts.empty()) {
    o << "<p class=\"note\">No candidate has both figures: nothing to plot.</p>\n</figure>\n";
    return o.str();
  }
  std::vector<double> xs, ys;
  for (const Point& p : pts) xs.push_back(p.x), ys.push_back(p.y);
  const Domain xd = domain_of(xs, spec.x_limit);
  const Domain yd = domain_of(ys, r.limits.min_top1_pct);
  const Axis xa = nice_axis(xd.lo, xd.hi, kLeft + kInset, kRight - kInset);
  const Axis ya = nice_axis(yd.lo, yd.hi, kBottom - kInset, kTop + kInset);
  double max_size = 0;
  for (const Point& p : pts)
    if (p.c->size_mb) max_size = std::max(max_size, *p.c->size_mb);
  auto radius = [&](const Candidate& c) {
    if (!spec.size_markers || !c.size_mb || max_size <= 0) return kPlainRadius;
    return std::max(kMinRadius, kMaxRadius * std::sqrt(std::max(0.0, *c.size_mb) / max_size));
  };

  o << "<svg id=\"" << spec.id << "\" width=\"" << kPlotWidth << "\" height=\"" << kPlotHeight
    << "\" viewBox=\"0 0 " << kPlotWidth << " " << kPlotHeight << "\" role=\"img\" aria-label=\""
    << escape(spec.title) << "\">\n"
    << axes_svg(xa, ya, spec);
  std::vector<Box> limit_labels;
  o << limits_svg(xa, ya, spec, xd, yd, r.limits, limit_labels);
  const std::vector<Point> front = frontier_2d(pts);
  if (front.size() > 1) {
    o << "<path class=\"frontier-line\" d=\"M" << xa.to_px(front[0].x) << " "
      << ya.to_px(front[0].y);
    for (size_t i = 1; i < front.size(); ++i)
      o << " H" << xa.to_px(front[i].x) << " V" << ya.to_px(front[i].y);
    o << "\"/>\n";
  }
  std::vector<Placed> placed;
  for (const Point& p : pts) {
    Placed q{};
    q.c = p.c;
    q.x = p.x;
    q.y = p.y;
    q.cx = xa.to_px(p.x);
    q.cy = ya.to_px(p.y);
    q.r = radius(*p.c);
    q.faded = p.c->on_frontier ? !*p.c->on_frontier
                               : std::none_of(front.begin(), front.end(),
                                              [&](const Point& f) { return f.c == p.c; });
    placed.push_back(q);
  }
  place_labels(placed, limit_labels);
  // Faded first, the pick last: nothing is drawn over the pick.
  std::stable_sort(placed.begin(), placed.end(), [](const Placed& a, const Placed& b) {
    auto rank = [](const Placed& p) { return p.c->pick ? 2 : p.faded ? 0 : 1; };
    return rank(a) < rank(b);
  });
  for (const Placed& p : placed) o << marker_svg(p, spec);
  o << "</svg>\n";

  std::vector<std::string> notes;
  if (spec.size_markers && max_size > 0)
    notes.push_back("marker area ∝ model size (largest " + format_sig(max_size, 3) + " MB)");
  notes.push_back("faded: dominated; hollow: misses a limit; line: the best accuracy for each " +
                  spec.x_what);
  for (const auto& [key, what] : {std::pair{spec.x_key, spec.x_what}, {"top1", "top-1"}}) {
    size_t estimated = 0;
    for (const Point& p : pts)
      estimated += string_field(field(*p.c->source, "provenance"), key.c_str()) == "estimated";
    if (estimated == pts.size())
      notes.push_back(what + " estimated for every plotted candidate");
    else if (estimated > 0)
      notes.push_back(what + " estimated for " + std::to_string(estimated) + " of the " +
                      std::to_string(pts.size()) + " plotted candidates, the rest measured");
  }
  if (spec.x_limit && !xd.limit_shown) notes.push_back(spec.x_limit_label + ": off the scale");
  if (r.limits.min_top1_pct && !yd.limit_shown)
    notes.push_back("min accuracy " + format_short(*r.limits.min_top1_pct, 4) +
                    " %: off the scale");
  if (!missing.empty()) {
    std::string names;
    for (const std::string& n : missing) names += (names.empty() ? "" : ", ") + n;
    notes.push_back("not plotted (figure not measured or estimated): " + names);
  }
  o << "<p class=\"note\">";
  for (size_t i = 0; i < notes.size(); ++i) o << (i ? "; " : "") << escape(notes[i]);
  o << ".</p>\n</figure>\n";
  return o.str();
}

// ---- text sections --------------------------------------------------------------------------

// A limit set in the report and the candidate figure it bounds.
struct LimitCheck {
  std::string what;
  double limit;
  std::optional<double> Candidate::*figure;
  bool at_most;  // the figure must be ≤ the limit (else ≥)
  const char* unit;
  bool missed_by(const Candidate& c) const {
    const auto& v = c.*figure;
    return v && (at_most ? *v > limit : *v < limit);
  }
};

std::vector<LimitCheck> limit_checks(const Limits& l) {
  std::vector<LimitCheck> out;
  auto add = [&](std::string what, std::optional<double> limit,
                 std::optional<double> Candidate::*figure, bool at_most, const char* unit) {
    if (limit) out.push_back({std::move(what), *limit, figure, at_most, unit});
  };
  add("latency (" + l.stat + ")", l.latency_ms, &Candidate::latency_ms, true, "ms");
  add("RAM", l.ram_mb, &Candidate::ram_mb, true, "MB");
  add("size", l.size_mb, &Candidate::size_mb, true, "MB");
  add("energy", l.energy_mj, &Candidate::energy_mj, true, "mJ");
  add("top-1 accuracy", l.min_top1_pct, &Candidate::top1_pct, false, "%");
  return out;
}

// "yes", "no" with the limits the candidate's figures miss, or "—" when the report says nothing.
std::string fits_text(const Candidate& c, const std::vector<LimitCheck>& checks) {
  if (!c.fits) return "—";
  if (*c.fits) return "yes";
  std::string missed;
  for (const LimitCheck& k : checks)
    if (k.missed_by(c)) missed += (missed.empty() ? "" : ", ") + k.what.substr(0, k.what.find(' '));
  return missed.empty() ? "no" : "no: " + missed;
}

// A figure in the table: "—" when absent, "~" and italic when estimated.
std::string figure_cell(const Candidate& c, std::optional<double> v, const std::string& key,
                        int sig) {
  if (!v) return "<td class=\"num\">—</td>";
  const bool estimated = string_field(field(*c.source, "provenance"), key.c_str()) == "estimated";
  const std::string text = format_sig(*v, sig);
  return estimated ? "<td class=\"num est\">~" + text + "</td>"
                   : "<td class=\"num\">" + text + "</td>";
}

std::string table_html(const Report& r) {
  const std::string stat = r.limits.stat;
  const std::vector<LimitCheck> checks = limit_checks(r.limits);
  std::optional<double> base_top1;
  for (const Candidate& c : r.candidates)
    if (c.baseline) base_top1 = c.top1_pct;
  std::ostringstream o;
  // Device latencies come with the host's they were scaled from.
  const bool host_column = !r.on_host;
  o << "<table class=\"candidates\">\n<thead><tr><th>Model</th><th class=\"num\">Size MB</th>"
    << "<th class=\"num\">Latency ms (" << stat << ")</th>"
    << (host_column ? "<th class=\"num\">Host ms (" + stat + ")</th>" : "")
    << "<th class=\"num\">Accuracy %</th><th class=\"num\">Drop pp</th>"
    << "<th class=\"num\">RAM MB</th><th class=\"num\">Energy mJ</th><th>Fits</th></tr></thead>\n"
    << "<tbody>\n";
  for (size_t i = 0; i < r.candidates.size(); ++i) {
    const Candidate& c = r.candidates[i];
    std::string cls = c.pick ? "pick" : "";
    if (c.on_frontier.has_value() && !*c.on_frontier)
      cls += cls.empty() ? "dominated" : " dominated";
    o << "<tr" << (cls.empty() ? "" : " class=\"" + cls + "\"") << "><td><a href=\"#recipe-" << i
      << "\">" << escape(c.name) << "</a>" << (c.pick ? " <span class=\"badge\">pick</span>" : "")
      << (c.baseline ? " <span class=\"tag\">baseline</span>" : "") << "</td>"
      << figure_cell(c, c.size_mb, "size_bytes", 3)
      << figure_cell(c, c.latency_ms, r.latency_key, 3);
    if (host_column) o << figure_cell(c, c.host_latency_ms, "host_" + stat + "_ms", 3);
    o << figure_cell(c, c.top1_pct, "top1", 4);
    if (c.top1_pct && base_top1) {
      const double drop = *base_top1 - *c.top1_pct;
      o << "<td class=\"num\">" << fmt("%.2f", std::fabs(drop) < 0.005 ? 0.0 : drop) << "</td>";
    } else
      o << "<td class=\"num\">—</td>";
    o << figure_cell(c, c.ram_mb, r.ram_key, 3) << figure_cell(c, c.energy_mj, "energy_mj", 3)
      << "<td>" << escape(fits_text(c, checks)) << "</td></tr>\n";
  }
  o << "</tbody>\n</table>\n"
    << "<p class=\"note\">Size: the ONNX file (MB = 10<sup>6</sup> bytes). Latency and RAM: "
    << (r.on_host ? "on this host" : "on the device; Host: measured here")
    << ". Drop: baseline top-1 − candidate top-1. <span class=\"est\">~italic</span>: estimated "
       "from the device profile; plain: measured; —: not measured. Faded rows are dominated.</p>\n";
  return o.str();
}

std::string step_html(const json& step) {
  if (!step.is_object()) return "<li><code>" + escape(as_text(step)) + "</code></li>";
  std::ostringstream o;
  o << "<li>";
  const std::string name = string_field(step, "name");
  if (!name.empty()) o << "<span class=\"step-name\">" << escape(name) << ":</span> ";
  o << "<code class=\"op\">" << escape(string_field(step, "op")) << "</code>";
  for (auto it = step.begin(); it != step.end(); ++it) {
    if (it.key() == "op" || it.key() == "name") continue;
    o << " <code>" << escape(it.key()) << "=" << escape(as_text(it.value())) << "</code>";
  }
  o << "</li>";
  return o.str();
}

std::string recipes_html(const Report& r) {
  std::ostringstream o;
  for (size_t i = 0; i < r.candidates.size(); ++i) {
    const Candidate& c = r.candidates[i];
    o << "<div class=\"recipe" << (c.pick ? " pick" : "") << "\" id=\"recipe-" << i << "\"><h3>"
      << escape(c.name) << (c.pick ? " <span class=\"badge\">pick</span>" : "") << "</h3>";
    const json& steps = field(*c.source, "steps");
    if (!steps.is_array() || steps.empty()) {
      o << "<p class=\"note\">"
        << (steps.is_array() ? "The model as given (no steps)." : "No steps recorded.") << "</p>";
    } else {
      o << "<ol>";
      for (const json& s : steps) o << step_html(s);
      o << "</ol>";
    }
    o << "</div>\n";
  }
  return o.str();
}

// The commands report.json records, and the pick's steps as a recipe (`edgeopt recipe`).
std::string commands_html(const Report& r) {
  const json& cmds = field(*r.root, "commands");
  std::string lines;
  if (cmds.is_array())
    for (const json& l : cmds) lines += as_text(l) + "\n";
  else if (cmds.is_string())
    lines = cmds.get<std::string>();
  std::string out = lines.empty()
                        ? "<p class=\"note\">report.json records no commands.</p>\n"
                        : "<pre class=\"commands\"><code>" + escape(lines) + "</code></pre>\n";
  for (const Candidate& c : r.candidates) {
    const json& steps = field(*c.source, "steps");
    if (!c.pick || !steps.is_array() || steps.empty()) continue;
    const json recipe = {{"steps", steps}};
    out += "<p>The pick's recipe:</p>\n<pre class=\"commands\"><code>" +
           escape(recipe.dump(2, ' ', false, json::error_handler_t::replace)) + "</code></pre>\n";
  }
  return out;
}

// A nested value in prose: an object of scalars as "key value · key value", anything else as
// compact JSON.
std::string nested_text(const json& v) {
  if (!v.is_object()) return as_text(v);
  std::string out;
  for (auto it = v.begin(); it != v.end(); ++it)
    out += (out.empty() ? "" : " · ") + it.key() + " " + as_text(it.value());
  return out;
}

// An object's fields as a definition list, `skip` left out.
std::string object_html(const json& obj, const std::vector<std::string>& skip = {}) {
  if (!obj.is_object() || obj.empty()) return "";
  std::ostringstream o;
  o << "<dl>";
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (std::find(skip.begin(), skip.end(), it.key()) != skip.end()) continue;
    o << "<dt>" << escape(it.key()) << "</dt><dd>" << escape(nested_text(it.value())) << "</dd>";
  }
  o << "</dl>\n";
  return o.str();
}

std::string budget_html(const json& root) {
  const json& b = field(root, "budget");
  if (b.is_null()) return "";
  std::ostringstream o;
  o << "<h2>Budget</h2>\n";
  if (b.is_array()) {
    o << "<ul>";
    for (const json& x : b) o << "<li>" << escape(as_text(x)) << "</li>";
    o << "</ul>\n";
  } else if (b.is_object()) {
    o << object_html(b);
  } else {
    o << "<p>" << escape(as_text(b)) << "</p>\n";
  }
  return o.str();
}

std::string limit_text(std::optional<double> v, const std::string& unit) {
  return v ? format_short(*v, 4) + " " + unit : "—";
}

// For each limit that no candidate meets, the candidate closest to it and by how much it misses
// (what `fit` exiting 3 says on the terminal).
std::string closest_misses_html(const Report& r) {
  std::vector<LimitCheck> checks = limit_checks(r.limits);
  std::ostringstream o;
  int limits_set = 0;
  for (const LimitCheck& k : checks) {
    ++limits_set;
    const Candidate* best = nullptr;
    for (const Candidate& c : r.candidates) {
      const auto& v = c.*k.figure;
      if (v && (!best || (k.at_most ? *v < *(best->*k.figure) : *v > *(best->*k.figure))))
        best = &c;
    }
    if (!best) continue;
    const double v = *(best->*k.figure), miss = k.at_most ? v - k.limit : k.limit - v;
    if (miss <= 0) continue;
    o << "<li>" << k.what << (k.at_most ? " ≤ " : " ≥ ") << format_short(k.limit, 4) << " "
      << k.unit << ": met by none; closest <strong>" << escape(best->name) << "</strong> at "
      << format_sig(v, 4) << " " << k.unit << ", ";
    // Accuracy misses in percentage points; the others also relative to the limit.
    if (k.at_most) {
      o << format_sig(miss, 3) << " " << k.unit << " over";
      if (k.limit != 0) o << " (" << format_sig(100 * miss / std::fabs(k.limit), 2) << " %)";
    } else {
      o << format_sig(miss, 3) << " pp under";
    }
    o << "</li>\n";
  }
  const std::string lines = o.str();
  if (!lines.empty()) return "<ul class=\"misses\">\n" + lines + "</ul>\n";
  if (limits_set == 0 || r.candidates.empty()) return "";
  return "<p>Each limit is met by some candidate, but none meets them all at once.</p>\n";
}

std::string summary_html(const Report& r) {
  const json& device = field(*r.root, "device");
  const Limits& l = r.limits;
  int fitting = 0, frontier = 0;
  const Candidate* pick = nullptr;
  for (const Candidate& c : r.candidates) {
    fitting += c.fits.value_or(false);
    frontier += c.on_frontier.value_or(false);
    if (c.pick) pick = &c;
  }
  std::ostringstream o;
  o << "<section class=\"summary\">\n";
  if (pick) {
    o << "<p class=\"verdict fits\">Pick: <strong>" << escape(pick->name) << "</strong>";
    if (pick->size_mb) o << " — " << format_sig(*pick->size_mb, 3) << " MB";
    if (pick->latency_ms) o << ", " << format_sig(*pick->latency_ms, 3) << " ms (" << l.stat << ")";
    if (pick->top1_pct) o << ", top-1 " << format_sig(*pick->top1_pct, 4) << " %";
    o << "</p>\n";
  } else if (!r.pick.empty()) {
    o << "<p class=\"verdict\">Pick <strong>" << escape(r.pick)
      << "</strong> is not among the candidates.</p>\n";
  } else {
    o << "<p class=\"verdict misses\">No candidate meets every limit.</p>\n"
      << closest_misses_html(r);
  }
  o << "<p>" << r.candidates.size() << " candidates evaluated, " << fitting << " fit, " << frontier
    << " on the frontier.</p>\n";
  o << "<div class=\"cols\"><div><h2>Device</h2>";
  const std::string name = string_field(device, "name"),
                    about = string_field(device, "description");
  if (!name.empty() || !about.empty())
    o << "<p><strong>" << escape(name) << "</strong>"
      << (name.empty() || about.empty() ? "" : " — ") << escape(about) << "</p>";
  o << object_html(device, {"name", "description"}) << "</div>"
    << "<div><h2>Limits</h2><dl>"
    << "<dt>latency (" << l.stat << ")</dt><dd>" << limit_text(l.latency_ms, "ms") << "</dd>"
    << "<dt>RAM</dt><dd>" << limit_text(l.ram_mb, "MB") << "</dd>"
    << "<dt>size</dt><dd>" << limit_text(l.size_mb, "MB") << "</dd>"
    << "<dt>energy</dt><dd>" << limit_text(l.energy_mj, "mJ") << "</dd>"
    << "<dt>accuracy drop</dt><dd>" << limit_text(l.drop_pp, "pp");
  if (l.min_top1_pct) o << " (top-1 ≥ " << format_short(*l.min_top1_pct, 4) << " %)";
  o << "</dd>";
  // The objective the pick was chosen by, where the report records it.
  std::string objective = string_field(field(*r.root, "limits"), "objective");
  if (objective.empty()) objective = string_field(*r.root, "objective");
  if (!objective.empty()) o << "<dt>objective</dt><dd>" << escape(objective) << "</dd>";
  o << "</dl></div></div>\n</section>\n";
  return o.str();
}

constexpr const char* kStyle = R"css(
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: #212529; margin: 24px; max-width: 1100px; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 17px; margin: 24px 0 8px; }
h3 { font-size: 14px; margin: 12px 0 4px; }
.verdict { font-size: 16px; }
.verdict.misses { color: #c2255c; }
.cols { display: flex; gap: 8px 48px; flex-wrap: wrap; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; margin: 0; }
dt { color: #495057; }
dd { margin: 0; }
figure.plot { margin: 16px 0; }
figcaption { font-weight: 600; margin-bottom: 4px; }
svg { display: block; font-size: 12px; max-width: 100%; height: auto; }
svg .grid { stroke: #dee2e6; stroke-width: 1; }
svg .tick, svg .axis { stroke: #495057; stroke-width: 1; }
svg .tick-label { fill: #495057; }
svg .axis-label { fill: #212529; font-size: 13px; }
svg .limit { stroke: #c2255c; stroke-width: 1.5; stroke-dasharray: 6 4; }
svg .limit-label { fill: #c2255c; }
svg .frontier-line { fill: none; stroke: #1c7ed6; stroke-width: 1.5; opacity: 0.6; }
svg .point-label { fill: #343a40; font-size: 11px; }
svg .point-label, svg .limit-label {
  paint-order: stroke; stroke: #f4f6f9; stroke-width: 3px; stroke-linejoin: round; }
svg .pick-label { fill: #d9480f; font-weight: 700; font-size: 12px; }
.note { color: #495057; font-size: 12px; margin: 4px 0; }
table.candidates { border-collapse: collapse; margin: 8px 0; }
table.candidates th, table.candidates td { padding: 4px 10px; border-bottom: 1px solid #dee2e6; }
table.candidates th { text-align: left; border-bottom: 2px solid #495057; white-space: nowrap; }
table.candidates th.num { text-align: right; }
table.candidates td:last-child { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.est { font-style: italic; color: #5c5f66; }
tr.dominated { color: #868e96; }
tr.pick { background: #fff4e6; font-weight: 600; }
.badge { background: #d9480f; color: #fff; border-radius: 3px; padding: 0 5px; font-size: 11px; }
.tag { background: #e9ecef; border-radius: 3px; padding: 0 5px; font-size: 11px; }
.recipe ol { margin: 0; padding-left: 24px; }
.recipe.pick h3 { color: #d9480f; }
code { font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
code.op { font-weight: 700; }
.step-name { color: #868e96; }
pre.commands { background: #f1f3f5; padding: 10px 12px; overflow-x: auto; }
)css";

PlotSpec latency_plot(const Report& r) {
  const std::string where = r.on_host ? "on this host" : "on the device";
  PlotSpec p;
  p.id = "pareto";
  p.title = "Accuracy against latency " + where;
  p.x_label = "latency " + where + ", " + r.limits.stat + " (ms)";
  p.y_label = "top-1 accuracy (%)";
  p.x_unit = "ms";
  p.x_key = r.latency_key;
  p.x_what = "latency";
  p.x = &Candidate::latency_ms;
  p.x_limit = r.limits.latency_ms;
  if (p.x_limit) p.x_limit_label = "max latency " + format_short(*p.x_limit, 4) + " ms";
  p.size_markers = true;
  return p;
}

PlotSpec size_plot(const Report& r) {
  PlotSpec p;
  p.id = "size-plot";
  p.title = "Accuracy against model size";
  p.x_label = "model size (MB)";
  p.y_label = "top-1 accuracy (%)";
  p.x_unit = "MB";
  p.x_key = "size_bytes";
  p.x_what = "size";
  p.x = &Candidate::size_mb;
  p.x_limit = r.limits.size_mb;
  if (p.x_limit) p.x_limit_label = "max size " + format_short(*p.x_limit, 4) + " MB";
  return p;
}

}  // namespace

std::string fit_report_html(const json& report) {
  const Report r = read_report(report);
  const std::string title =
      "edgeopt fit" + (r.device_name.empty() ? std::string() : " — " + r.device_name);
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>"
    << escape(title) << "</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n<h1>"
    << escape(title) << "</h1>\n"
    << summary_html(r) << plot_svg(r, latency_plot(r)) << plot_svg(r, size_plot(r))
    << "<h2>Candidates</h2>\n"
    << table_html(r) << "<h2>Commands that reproduce the pick</h2>\n"
    << commands_html(r) << budget_html(report) << "<h2>Recipes</h2>\n"
    << recipes_html(r) << "</body>\n</html>\n";
  return o.str();
}

}  // namespace edgeopt
