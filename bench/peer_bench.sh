#!/usr/bin/env bash
# edgeopt (oneDNN provider) vs ONNX Runtime on the same model files, batch 1, 1 and 2 threads.
#
# Usage: bench/peer_bench.sh [--build DIR] [--rounds R] [--runs N] [--warmup W]
#                            [--threads "1 2"] [MODEL.onnx ...]
#
# Default models: the torchvision fixtures resnet18, mobilenet_v2, squeezenet1_1,
# efficientnet_b0 (<build>/fixtures/<name>_op13.onnx, made by
# scripts/make_torchvision_fixtures.py when missing) and models/fashion_resnet.onnx.
# For every model and thread count the two runtimes alternate for R rounds (so that load from
# other processes on the machine hits both alike); each round is one process measuring the
# p50 of N runs after W warm-up runs; the table gives the median over rounds of those p50s.
# ratio = edgeopt / ORT (below 1: edgeopt is faster). Prints one Markdown table on stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
rounds=5
runs=50
warmup=10
threads_list="1 2"
models=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$(realpath "$2"); shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --threads) threads_list=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) models+=("$1"); shift ;;
  esac
done

edgeopt="$build/edgeopt"
[[ -x "$edgeopt" ]] || { echo "peer_bench: $edgeopt not built" >&2; exit 2; }
bash "$root/bench/ort/setup.sh" >&2

if [[ ${#models[@]} -eq 0 ]]; then
  fixtures="$build/fixtures"
  if [[ ! -f "$fixtures/efficientnet_b0_op13.onnx" ]]; then
    /usr/bin/python3 "$root/scripts/make_torchvision_fixtures.py" "$fixtures" >&2
  fi
  for m in resnet18 mobilenet_v2 squeezenet1_1 efficientnet_b0; do
    models+=("$fixtures/${m}_op13.onnx")
  done
  models+=("$root/models/fashion_resnet.onnx")
fi

# Median of numbers given one per line.
median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

echo "| model | threads | edgeopt p50 ms | ORT p50 ms | ratio |"
echo "|---|---:|---:|---:|---:|"
for model in "${models[@]}"; do
  name=$(basename "$model" .onnx)
  for t in $threads_list; do
    e_all=""; o_all=""
    for ((r = 0; r < rounds; ++r)); do
      e=$("$edgeopt" bench "$model" --provider onednn,reference --threads "$t" --batch 1 \
            --warmup "$warmup" --runs "$runs" --json |
          node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).p50_ms))')
      o=$(node "$root/bench/ort/run_ort.js" "$model" --threads "$t" --warmup "$warmup" \
            --runs "$runs" --json |
          node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).latency_ms.p50))')
      e_all+="$e"$'\n'; o_all+="$o"$'\n'
    done
    em=$(printf "%s" "$e_all" | median)
    om=$(printf "%s" "$o_all" | median)
    awk -v n="$name" -v t="$t" -v e="$em" -v o="$om" \
      'BEGIN {printf "| %s | %d | %.3f | %.3f | %.2f |\n", n, t, e, o, e / o}'
  done
done
