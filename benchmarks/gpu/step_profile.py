"""Where a reference's decode step spends its time on the GPU, kernel by kernel.

For each reference at a size (default llama-3-8b, bfloat16) and each length, this prints the step's
time as a replayed CUDA graph (what the probe reports), its floor (state plus parameters over copy
bandwidth), and the CUDA kernels of one eager step with their times (torch.profiler), so the fixed
part of a step can be read kernel by kernel rather than guessed.

    python benchmarks/gpu/step_profile.py --only mqa,mla --lengths 1024,65536 [--out DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", required=True, help="comma-separated references")
    parser.add_argument("--lengths", default="1024,65536")
    parser.add_argument("--size", default="llama-3-8b")
    parser.add_argument("--steps", type=int, default=10, help="eager steps profiled")
    parser.add_argument("--out", type=Path, default=None, help="write profile.json here")
    args = parser.parse_args()

    import torch
    from torch.profiler import ProfilerActivity, profile

    from archclass.osp import state_bytes
    from archclass.probe.measure import copy_bandwidth, floor_seconds, parameter_bytes, time_step
    from archclass.reference import build, catalog, kwargs_at
    from archclass.sizes import get_size

    device = torch.device("cuda")
    size = get_size(args.size)
    bandwidth = copy_bandwidth(device)
    print(f"copy bandwidth {bandwidth / 1e12:.2f} TB/s", flush=True)
    rows = []
    for name in args.only.split(","):
        spec = catalog()[name]
        torch.manual_seed(0)
        module = build(spec, size.d, **kwargs_at(spec, size)).to(device, torch.bfloat16).eval()
        weights = parameter_bytes(module)
        for length in (int(t) for t in args.lengths.split(",")):
            with torch.no_grad():
                prompt = torch.randn(1, length, size.d, device=device, dtype=torch.bfloat16)
                prefill_state = getattr(module, "prefill_state", None)
                state = prefill_state(prompt) if prefill_state else module.prefill(prompt)[1]
                del prompt
                x = torch.randn(1, size.d, device=device, dtype=torch.bfloat16)
                seconds, how = time_step(module, x, state, repeats=20)
                for _ in range(3):
                    module.step(x, state)
                torch.cuda.synchronize()
                with profile(activities=[ProfilerActivity.CUDA]) as prof:
                    for _ in range(args.steps):
                        module.step(x, state)
                    torch.cuda.synchronize()
            kernels = [
                {"kernel": e.key[:90], "calls_per_step": e.count / args.steps,
                 "us_per_step": e.device_time_total / args.steps}
                for e in prof.key_averages() if e.device_time_total > 0
            ]  # fmt: skip
            kernels.sort(key=lambda k: -k["us_per_step"])
            floor = floor_seconds(state_bytes(state), weights, bandwidth)
            busy = sum(k["us_per_step"] for k in kernels)
            row = {
                "reference": name, "T": length, "step_us": seconds * 1e6, "timed": how, "floor_us": floor * 1e6,
                "kernel_us_sum": busy, "kernels_per_step": sum(k["calls_per_step"] for k in kernels),
                "state_MB": state_bytes(state) / 1e6, "weights_MB": weights / 1e6, "kernels": kernels,
            }  # fmt: skip
            rows.append(row)
            print(
                f"\n{name} T={length}: step {row['step_us']:.1f} us ({how}), floor {row['floor_us']:.1f} us, "
                f"kernels {row['kernels_per_step']:.0f} a step busy {busy:.1f} us",
                flush=True,
            )
            for k in kernels:
                print(f"  {k['us_per_step']:8.2f} us  x{k['calls_per_step']:.0f}  {k['kernel']}", flush=True)
            del state
            torch.cuda.empty_cache()
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "profile.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
