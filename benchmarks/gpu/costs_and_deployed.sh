#!/usr/bin/env bash
# One H200 call (≤ 560 s) for issues 12 and 13, in the order that keeps GPU timings clean:
#   1. every reference at the realistic size (llama-3-8b shapes, bfloat16) to T = 131,072, one at a
#      time with results kept as they come (probe_each.py), GPU to itself;
#   2. single blocks of deployed models at their real sizes (real_sizes.py), GPU to itself;
#   3. then, side by side, fla's model types and fla's cache states on the GPU and the transformers
#      census on the CPU cores (none of these is timed).
# Usage (repo root, through the device tool, with .whl carried): bash benchmarks/gpu/costs_and_deployed.sh
set -o pipefail
source benchmarks/gpu/device_setup.sh
mkdir -p "$OUT/probe" "$OUT/hf" /tmp/fla
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/fla \
  .whl/flash_linear*.whl .whl/fla_core*.whl || exit 1
python3 -c 'import transformers, torch; print("transformers", transformers.__version__, "torch", torch.__version__)' \
  | tee "$OUT/versions.txt"

start=$(date +%s)
timeout 250 python3 benchmarks/gpu/probe_each.py --out "$OUT/probe" --deadline 200 --per-target 30 --sampled 4 \
  --lengths 1024,8192,16384,32768,65536,131072 --repeats 5 2>&1 | tee "$OUT/probe/probe_cuda.log"
echo "probe_each: $(( $(date +%s) - start )) s" | tee -a "$OUT/versions.txt"

start=$(date +%s)
timeout 160 python3 benchmarks/hf/real_sizes.py --out "$OUT/hf/real_sizes.json" --lengths 4096,16384,65536 \
  --only llama-3-8b,mamba-2.8b,jamba-v0.1,qwen3-next-80b-a3b,mistral-7b 2>&1 | grep -v Warning | tail -20 \
  | tee "$OUT/hf/real_sizes.log"
echo "real sizes: $(( $(date +%s) - start )) s" | tee -a "$OUT/versions.txt"

start=$(date +%s)
timeout 100 python3 benchmarks/hf/census.py --out "$OUT/hf/census-h200.json" --workers 12 --timeout 40 \
  2> "$OUT/hf/census-h200.log" &
census=$!
PYTHONPATH=/tmp/fla:$PYTHONPATH timeout 60 python3 benchmarks/hf/fla_states.py --tokens 512 \
  --out "$OUT/hf/fla_states.jsonl" 2> "$OUT/hf/fla_states.log"
PYTHONPATH=/tmp/fla:$PYTHONPATH timeout 60 python3 benchmarks/hf/census.py --out "$OUT/hf/census-fla.json" --fla-only \
  --workers 4 --device auto --timeout 50 2> "$OUT/hf/census-fla.log"
wait $census
echo "fla and census: $(( $(date +%s) - start )) s" | tee -a "$OUT/versions.txt"
