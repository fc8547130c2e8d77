#!/usr/bin/env bash
# Installs onnxruntime-node (the version pinned in package.json) into bench/ort/node_modules.
# Idempotent: does nothing when that version is already installed and loads.
# --ignore-scripts: the package ships its CPU binaries for linux-x64 in the npm tarball; its
# postinstall step only downloads optional GPU providers, which cannot be fetched here.
set -euo pipefail
cd "$(dirname "$0")"

want=$(node -p "require('./package.json').dependencies['onnxruntime-node']")
have=$(node -p "try { require('onnxruntime-node/package.json').version } catch (e) { '' }")
if [[ "$have" == "$want" ]] && node -e "require('onnxruntime-node')" 2>/dev/null; then
  exit 0
fi
npm install --ignore-scripts --no-audit --no-fund --loglevel=error
node -e "require('onnxruntime-node')"
echo "bench/ort: onnxruntime-node $want installed"
