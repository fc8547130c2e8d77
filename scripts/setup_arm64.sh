#!/usr/bin/env bash
# Installs what the arm64 cross build (cmake/aarch64-linux-gnu.cmake, `make test-arm64`) needs,
# beside the amd64 packages of scripts/setup.sh and without touching them. Idempotent.
# Usage: scripts/setup_arm64.sh SYSROOT   (default: build-arm64/sysroot)
#
# - Debian's cross compiler and qemu-user (runs the arm64 test binaries, no binfmt needed).
# - The arm64 -dev packages that are multiarch, installed with apt beside the amd64 ones.
#   libonnxifi:arm64 ships /usr/lib/libonnxifi.so like the amd64 package (same path, different
#   file): dpkg is told to leave that one file out; edgeopt does not use ONNXIFI.
# - XNNPACK and pthreadpool are NOT multiarch: `apt-get install libxnnpack-dev:arm64` would
#   remove the amd64 ones and libtorch with them. Their arm64 .debs are downloaded and unpacked
#   into SYSROOT (under the build tree), which the toolchain file searches.
# - oneDNN is left out: the ARM build's fast provider is XNNPACK (EDGEOPT_ONEDNN=OFF).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
sysroot="${1:-$root/build-arm64/sysroot}"

SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

updated=0
apt_update() {
  if ((updated == 0)); then
    $SUDO apt-get update -qq
    updated=1
  fi
}

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "setup-arm64: adding the arm64 architecture to dpkg"
  $SUDO dpkg --add-architecture arm64
  updated=0
  apt_update
fi

pkgs=(
  crossbuild-essential-arm64 qemu-user
  libprotobuf-dev:arm64 zlib1g-dev:arm64 libonnx-dev:arm64 libcpuinfo-dev:arm64
  libgtest-dev:arm64 libstb-dev:arm64 libssl-dev:arm64
)
missing=()
for p in "${pkgs[@]}"; do
  installed "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup-arm64: installing ${missing[*]}"
  apt_update
  # The arm64 libraries must be the same version as the amd64 ones already installed
  # (Multi-Arch: same); apt upgrades the amd64 ones to the matching point release if needed.
  $SUDO apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--path-exclude=/usr/lib/libonnxifi.so "${missing[@]}" >/dev/null
else
  echo "setup-arm64: all packages present"
fi

# XNNPACK and pthreadpool for arm64, unpacked (not installed) into the sysroot. The version
# matches the amd64 package, so the host's xnnpack.h and pthreadpool.h describe them.
sysroot_pkgs=(libxnnpack0 libxnnpack-dev libpthreadpool0 libpthreadpool-dev)
stamp="$sysroot/.unpacked"
want="$(for p in "${sysroot_pkgs[@]}"; do
  apt-cache policy "$p:arm64" 2>/dev/null | awk -v p="$p" '/Candidate:/ {print p "=" $2}'
done)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -n "$want" ]]; then
  echo "setup-arm64: XNNPACK sysroot present ($sysroot)"
else
  echo "setup-arm64: unpacking ${sysroot_pkgs[*]} (arm64) into $sysroot"
  apt_update
  debs="$(mktemp -d)"
  # apt downloads as the user _apt where it exists.
  chmod 755 "$debs"
  if id _apt >/dev/null 2>&1; then $SUDO chown _apt "$debs"; fi
  trap 'rm -rf "$debs"' EXIT
  (cd "$debs" && apt-get download -qq "${sysroot_pkgs[@]/%/:arm64}")
  rm -rf "${sysroot:?}"
  mkdir -p "$sysroot"
  for deb in "$debs"/*.deb; do
    dpkg-deb -x "$deb" "$sysroot"
  done
  # Recompute after the update so the stamp names what was unpacked.
  want="$(for p in "${sysroot_pkgs[@]}"; do
    apt-cache policy "$p:arm64" | awk -v p="$p" '/Candidate:/ {print p "=" $2}'
  done)"
  echo "$want" >"$stamp"
fi
test -f "$sysroot/usr/lib/aarch64-linux-gnu/libXNNPACK.so" ||
  { echo "setup-arm64: $sysroot has no libXNNPACK.so" >&2; exit 1; }
