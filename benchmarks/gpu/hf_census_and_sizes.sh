#!/usr/bin/env bash
# On the H200: the transformers census with flash-linear-attention's types on the GPU, then single blocks
# of deployed models at their real sizes to T = 65,536. Usage (repo root, through the device tool, with
# .whl carried): bash benchmarks/gpu/hf_census_and_sizes.sh
set -o pipefail
source benchmarks/gpu/device_setup.sh
mkdir -p "$OUT"
python3 -c 'import transformers, fla; print("transformers", transformers.__version__, "fla", fla.__version__)' | tee "$OUT/versions.txt"
nproc | tee -a "$OUT/versions.txt"
start=$(date +%s)
timeout 250 python3 benchmarks/hf/census.py --out "$OUT/census-cuda.json" --workers 14 --device auto --timeout 150 \
  2> "$OUT/census.log" | tee -a "$OUT/census.log"
echo "census took $(( $(date +%s) - start )) s" | tee -a "$OUT/census.log"
timeout 320 python3 benchmarks/hf/real_sizes.py --out "$OUT/real_sizes.json" --lengths 4096,16384,65536 2>&1 \
  | grep -v -i "warn\|falling back" | tee "$OUT/real_sizes.log"
