#!/usr/bin/env bash
# On the H200: the transformers census on the CPU cores (without fla, whose kernels transformers would
# call and which need the GPU), then fla's own model types on the GPU, then single blocks of deployed
# models at their real sizes to T = 65,536, then the state fla's kernels keep against archclass's references
# (benchmarks/hf/fla_states.py): 90 + 120 + 230 + 90 s at most, under 540 s. Usage (repo root, through the
# device tool, .whl carried):
#   bash benchmarks/gpu/hf_census_and_sizes.sh
set -o pipefail
mkdir -p "$OUT" /tmp/site /tmp/fla
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
  $(ls .whl/*.whl | grep -v -e flash_linear -e fla_core) || exit 1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/fla \
  .whl/flash_linear*.whl .whl/fla_core*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1
python3 -c 'import transformers; print("transformers", transformers.__version__)' | tee "$OUT/versions.txt"
start=$(date +%s)
timeout 90 python3 benchmarks/hf/census.py --out "$OUT/census.json" --workers 15 --timeout 40 2> "$OUT/census.log"
echo "transformers census: $(( $(date +%s) - start )) s" | tee -a "$OUT/versions.txt"
start=$(date +%s)
PYTHONPATH=/tmp/fla:$PYTHONPATH timeout 120 python3 benchmarks/hf/census.py --out "$OUT/census-fla.json" --fla-only \
  --workers 15 --device auto --timeout 100 2> "$OUT/census-fla.log"
echo "fla census: $(( $(date +%s) - start )) s" | tee -a "$OUT/versions.txt"
timeout 230 python3 benchmarks/hf/real_sizes.py --out "$OUT/real_sizes.json" --lengths 4096,16384,65536 \
  --only llama-3-8b,mistral-7b,mamba-2.8b,qwen3-next-80b-a3b,jamba-v0.1 2>&1 | grep '^{' | tee "$OUT/real_sizes.log"
start=$(date +%s)
PYTHONPATH=/tmp/fla:$PYTHONPATH timeout 90 python3 benchmarks/hf/fla_states.py --tokens 512 --out "$OUT/fla_states.jsonl" \
  2> "$OUT/fla_states.log"
echo "fla states: $(( $(date +%s) - start )) s" | tee -a "$OUT/versions.txt"
