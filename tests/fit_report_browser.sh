#!/bin/bash
# The `fit` HTML report in a real browser: FitReportBrowser.WritesPages writes two pages (the
# sample report with a pick, and without one), Debian's headless Chromium takes a screenshot of
# each, and fit_report_check.py finds the pick's marker where report.json puts it (and no pick
# colour in the page without a pick). Fails when Chromium writes no screenshot.
# Exits 77 (skipped) when Chromium or Python's PIL and numpy are missing (scripts/setup.sh
# installs them).
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
"$tests" --gtest_filter=FitReportBrowser.WritesPages
status=0
for page in report nopick; do
  rm -f "$out/$page.png"
  # A profile of its own: no clash with another Chromium on the machine.
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$out/profile" --window-size=1200,1600 --screenshot="$out/$page.png" \
    "file://$out/$page.html" >"$out/$page.chromium.log" 2>&1 || true
  if [ ! -s "$out/$page.png" ]; then
    echo "FAIL: chromium wrote no screenshot of $page.html:"
    tail -5 "$out/$page.chromium.log"
    status=1
    continue
  fi
  echo "== $page"
  /usr/bin/python3 "$src/tests/fit_report_check.py" "$out/$page.json" "$out/$page.png" || status=1
done
exit $status
