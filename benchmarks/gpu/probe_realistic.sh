#!/usr/bin/env bash
# On the H200: every reference at the realistic size (a Llama-3-8B-shaped layer: d_model 4096, 32 heads,
# 8 kv heads, bfloat16; the CUDA default) to T = 131,072, with each step's floor and time / floor.
# Usage (from the repo root, through the device tool, carrying .whl): bash benchmarks/gpu/probe_realistic.sh
# Budget: about 60 s of CUDA tests, at most 340 s of probing (one H200, <= 420 s in all).
set -o pipefail
source benchmarks/gpu/device_setup.sh
mkdir -p "$OUT"
timeout 60 python3 -m pytest -q -x tests/reference -p no:cacheprovider -k "cuda and bfloat16" 2>&1 \
  | tee "$OUT/cuda_tests.log" | tail -3
start=$(date +%s)
# Lengths that do not fit in the GPU's memory are left out with the estimate (a note in the JSON).
timeout 340 python3 -m archclass probe --all --device cuda --repeats 5 \
  --lengths 1024,4096,8192,16384,32768,65536,131072 \
  --no-store --out "$OUT/probe_cuda.json" --plot "$OUT/probe_cuda.png" 2>&1 | tee "$OUT/probe_cuda.log"
echo "probe --all on cuda (size llama-3-8b, bfloat16) took $(( $(date +%s) - start )) s" | tee -a "$OUT/probe_cuda.log"
