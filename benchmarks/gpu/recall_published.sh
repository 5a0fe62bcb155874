#!/usr/bin/env bash
# One part of the published-scale recall sweep on one H200 (archclass.recall.published; <= 540 s).
# Usage: bash benchmarks/gpu/recall_published.sh PART [RESUME-FILE]
#   Part 1: the four compact families at d_model 64..512, seed 0, lr 3e-3, with attention and Hyena;
#   2-3: seeds 1 and 2 (3 with Hyena at 64 and 256 and sliding windows of 64 and 256); 4-7: the other
#   learning rates. All runs of a part share the GPU at once.
# It writes $OUT/published/runs.partial.jsonl holding RESUME-FILE's runs and the new ones, so the next
# part takes that file (copied back, e.g. to results/recall/published/runs.partial.jsonl) as its
# RESUME-FILE. When all parts are in: python -m archclass.recall.published report FILE --out results/recall
set -o pipefail
export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True  # many runs share one GPU: less fragmentation
source benchmarks/gpu/device_setup.sh
part=${1:?usage: recall_published.sh PART [RESUME-FILE]}
dest="$OUT/published"
mkdir -p "$dest"
resume=()
if [ -n "${2:-}" ]; then resume=(--resume "$2"); fi
nvidia-smi dmon -s um -d 15 > "$dest/gpu-part$part.log" 2>&1 &
monitor=$!
start=$(date +%s)
timeout 535 python3 -m archclass.recall.published run --part "$part" --out "$dest" "${resume[@]}" 2>&1 \
  | tee "$dest/part$part.log"
echo "part $part took $(( $(date +%s) - start )) s" | tee -a "$dest/part$part.log"
kill "$monitor" 2>/dev/null
