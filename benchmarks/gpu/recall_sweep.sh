#!/usr/bin/env bash
# On the H200: a recall sweep (the second configuration of results/recall/attempts/; both were too short
# to train, see that README). Usage: bash benchmarks/gpu/recall_sweep.sh
set -o pipefail
source benchmarks/gpu/device_setup.sh
mkdir -p "$OUT/recall"
start=$(date +%s)
timeout 420 python3 -m archclass recall \
  --arch softmax-attention --arch sliding-window-attention --arch linear-attention --arch gla \
  --arch deltanet --arch mamba --arch samba \
  --d-model 64 --pairs 2,4,8,16,32 --vocab 256 --seq-len 128 --seeds 3 \
  --steps 1500 --eval-every 250 --batch-size 64 --lr 3e-3 --device cuda --workers 14 \
  --out "$OUT/recall" 2>&1 | tee "$OUT/recall/sweep.log"
echo "recall sweep took $(( $(date +%s) - start )) s" | tee -a "$OUT/recall/sweep.log"
