#!/usr/bin/env bash
# Cross-builds targets of edgeopt for arm64 into ARM64_BUILD: installs what the cross build needs
# (setup_arm64.sh, idempotent), configures with cmake/aarch64-linux-gnu.cmake and builds TARGETS
# with ninja. One place for `make test-arm64`, `make test-arm64-ci`, `make runtime-arm64` and
# scripts/demo.sh, which differ only in the targets they build.
# Usage: scripts/build_arm64.sh ARM64_BUILD HOST_BUILD JOBS TARGET...
#   HOST_BUILD: the x86 build (its edgeopt writes the x86 outputs the arm64 tests compare with).
# EDGEOPT_OPS_FROM (environment): models for a selective build (`make runtime-arm64 OPS_FROM=...`);
# unset or empty, every op (a tree configured selectively before gets every op back).
# EDGEOPT_REFERENCE_OPTIMIZE_SIZE (environment): ON (default) or OFF, the reference provider at
# -Os (CMakeLists.txt); passed explicitly so that a tree configured before it was the default
# gets it too.
set -euo pipefail
if [[ $# -lt 4 ]]; then
  echo "usage: $0 ARM64_BUILD HOST_BUILD JOBS TARGET..." >&2
  exit 2
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
arm64_build=$(realpath -m "$1") host_build=$(realpath -m "$2") jobs=$3
shift 3
bash "$root/scripts/setup_arm64.sh" "$arm64_build/sysroot"
cmake --no-warn-unused-cli -S "$root" -B "$arm64_build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" \
  -DEDGEOPT_OPS_FROM="${EDGEOPT_OPS_FROM:-}" \
  -DEDGEOPT_REFERENCE_OPTIMIZE_SIZE="${EDGEOPT_REFERENCE_OPTIMIZE_SIZE:-ON}" \
  -DEDGEOPT_HOST_BUILD_DIR="$host_build" >/dev/null
ninja -C "$arm64_build" -j "$jobs" "$@"
