#!/usr/bin/python3
"""Checks a browser's screenshot of the `fit` HTML report against the report.json it came from.

Usage: fit_report_check.py REPORT_JSON SCREENSHOT_PNG

Finds the first plot (accuracy against device latency) in the screenshot by its plot-area
colour, works out from report.json alone where each candidate's marker must be (the axis rules
of src/report/fit_html.cpp, written again here), and checks:
  - the page is not blank (many distinct colours),
  - with a pick: its colour fills the marker's centre and its ring surrounds it, and no other
    candidate's marker is in that colour;
  - without a pick: the pick colour appears nowhere in the plot.
Exits 1 with one line per failed check.
"""
import json
import math
import sys

import numpy as np
from PIL import Image

PLOT_AREA = (0xF4, 0xF6, 0xF9)  # kPlotBackground
PICK = (0xD9, 0x48, 0x0F)  # kPickColour
AREA_W, AREA_H = 664.0, 360.0  # kRight - kLeft, kBottom - kTop
INSET = 18.0  # kInset
MAX_RADIUS, MIN_RADIUS = 15.0, 3.5  # kMaxRadius, kMinRadius
TOLERANCE = 32  # per channel, for anti-aliasing


def number(obj, key):
    v = obj.get(key) if isinstance(obj, dict) else None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def nice_axis(lo, hi):
    """About five steps of 1, 2 or 5 x 10^k covering [lo, hi]; equal ends widened first."""
    if not hi > lo:
        pad = abs(lo) * 0.05 if lo != 0 else 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / 5
    mag = 10.0 ** math.floor(math.log10(raw))
    f = raw / mag
    step = (1 if f <= 1 else 2 if f <= 2 else 5 if f <= 5 else 10) * mag
    return math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step


def domain(values, limit):
    """The data range, widened to a limit that keeps the data on a third of the axis."""
    lo, hi = min(values), max(values)
    if limit is None:
        return lo, hi
    wlo, whi = min(lo, limit), max(hi, limit)
    if whi - wlo <= 3 * (hi - lo) or (hi == lo and abs(limit - lo) <= 0.1 * abs(lo)):
        return wlo, whi
    return lo, hi


def expected_markers(report):
    """Each plotted candidate's (name, latency, top-1 %, radius in SVG units) and the axes."""
    limits = report.get("limits") if isinstance(report.get("limits"), dict) else {}
    stat = "p95" if limits.get("latency_stat") == "p95" else "p50"
    cands = [c for c in report.get("candidates", []) if isinstance(c, dict)]
    baseline = report.get("baseline")
    base = next((c for c in cands if c.get("name") == baseline), None)
    if base is None:
        base = next((c for c in cands if c.get("steps") == []), None)
    # top1 is a fraction, unless a value above 1 says the report gives percentages.
    pct = 1 if any((number(c, "top1") or 0) > 1 for c in cands) else 100
    min_top1 = None
    drop = number(limits, "max_drop_pp")
    if base is not None and number(base, "top1") is not None and drop is not None:
        min_top1 = number(base, "top1") * pct - drop
    # Host figures when no candidate has a device one.
    key = "device_%s_ms" % stat
    if not any(number(c, key) is not None for c in cands):
        key = "host_%s_ms" % stat
    pts = []
    for c in cands:
        x, y = number(c, key), number(c, "top1")
        if x is not None and y is not None:
            size = number(c, "size_bytes")
            pts.append((str(c.get("name")), x, y * pct, None if size is None else size / 1e6))
    if not pts:
        return [], None, None
    xa = nice_axis(*domain([p[1] for p in pts], number(limits, "max_latency_ms")))
    ya = nice_axis(*domain([p[2] for p in pts], min_top1))
    max_size = max([p[3] for p in pts if p[3] is not None] + [0])
    out = []
    for name, x, y, size in pts:
        r = 6.0
        if size is not None and max_size > 0:
            r = max(MIN_RADIUS, MAX_RADIUS * math.sqrt(max(0.0, size) / max_size))
        out.append((name, x, y, r))
    return out, xa, ya


