#!/usr/bin/env bash
# fla on one H200 (issue 12), untimed, in one device call of about 7 minutes (.whl carried):
#   * fla_states.py: the state fla's own Cache keeps against archclass's reference, family by family,
#     in two processes side by side (each family's first call compiles its Triton kernels, about a
#     minute; one process did three families in 240 s on 2026-12-03);
#   * the census of fla's model types through `--hf`, in bfloat16 (fla's chunked kernels refuse
#     float32) with ten workers and 200 s a type, the named families first.
# Usage: [STATES='gla,rwkv7 mamba2'] [TYPES=gla,hgrn2] [WORKERS=10] [TYPE_TIMEOUT=200] [CENSUS_SECONDS=420] \
#          bash benchmarks/gpu/fla_census.sh        (STATES: one fla_states.py process per group)
set -o pipefail
source benchmarks/gpu/device_setup.sh
mkdir -p "$OUT/hf" /tmp/fla
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/fla \
  .whl/flash_linear*.whl .whl/fla_core*.whl || exit 1
export PYTHONPATH=/tmp/fla:$PYTHONPATH
start=$(date +%s)
i=0
# gla, delta_net and gated_deltanet were compared on 2026-12-03 (results/hf/session-3/).
for group in ${STATES:-hgrn2,rwkv7,retnet mamba2,mamba,linear_attn}; do
  i=$((i + 1))
  timeout 400 python3 benchmarks/hf/fla_states.py --tokens 512 --only "$group" \
    > "$OUT/hf/fla_states-$i.jsonl" 2> "$OUT/hf/fla_states-$i.log" &
done
first=gla,delta_net,gated_deltanet,rwkv7,hgrn2,mamba2,retnet,linear_attn,hgrn,mamba,rwkv6,mlstm,samba,gsa,kda,comba
first=${TYPES:-$first}  # TYPES=gla,rwkv7: only these (the rest are skipped when TYPES is given)
rest=$(python3 -c "
from archclass.probe.hf_config import causal_lm_types, is_fla_type
first = '$first'.split(',')
only = '${TYPES:-}' != ''
print(','.join(first + ([] if only else sorted(t for t in causal_lm_types() if is_fla_type(t) and t not in first))))" 2>/dev/null)
timeout "${CENSUS_SECONDS:-420}" python3 benchmarks/hf/census.py --out "$OUT/hf/census-fla.json" --only "$rest" \
  --workers "${WORKERS:-10}" --device auto --timeout "${TYPE_TIMEOUT:-200}" --dtype bfloat16 2> "$OUT/hf/census-fla.log"
wait
echo "fla: $(( $(date +%s) - start )) s" | tee -a "$OUT/hf/census-fla.log"
