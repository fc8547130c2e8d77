#!/usr/bin/env bash
# Fails when a tracked C or C++ file differs from what clang-format makes of it (.clang-format at
# the repository's root; Debian 12's clang-format 14, installed by scripts/setup.sh). Run by
# .ci/run; `clang-format -i FILE` fixes a file it names.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null; then
  echo "check_format: clang-format not found (scripts/setup.sh installs it)" >&2
  exit 1
fi
bad=0 n=0
while IFS= read -r f; do
  n=$((n + 1))
  if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
    echo "not clang-formatted: $f" >&2
    bad=$((bad + 1))
  fi
done < <(git ls-files '*.c' '*.cc' '*.cpp' '*.h' '*.hpp')
if ((n == 0)); then
  echo "check_format: no file checked (not a git checkout?)" >&2
  exit 1
fi
if ((bad > 0)); then
  echo "check_format: $bad of $n files are not clang-formatted" >&2
  exit 1
fi
echo "check_format: $n files clang-formatted"
