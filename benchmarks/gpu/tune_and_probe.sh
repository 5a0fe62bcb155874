#!/usr/bin/env bash
# One H200 call (about 5 min, .whl carried) for issue 13's last rows: time the latent kernel's launch
# configurations and the batch-1 weight products, probe MLA and MQA as committed, and profile their
# steps kernel by kernel. Nothing here changes the code: pick from latent_tune/gemv_tune's best lines,
# commit, then probe again. It returns 8 files, the device's limit.
#   bash benchmarks/gpu/tune_and_probe.sh
set -o pipefail
source benchmarks/gpu/device_setup.sh
mkdir -p "$OUT/tune" "$OUT/probe"
timeout 150 python3 benchmarks/gpu/latent_tune.py > "$OUT/tune/latent_tune.log" 2>&1
tail -8 "$OUT/tune/latent_tune.log"
timeout 60 python3 benchmarks/gpu/gemv_tune.py > "$OUT/tune/gemv_tune.log" 2>&1
tail -4 "$OUT/tune/gemv_tune.log"
timeout 60 python3 -m pytest -q -x tests/reference -p no:cacheprovider -k "cuda and (latent or mla or bfloat16)" 2>&1 \
  | tail -3 | tee "$OUT/probe/cuda_tests.log"
timeout 100 python3 benchmarks/gpu/probe_each.py --out "$OUT/probe" --deadline 80 --per-target 45 --sampled 0 \
  --count-budget 300 --lengths 1024,8192,16384,32768,65536,131072 --repeats 5 --only mla,mqa 2>&1 \
  | tail -8 | tee "$OUT/probe/probe_cuda.log"
timeout 60 python3 benchmarks/gpu/step_profile.py --only mla,mqa --lengths 1024,65536 \
  > "$OUT/tune/step_profile.log" 2>&1
grep -E "^(mla|mqa) T=" "$OUT/tune/step_profile.log"
