#!/usr/bin/env bash
# Installs every Debian package edgeopt needs. Idempotent: installs only what is missing.
# Usage: scripts/setup.sh   (EDGEOPT_TRAIN=0 skips libtorch, the training backend;
#                            EDGEOPT_ARM64=1 also sets up the arm64 cross build: setup_arm64.sh)
set -euo pipefail

pkgs=(
  build-essential cmake ninja-build pkg-config git
  libonnx-dev libprotobuf-dev protobuf-compiler
  libdnnl-dev libxnnpack-dev libpthreadpool-dev
  libeigen3-dev libcli11-dev nlohmann-json3-dev libstb-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev clang-format
  libonnx-testdata dataset-fashion-mnist
  python3-torch python3-torchvision python3-onnx python3-numpy python3-pil
  libopenblas0-pthread
  # Headless Chromium renders the fit report in tests/fit_report_browser.sh.
  chromium
  pybind11-dev python3-dev python3-pytest python3-build python3-setuptools python3-wheel
  python3-venv
  # `edgeopt package`: patchelf sets the runtime libraries' search path to their own folder,
  # libcrypto hashes the bundle's files; `file` checks the bundle's binaries in the tests.
  patchelf libssl-dev file
)
# Node.js runs ONNX Runtime (npm onnxruntime-node) as the peer; keep a preinstalled one.
command -v node >/dev/null 2>&1 || pkgs+=(nodejs npm)
if [[ "${EDGEOPT_TRAIN:-1}" == "1" ]]; then
  # libgloo-dev: the headers of the Gloo backend of c10d (data-parallel training).
  pkgs+=(libtorch-dev libgloo-dev)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all packages present"
fi

# ONNX Runtime (npm onnxruntime-node): the peer in benchmarks and the proof that edgeopt's
# outputs run elsewhere. Tests that need it are skipped when it cannot be installed.
bash "$(dirname "$0")/../bench/ort/setup.sh" ||
  echo "setup: onnxruntime-node could not be installed; ONNX Runtime checks will be skipped"

# The arm64 cross build and qemu (`make test-arm64`), only when asked: scripts/setup_arm64.sh.
if [[ "${EDGEOPT_ARM64:-0}" == "1" ]]; then
  bash "$(dirname "$0")/setup_arm64.sh" ${EDGEOPT_ARM64_SYSROOT:+"$EDGEOPT_ARM64_SYSROOT"}
fi
