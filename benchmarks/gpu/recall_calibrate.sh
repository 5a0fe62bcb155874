#!/usr/bin/env bash
# Calibrate the published-scale recall sweep on one H200 (about 200 s): attention and the four compact
# families (linear attention, GLA, DeltaNet, Mamba-2) at d_model 128, V = 1024 at three learning rates
# and V = 8192 at the middle one, all 20 runs at once on the GPU, each trained for SECONDS (default 120)
# on Zoology's mixture and tested at T = 1024, K = 4..256. Prints per run: tokens/s (per process, under
# the sharing), the step its loss left the first plateau (or never), its final accuracy per K.
# Usage: bash benchmarks/gpu/recall_calibrate.sh [SECONDS]
set -o pipefail
source benchmarks/gpu/device_setup.sh
seconds=${1:-120}
dest="$OUT/calibration"
mkdir -p "$dest"
nvidia-smi dmon -s um -d 10 > "$dest/gpu.log" 2>&1 &
monitor=$!
start=$(date +%s)
timeout $(( seconds + 75 )) python3 -m archclass.recall.calibrate --seconds "$seconds" --steps 3000 \
  --d-model 128 --out "$dest" 2>&1 | tee "$dest/calibration.log"
echo "calibration took $(( $(date +%s) - start )) s" | tee -a "$dest/calibration.log"
kill "$monitor" 2>/dev/null
