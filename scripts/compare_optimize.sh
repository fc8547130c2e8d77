#!/bin/bash
# Checks that a change leaves `edgeopt optimize` (default passes) byte-for-byte as it was.
#
#   scripts/compare_optimize.sh run EDGEOPT OUT_DIR     optimize every model below into OUT_DIR
#   scripts/compare_optimize.sh compare OLD_DIR NEW_DIR  compare two such runs
#
# Models: models/*.onnx, build/fixtures/*.onnx and build/corpus/**.onnx (the source tree is the
# current directory). `run` writes OUT_DIR/<flattened path>.onnx and, per model, the exit code
# and the first line of stderr; `compare` prints one line per difference and the counts, and
# exits 1 when any model differs.
set -u
mode=${1:?run or compare}
if [ "$mode" = run ]; then
  bin=${2:?edgeopt binary}
  out=${3:?output folder}
  mkdir -p "$out"
  find models build/fixtures build/corpus -name '*.onnx' -not -path '*/results/*' | sort |
    while read -r model; do
      key=$(echo "$model" | tr '/' '_')
      "$bin" optimize "$model" -o "$out/$key" > /dev/null 2> "$out/$key.err"
      echo $? > "$out/$key.rc"
      head -1 "$out/$key.err" > "$out/$key.msg"
      rm -f "$out/$key.err"
    done
  exit 0
fi
old=${2:?old folder}
new=${3:?new folder}
same=0 differ=0 failed=0
for rc in "$old"/*.rc; do
  [ -e "$rc" ] || continue
  key=$(basename "$rc" .rc)
  if ! cmp -s "$rc" "$new/$key.rc" || ! cmp -s "$old/$key.msg" "$new/$key.msg"; then
    echo "DIFFERENT RESULT $key: $(cat "$rc") '$(cat "$old/$key.msg")' vs" \
      "$(cat "$new/$key.rc" 2>/dev/null) '$(cat "$new/$key.msg" 2>/dev/null)'"
    differ=$((differ + 1))
  elif [ "$(cat "$rc")" != 0 ]; then
    failed=$((failed + 1))  # the same error both times
  elif cmp -s "$old/$key" "$new/$key"; then
    same=$((same + 1))
  else
    echo "DIFFERENT BYTES $key"
    differ=$((differ + 1))
  fi
done
echo "compared $((same + differ + failed)) models: $same byte-identical, $failed failing" \
  "the same way in both, $differ different"
# Nothing compared is a failure too (an empty or mistyped folder).
[ "$differ" = 0 ] && [ $((same + failed)) -gt 0 ]