def first_plot_area(img):
    """Bounding box (left, top, right, bottom; inclusive) of the first plot area on the page."""
    mask = np.all(img == np.array(PLOT_AREA, dtype=img.dtype), axis=2)
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    # Grid lines cross the area; a gap of more than 12 rows is the space between the plots.
    end = rows[0]
    for r in rows[1:]:
        if r - end > 12:
            break
        end = r
    cols = np.flatnonzero(mask[rows[0]:end + 1].any(axis=0))
    return cols[0], rows[0], cols[-1], end


def is_pick(pixel):
    return all(abs(int(a) - b) <= TOLERANCE for a, b in zip(pixel, PICK))


def main():
    report = json.load(open(sys.argv[1]))
    img = np.asarray(Image.open(sys.argv[2]).convert("RGB"))
    failures = []
    colours = len(np.unique(img.reshape(-1, 3), axis=0))
    if colours < 50:
        failures.append("page looks blank: %d distinct colours" % colours)
    box = first_plot_area(img)
    if box is None:
        print("FAIL: no plot area (colour #%02x%02x%02x) in the screenshot" % PLOT_AREA)
        return 1
    left, top, right, bottom = box
    scale = (right - left + 1) / AREA_W
    if abs((bottom - top + 1) / AREA_H - scale) > 0.02:
        failures.append("plot area %dx%d px is not the SVG's %gx%g"
                        % (right - left + 1, bottom - top + 1, AREA_W, AREA_H))
    if not expected_markers(report)[0]:
        print("FAIL: no candidate in %s has both a latency and a top-1" % sys.argv[1])
        return 1
    markers, (xlo, xhi), (ylo, yhi) = expected_markers(report)

    def to_px(x, y):
        px = left + scale * (INSET + (x - xlo) / (xhi - xlo) * (AREA_W - 2 * INSET))
        py = top + scale * (INSET + (yhi - y) / (yhi - ylo) * (AREA_H - 2 * INSET))
        return int(math.floor(px)), int(math.floor(py))

    pick = report.get("pick")
    pick_xy = None
    for name, x, y, r in markers:
        if name == pick:
            pick_xy = to_px(x, y), r
    print("plot area %s, axes x %g..%g ms, y %g..%g %%, %d markers"
          % (box, xlo, xhi, ylo, yhi, len(markers)))
    if pick is not None:
        if pick_xy is None:
            failures.append("pick %r has no marker in the report's figures" % pick)
        else:
            (px, py), r = pick_xy
            centre = img[py - 1:py + 2, px - 1:px + 2].reshape(-1, 3)
            print("pick %r expected at (%d, %d): centre pixels %s"
                  % (pick, px, py, centre.tolist()))
            if not all(is_pick(p) for p in centre):
                failures.append("pick %r: centre (%d, %d) is not the pick colour" % (pick, px, py))
            # The ring, r + 5 out (2.5 wide): left, above and below (the label is on the right).
            ring = int(round(scale * (r + 5)))
            for dx, dy in ((-ring, 0), (0, -ring), (0, ring)):
                near = img[py + dy - 2:py + dy + 3, px + dx - 2:px + dx + 3].reshape(-1, 3)
                if not any(is_pick(p) for p in near):
                    failures.append("pick %r: no ring at (%d, %d)" % (pick, px + dx, py + dy))
        for name, x, y, r in markers:
            if name == pick or pick_xy is None:
                continue
            px, py = to_px(x, y)
            (qx, qy), qr = pick_xy
            if math.hypot(px - qx, py - qy) < scale * (qr + 8 + r):
                continue  # overlaps the pick's marker
            if is_pick(img[py, px]):
                failures.append("candidate %r at (%d, %d) is in the pick colour" % (name, px, py))
    else:
        area = img[top:bottom + 1, left:right + 1].astype(int)
        n = int(np.all(np.abs(area - np.array(PICK)) <= TOLERANCE, axis=2).sum())
        if n > 0:
            failures.append("no pick, but %d pixels of the pick colour in the plot" % n)
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
