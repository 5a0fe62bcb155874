#!/usr/bin/env bash
# On the H200: how many steps MQAR training needs to leave its first plateau (loss = ln V), for a few
# vocabularies, lengths and learning rates. Usage: bash benchmarks/gpu/recall_diagnose.sh [SECONDS]
set -o pipefail
source benchmarks/gpu/device_setup.sh
limit=${1:-200}
run() {  # name, then arguments for archclass recall
  local name=$1; shift
  timeout "$limit" python3 -m archclass recall "$@" --seeds 1 --steps 3000 --eval-every 250 --batch-size 64 \
    --device cuda --no-figure --no-store --verbose --kw chunk_size=8 --out "/tmp/diag/$name" > "$OUT/$name.log" 2>&1
}
mkdir -p /tmp/diag
archs=(--arch softmax-attention --arch linear-attention --arch deltanet)
run v64-l128 "${archs[@]}" --arch mamba --workers 4 --vocab 64 --seq-len 128 --pairs 4,8,16,32 --lr 3e-3 &
run v128-l128 "${archs[@]}" --arch mamba --workers 4 --vocab 128 --seq-len 128 --pairs 4,8,16,32 --lr 3e-3 &
run v64-l256 "${archs[@]}" --workers 3 --vocab 64 --seq-len 256 --pairs 4,8,16,32,64 --lr 3e-3 &
run v128-l256-lr1e-2 "${archs[@]}" --workers 3 --vocab 128 --seq-len 256 --pairs 4,8,16,32,64 --lr 1e-2 &
wait
for d in /tmp/diag/*/; do
  name=$(basename "$d")
  if [ -f "$d/results.json" ]; then cp "$d/results.json" "$OUT/$name.json"; else cp "$d/runs.partial.jsonl" "$OUT/$name.jsonl"; fi
done
tail -n 2 $OUT/*.log
