#!/bin/bash
# The `fit` HTML report in a real browser: FitReportBrowser.WritesPages writes three pages (the
# sample report with a pick, the same without one, a crowded one), Debian's headless Chromium
# takes a screenshot of each (the first also in a narrow window, where the plots scale down),
# and fit_report_check.py finds the pick's marker where report.json puts it (and no pick colour
# in the page without a pick). Fails when Chromium writes no screenshot. Exits 77 (skipped)
# when Chromium or Python's PIL and numpy are missing (scripts/setup.sh installs them).
# Usage: fit_report_browser.sh SOURCE_DIR BINARY_DIR TESTS_BINARY
set -euo pipefail
src=$1
bin=$2
tests=$3
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "skipped: chromium is not installed (scripts/setup.sh installs it)"
  exit 77
fi
if ! /usr/bin/python3 -c 'import numpy, PIL' 2>/dev/null; then
  echo "skipped: /usr/bin/python3 lacks numpy or PIL (python3-numpy, python3-pil)"
  exit 77
fi
out=$bin/fit_report_browser
rm -rf "$out"
EDGEOPT_FIT_PAGES=$out "$tests" --gtest_filter=FitReportBrowser.WritesPages
[ -s "$out/report.html" ] || { echo "FAIL: FitReportBrowser.WritesPages wrote no page"; exit 1; }
status=0
# Page and window width: the sample also in a narrow window, where the plots scale down.
for shot in report:1200 nopick:1200 crowded:1200 report:560; do
  page=${shot%%:*}
  width=${shot##*:}
  png=$out/$page-$width.png
  # A profile of its own: no clash with another Chromium on the machine.
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$out/profile" --window-size="$width,1600" --screenshot="$png" \
    "file://$out/$page.html" >"$out/$page-$width.log" 2>&1 || true
  if [ ! -s "$png" ]; then
    echo "FAIL: chromium wrote no screenshot of $page.html at width $width:"
    tail -5 "$out/$page-$width.log"
    status=1
    continue
  fi
  echo "== $page.html, $width px wide"
  /usr/bin/python3 "$src/tests/fit_report_check.py" "$out/$page.json" "$png" || status=1
done
exit $status
