#!/usr/bin/env bash
# On the H200: the recall sweep of results/recall/. Usage: bash benchmarks/gpu/recall_sweep.sh
set -o pipefail
source benchmarks/gpu/device_setup.sh
mkdir -p "$OUT/recall"
start=$(date +%s)
timeout 560 python3 -m archclass recall \
  --arch softmax-attention --arch sliding-window-attention --arch linear-attention --arch retnet \
  --arch gla --arch deltanet --arch gated-deltanet --arch mamba --arch samba \
  --d-model 64,128,256 --pairs 4,8,16,32,64,128 --vocab 2048 --seq-len 512 --seeds 3 \
  --steps 1200 --eval-every 200 --batch-size 64 --lr 1e-3 --device cuda --workers 12 \
  --out "$OUT/recall" 2>&1 | tee "$OUT/recall/sweep.log"
echo "recall sweep took $(( $(date +%s) - start )) s" | tee -a "$OUT/recall/sweep.log"
