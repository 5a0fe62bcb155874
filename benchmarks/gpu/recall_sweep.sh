#!/usr/bin/env bash
# The recall sweep on one H200 (results/recall/h200/). Usage: bash benchmarks/gpu/recall_sweep.sh [SECONDS]
# Trains 60 models in 14 processes sharing the GPU; cut short by SECONDS, it keeps the finished runs in
# $OUT/h200/runs.partial.jsonl, and a second call given that file (copied to results/recall/h200/) as
# RESUME=path trains only the rest.
set -o pipefail
source benchmarks/gpu/device_setup.sh
limit=${1:-540}
dest="$OUT/h200"
mkdir -p "$dest"
nvidia-smi dmon -s u -d 15 > "$dest/gpu.log" 2>&1 &
resume=()
if [ -n "${RESUME:-}" ]; then resume=(--resume "$RESUME"); fi
start=$(date +%s)
# Slowest families first, so the pool's tail is short.
timeout "$limit" python3 -m archclass recall \
  --arch samba --arch softmax-attention --arch deltanet --arch retnet --arch linear-attention \
  --arch sliding-window-attention --arch mamba \
  --state-bytes 8192,24576,73728 --match-width 64 --d-model 32,64 \
  --vocab 64 --pairs 2,4,8,16,32 --seq-len 128 --test-seq-len 256 --seeds 3 \
  --steps 2000 --eval-every 200 --batch-size 64 --lr 3e-3 --kw chunk_size=8 --kw n_layers=2 \
  --device cuda --workers 14 --no-store "${resume[@]}" --out "$dest" 2>&1 | tee "$dest/sweep.log"
echo "recall sweep took $(( $(date +%s) - start )) s" | tee -a "$dest/sweep.log"
