#!/usr/bin/env bash
# libedgeopt_rt (protobuf-lite reader, shape hints from the kernels) against the edgeopt tool
# (libonnx reader, ONNX shape inference) on the same inputs: the first output bit for bit.
#   lite_vs_tool.sh C_API_TEST EDGEOPT WORKDIR MODEL...
# Every model must be there and compared; prints PASSED with the count.
set -euo pipefail
c_api_test=$1 edgeopt=$2 dir=$3
shift 3
mkdir -p "$dir"
compared=0
for model in "$@"; do
  [ -f "$model" ] || { echo "FAILED: no model $model"; exit 1; }
  name=$(basename "$(dirname "$model")")_$(basename "$model" .onnx)  # corpus files are all model.onnx
  "$c_api_test" input "$model" "$dir/$name.x.npy" >/dev/null
  "$edgeopt" run "$model" --input "$dir/$name.x.npy" --output "$dir/$name.y.npy" >/dev/null
  if ! "$c_api_test" compare "$model" "$dir/$name.x.npy" "$dir/$name.y.npy" >"$dir/$name.log"; then
    echo "FAILED: $name: libedgeopt_rt differs from edgeopt run"
    grep FAILED "$dir/$name.log"
    exit 1
  fi
  echo "same: $name"
  compared=$((compared + 1))
done
[ "$compared" -eq "$#" ] && [ "$compared" -gt 0 ] || { echo "FAILED: compared $compared of $#"; exit 1; }
echo "PASSED: $compared models, bit for bit"
