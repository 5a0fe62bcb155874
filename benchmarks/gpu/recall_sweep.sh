#!/usr/bin/env bash
# The recall sweep on one H200, in parts that each fit the device's 10-minute command limit.
# Usage: bash benchmarks/gpu/recall_sweep.sh PART [SECONDS]
#   PART: calibrate | compact | attention  (results/recall/README.md says which parts made the figure)
# Each part writes $OUT/<part>/ (results.json, results.md, capacity.png, sweep.log, gpu.log).
set -o pipefail
source benchmarks/gpu/device_setup.sh
part=${1:?usage: recall_sweep.sh calibrate|compact|attention [seconds]}
limit=${2:-540}
dest="$OUT/$part"
mkdir -p "$dest"
nvidia-smi dmon -s u -d 15 > "$dest/gpu.log" 2>&1 &
common=(--vocab 1024 --pairs 8,16,32,64,128 --seq-len 512 --test-seq-len 1024
        --batch-size 64 --lr 3e-3 --eval-every 250 --kw chunk_size=8 --kw n_layers=2 --device cuda)
case "$part" in
  calibrate)
    args=(--arch softmax-attention --arch sliding-window-attention --arch linear-attention --arch retnet
          --arch deltanet --arch mamba --arch samba --d-model 64 --seeds 1 --steps 2000 --workers 7
          --kw window=64) ;;
  compact)
    args=(--arch sliding-window-attention --arch linear-attention --arch retnet --arch deltanet --arch mamba
          --arch samba --d-model 64 --state-bytes 16384,65536,262144 --seeds 3 --steps 3000 --workers 14) ;;
  attention)
    args=(--arch softmax-attention --d-model 32,64 --seeds 3 --steps 3000 --workers 6) ;;
  *) echo "unknown part $part"; exit 2 ;;
esac
start=$(date +%s)
timeout "$limit" python3 -m archclass recall "${args[@]}" "${common[@]}" --out "$dest" 2>&1 | tee "$dest/sweep.log"
echo "part $part took $(( $(date +%s) - start )) s" | tee -a "$dest/sweep.log"
