"""Recompute the floors of real-size results with the weights a decode step reads (step_weight_bytes).

Results written before `step_weight_bytes` counted every parameter in the floor: the whole input
embedding (a step reads one row of it) and every expert of a mixture (a step reads top-k of them). The
state bytes and the copy bandwidth of each row were measured and are kept; the weights are counted again
from the same config.json, built on the meta device (no memory, no GPU):

    python benchmarks/hf/refloor.py results/hf/real-sizes-2026-12-03.json [more files]

Each row gains `weight_bytes` (the weights a step reads) and `floor_seconds` is rewritten from it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CONFIGS = Path(__file__).parent / "configs"


def _config_file(model_type: str) -> Path:
    for path in sorted(CONFIGS.glob("*.json")):
        if json.loads(path.read_text(encoding="utf-8")).get("model_type") == model_type:
            return path
    raise SystemExit(f"error: no config in {CONFIGS} has model_type {model_type!r}")


def main() -> int:
    import torch
    import transformers

    from archclass.probe.hf import step_weight_bytes
    from archclass.probe.hf_config import small_config

    for name in sys.argv[1:]:
        path = Path(name)
        rows = json.loads(path.read_text(encoding="utf-8"))
        for row in rows:
            if row.get("error") or not row.get("copy_bandwidth_bytes_per_s"):
                continue
            config = small_config(
                None, {}, _config_file(row["model_type"]), 1
            )  # real_sizes.py keeps one layer of each kind
            with torch.device("meta"):
                model = transformers.AutoModelForCausalLM.from_config(config).to(torch.bfloat16)
            weights = step_weight_bytes(model, config)
            bandwidth = row["copy_bandwidth_bytes_per_s"]
            row["weight_bytes"] = weights
            row["floor_seconds"] = [(state + weights) / bandwidth for state in row["state_bytes"]]
            ratios = ", ".join(f"{s / f:.2f}x" for s, f in zip(row["step_seconds"], row["floor_seconds"], strict=True))
            print(
                f"{path.name} {row['model_type']}: weights a step reads {weights / 1e6:,.0f} MB; step / floor {ratios}"
            )
        path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
