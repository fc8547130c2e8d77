#!/usr/bin/env bash
# Builds the bundle's example into OUT, against this bundle alone (its include/ and lib/), for the
# bundle's architecture: natively on a machine of that architecture, cross-compiled with Debian's
# aarch64-linux-gnu-g++ (crossbuild-essential-arm64) for an arm64 bundle on another one.
# Usage: example/build.sh OUT
set -euo pipefail
if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUT" >&2
  exit 2
fi
ARCH=@ARCH@
here=$(cd "$(dirname "$0")" && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
# The memory the model may use (weights + activations) before the app falls back: `edgeopt
# package --memory-limit`, or the device profile's RAM.
flags=(-DCMAKE_BUILD_TYPE=Release -DMEMORY_LIMIT_BYTES=@MEMORY_LIMIT_BYTES@)
if [[ "$ARCH" != "$(uname -m)" ]]; then
  case "$ARCH" in
    aarch64)
      if ! command -v aarch64-linux-gnu-g++ >/dev/null; then
        echo "build.sh: an $ARCH bundle needs aarch64-linux-gnu-g++ on $(uname -m) (Debian: crossbuild-essential-arm64)" >&2
        exit 2
      fi
      flags+=(-DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64
        -DCMAKE_CXX_COMPILER=aarch64-linux-gnu-g++)
      ;;
    *)
      echo "build.sh: no cross compiler known for $ARCH on $(uname -m)" >&2
      exit 2
      ;;
  esac
fi
# Exit 2 means "no compiler for this architecture here" (above); a failed build is exit 1, whatever
# make's own code (which is 2).
cmake -S "$here" -B "$out/build" "${flags[@]}" >/dev/null || exit 1
cmake --build "$out/build" >/dev/null || exit 1
cp "$out/build/example" "$out/example"
echo "$out/example"
