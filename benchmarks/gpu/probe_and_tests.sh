#!/usr/bin/env bash
# On the H200: the reference tests on CUDA, then the full probe to T = 65,536.
# Usage (from the repo root, through the device tool): bash benchmarks/gpu/probe_and_tests.sh
set -o pipefail
source benchmarks/gpu/device_setup.sh
mkdir -p "$OUT"
timeout 150 python3 -m pytest -q -x tests/reference -p no:cacheprovider -k "cuda or first_step" 2>&1 | tee "$OUT/cuda_tests.log" | tail -15
start=$(date +%s)
timeout 420 python3 -m archclass probe --all --device cuda --repeats 10 --lengths 1024,2048,4096,8192,16384,32768,65536 \
  --no-store --out "$OUT/probe_cuda.json" --plot "$OUT/probe_cuda.png" 2>&1 | tee "$OUT/probe_cuda.log"
echo "probe --all on cuda took $(( $(date +%s) - start )) s" | tee -a "$OUT/probe_cuda.log"
# A smoke test of the recall pipeline on CUDA (bf16 autocast), so the sweep's call does not fail late.
python3 -m archclass recall --arch softmax-attention --arch mamba --d-model 64 --pairs 4,8 --vocab 64 \
  --seeds 1 --steps 40 --eval-every 20 --device cuda --workers 2 --out "$OUT/recall_smoke" 2>&1 | tail -8
