#!/usr/bin/env bash
# edgeopt vs ONNX Runtime on the same model files, batch 1, 1 and 2 threads.
#
# Usage: bench/peer_bench.sh [--build DIR] [--rounds R] [--runs N] [--warmup W]
#                            [--threads "1 2"] [--provider P] [--ort-spin] [MODEL.onnx ...]
#
# Default models: the torchvision fixtures resnet18, mobilenet_v2, squeezenet1_1,
# efficientnet_b0 (<build>/fixtures/<name>_op13.onnx, made by
# scripts/make_torchvision_fixtures.py when missing) and models/fashion_resnet.onnx.
# For every model and thread count the two runtimes alternate for R rounds (so that load from
# other processes on the machine hits both alike); each round is one process measuring the
# p50 of N runs after W warm-up runs; the table gives the median over rounds of those p50s.
# ratio = edgeopt / ORT (below 1: edgeopt is faster). Peak RSS is the whole process's maximum
# resident set (GNU time %M; for ORT that includes Node.js), median over rounds.
# --provider: edgeopt's --provider (default: edgeopt's default, onednn then reference on x86).
# Idle threads sleep in both runtimes: edgeopt's CLI spins ~30 us between nodes and then sleeps
# (OMP_WAIT_POLICY=PASSIVE, GOMP_SPINCOUNT=3000), ORT gets --no-spin, i.e. allow_spinning 0;
# --ort-spin keeps ORT's default spinning pool, which on a busy machine is several times slower
# at 2 threads. Prints one Markdown table on stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
rounds=5
runs=50
warmup=10
threads_list="1 2"
provider=""
ort_spin=(--no-spin)
models=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build=$(realpath "$2"); shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --threads) threads_list=$2; shift 2 ;;
    --provider) provider=$2; shift 2 ;;
    --ort-spin) ort_spin=(); shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
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

provider_args=()
[[ -n "$provider" ]] && provider_args=(--provider "$provider")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A field of the JSON object on stdin (dotted path).
field() {
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let v=JSON.parse(s);
    for (const k of process.argv[1].split(".")) v=v[k]; console.log(v)})' "$1"
}

echo "| model | threads | edgeopt p50 ms | ORT p50 ms | ratio | edgeopt RSS MiB | ORT RSS MiB |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for model in "${models[@]}"; do
  name=$(basename "$model" .onnx)
  for t in $threads_list; do
    e_all=""; o_all=""; er_all=""; or_all=""
    for ((r = 0; r < rounds; ++r)); do
      /usr/bin/time -f %M -o "$tmp/e_rss" "$edgeopt" bench "$model" "${provider_args[@]}" \
        --threads "$t" --batch 1 --warmup "$warmup" --runs "$runs" --json > "$tmp/e.json"
      /usr/bin/time -f %M -o "$tmp/o_rss" node "$root/bench/ort/run_ort.js" "$model" \
        --threads "$t" --warmup "$warmup" --runs "$runs" "${ort_spin[@]}" --json > "$tmp/o.json"
      e_all+="$(field p50_ms < "$tmp/e.json")"$'\n'
      o_all+="$(field latency_ms.p50 < "$tmp/o.json")"$'\n'
      er_all+="$(tail -1 "$tmp/e_rss")"$'\n'
      or_all+="$(tail -1 "$tmp/o_rss")"$'\n'
    done
    em=$(printf "%s" "$e_all" | median)
    om=$(printf "%s" "$o_all" | median)
    erm=$(printf "%s" "$er_all" | median)
    orm=$(printf "%s" "$or_all" | median)
    awk -v n="$name" -v t="$t" -v e="$em" -v o="$om" -v er="$erm" -v or="$orm" \
      'BEGIN {printf "| %s | %d | %.3f | %.3f | %.2f | %.0f | %.0f |\n", n, t, e, o, e / o,
              er / 1024, or / 1024}'
  done
done
