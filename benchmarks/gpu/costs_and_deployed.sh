#!/usr/bin/env bash
# H200 runs for issues 12 and 13, in two parts of at most ~560 s each (one device call apiece; issue
# them back to back so the second finds the machine warm):
#   probe     every reference at the realistic size (llama-3-8b shapes, bfloat16) to T = 131,072, one
#             at a time with each result kept as it comes (probe_each.py), GPU to itself;
#   deployed  (8 files back at most, the device's limit)
#             single blocks of deployed models at their real sizes (real_sizes.py), GPU to itself; then,
#             side by side, fla's cache states and fla's model types on the GPU (neither is timed).
# Usage (repo root, through the device tool, with .whl carried):
#   [PROBE_ONLY=gqa,mqa,...] [PER_TARGET=45] [DEADLINE=400] [REAL_SIZES=...] \
#     bash benchmarks/gpu/costs_and_deployed.sh PART [REAL-SIZE CONFIGS, with probe]
# The 2026-12-03 run of the single-part version of this script, and what failed in it, is described in
# results/hf/h200-2026-12-03/README.md.
set -o pipefail
part=${1:?give the part: probe or deployed}
source benchmarks/gpu/device_setup.sh
mkdir -p "$OUT/probe" "$OUT/hf" /tmp/fla
python3 -c 'import transformers, torch; print("transformers", transformers.__version__, "torch", torch.__version__)' \
  | tee "$OUT/versions.txt"

if [ "$part" = probe ]; then
  timeout 60 python3 -m pytest -q -x tests/reference -p no:cacheprovider -k "cuda and bfloat16" 2>&1 \
    | tee "$OUT/probe/cuda_tests.log" | tail -3
  start=$(date +%s)
  # --sampled 0: no seeded positions beyond the windows; the guard against aliasing is the CPU run's
  # (the counts do not depend on the device), and each seeded position costs a prefill here.
  timeout 460 python3 benchmarks/gpu/probe_each.py --out "$OUT/probe" --deadline "${DEADLINE:-400}" \
    --per-target "${PER_TARGET:-45}" --sampled 0 \
    --count-budget 300 --lengths 1024,8192,16384,32768,65536,131072 --repeats 5 --only "${PROBE_ONLY:-}" 2>&1 \
    | tee "$OUT/probe/probe_cuda.log"
  echo "probe_each: $(( $(date +%s) - start )) s" | tee -a "$OUT/versions.txt"
  if [ -n "${2:-}" ]; then  # optional: real-size blocks of these configs too (comma-separated)
    start=$(date +%s)
    timeout "${REAL_TIMEOUT:-100}" python3 benchmarks/hf/real_sizes.py --out "$OUT/probe/real_sizes.json" \
      --lengths "${REAL_LENGTHS:-4096,16384,65536}" --only "$2" 2>&1 | grep -v Warning | tail -8
    echo "real sizes: $(( $(date +%s) - start )) s" | tee -a "$OUT/versions.txt"
  fi
  exit 0
fi

python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/fla \
  .whl/flash_linear*.whl .whl/fla_core*.whl || exit 1
start=$(date +%s)
# Llama-3-8B, Mistral-7B and Mamba-2.8B were measured on 2026-12-03 (results/hf/); REAL_SIZES overrides.
# Not Jamba by default: without mamba_ssm its prefill loops over tokens in Python and took all 300 s at
# 4k-65k (2026-12-03, third session); run it through the probe part with short REAL_LENGTHS.
timeout 300 python3 benchmarks/hf/real_sizes.py --out "$OUT/hf/real_sizes.json" --lengths 4096,16384,65536 \
  --only "${REAL_SIZES:-qwen3-next-80b-a3b}" 2>&1 | grep -v Warning | tail -20 | tee "$OUT/hf/real_sizes.log"
echo "real sizes: $(( $(date +%s) - start )) s" | tee -a "$OUT/versions.txt"

# fla, untimed, both at once: each family's first call compiles its Triton kernels (the 2026-12-03 run
# got no line out of fla_states.py in 60 s). Lines are kept as they are printed, so a cut run keeps some.
# The transformers census on these CPU cores is not repeated: it gave 134/215 twice on 2026-12-03.
start=$(date +%s)
PYTHONPATH=/tmp/fla:$PYTHONPATH timeout 240 python3 benchmarks/hf/fla_states.py --tokens 512 \
  > "$OUT/hf/fla_states.jsonl" 2> "$OUT/hf/fla_states.log" &
states=$!
PYTHONPATH=/tmp/fla:$PYTHONPATH timeout 240 python3 benchmarks/hf/census.py --out "$OUT/hf/census-fla.json" --fla-only \
  --workers 4 --device auto --timeout 120 2> "$OUT/hf/census-fla.log"
wait $states
echo "fla: $(( $(date +%s) - start )) s" | tee -a "$OUT/versions.txt"
