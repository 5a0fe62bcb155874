"""Benchmark the database layer on synthetic registries of 1k and 10k entries.

For each size, in a fresh subprocess (so peak RSS belongs to that size alone):

- sync: first use of an empty SQLite file (create, migrate to head, validate and classify every entry,
  write all rows in one transaction), then a forced re-sync of the same registry (delete and rewrite
  every registry-derived row); the phases are timed separately;
- query: a filtered query (efficient AND compact AND family IN (ssm, linear-rnn) AND year >= 2020,
  sorted by year), median of repeats after warm-up; once on an open connection and once as a command
  does it (open the engine, check schema revision and registry hash, query);
- peak RSS of the sync process and, in another fresh process, of a query-only run.

Requirements (issue): 10k sync under 10 s, filtered query under 100 ms, memory flat.

    python benchmarks/db/bench_sync.py                       # 1k and 10k on SQLite
    python benchmarks/db/bench_sync.py --sizes 1000 10000 --postgres "$ARCHCLASS_TEST_POSTGRES_URL"
    python benchmarks/db/bench_sync.py --smoke               # seconds: 100 entries, to check it still runs

The smoke run is part of the tests (tests/db/test_bench_sync.py), so the benchmark cannot rot unnoticed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FAMILIES = ["full-attention", "sparse-attention", "linear-attention", "ssm", "long-convolution", "linear-rnn",
            "classic-rnn", "memory-retrieval"]

#: (per_step_compute, state_size, retrieval) per family: every combination the theorem allows.
SCALING = {
    "full-attention": ("O(T d)", "O(T d)", "exact"),
    "sparse-attention": ("O(w d)", "O(w d)", "none"),
    "linear-attention": ("O(d^2)", "O(d^2)", "none"),
    "ssm": ("O(d n)", "O(d n)", "none"),
    "long-convolution": ("O(d log(T))", "O(T d)", "none"),
    "linear-rnn": ("O(d^2)", "O(d^2)", "none"),
    "classic-rnn": ("O(d^2)", "O(d)", "none"),
    "memory-retrieval": ("O(k d log(T))", "O(T d)", "approximate"),
}
SYMBOLS = {"w": "window size", "n": "state dimension per channel", "k": "retrieved neighbours"}


def synthetic_registry(size: int) -> str:
    """SIZE valid entries, sorted by id: a mix of families, one in ten a hybrid of two earlier entries,
    aliases on every third, arXiv ids on most and URLs on the rest."""
    lines = ["# synthetic registry for benchmarks/db/bench_sync.py", ""]
    leaves: list[str] = []
    for i in range(size):
        arch_id = f"arch-{i:06d}"
        family = FAMILIES[i % len(FAMILIES)]
        hybrid = i % 10 == 9 and len(leaves) >= 2
        lines += [f"- id: {arch_id}", f"  name: Architecture {i}"]
        if i % 3 == 0:
            lines.append(f"  aliases: [a{i}-alias, 'Arch #{i}']")
        lines.append(f"  year: {2015 + i % 12}")
        if i % 7 == 6:
            lines.append(f"  url: https://example.org/papers/{i}?v=1")
        else:
            lines.append(f"  arxiv: '{2301 + (i // 90000) % 12:04d}.{i % 90000 + 10000:05d}'")
        if hybrid:
            first, second = leaves[(i * 7) % len(leaves)], leaves[(i * 13 + 1) % len(leaves)]
            if first == second:
                second = leaves[(leaves.index(first) + 1) % len(leaves)]
            lines += ["  family: hybrid", f"  summary: Hybrid number {i} of two earlier entries.", "  components:",
                      f"    - {{arch: {first}, fraction: 0.75}}", f"    - {{arch: {second}, fraction: 0.25}}"]
        else:
            compute, state, retrieval = SCALING[family]
            lines += [f"  family: {family}", f"  summary: Synthetic {family} entry number {i}.", "  inference:",
                      f"    per_step_compute: {compute}", f"    state_size: {state}", f"    retrieval: {retrieval}"]
            used = sorted(set(re.findall(r"\b[a-z]\b", compute + " " + state)) & set(SYMBOLS))
            if used:
                lines.append("  hyperparameters:")
                lines += [f"    {s}: {{meaning: {SYMBOLS[s]}, value: 64}}" for s in used]
            leaves.append(arch_id)
        lines += [f"  evidence: Section {i % 9 + 1} of the synthetic paper.", ""]
    return "\n".join(lines)


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


FILTERS = dict(efficient=True, compact=True, families=("ssm", "linear-rnn"), year_from=2020, sort="year")


def worker_sync(size: int, registry: Path, url: str, repeats: int) -> dict[str, object]:
    import archclass.db.models  # noqa: F401 - count the libraries in the baseline, not in the sync
    import archclass.registry  # noqa: F401
    from archclass.db.engine import make_engine, read_transaction, write_transaction
    from archclass.db.query import Filters, run_query
    from archclass.db.ready import ensure_database
    from archclass.db.sync import load_source, read_source, registry_rows, sync_registry, write_registry

    rss_after_imports = peak_rss_mib()
    engine = make_engine(url)
    started = time.perf_counter()
    result = ensure_database(engine, registry)
    first_sync = time.perf_counter() - started
    assert result.synced is not None and result.synced.counts["architectures"] == size
    rss_after_first_sync = peak_rss_mib()

    resyncs = []
    for _ in range(3):
        t = time.perf_counter()
        sync_registry(engine, registry, force=True)
        resyncs.append(time.perf_counter() - t)
    rss_after_resyncs = peak_rss_mib()

    phases: dict[str, float] = {}
    t = time.perf_counter()
    source = read_source(registry)
    reg = load_source(source)
    phases["validate_s"] = time.perf_counter() - t
    t = time.perf_counter()
    rows = registry_rows(reg)
    phases["classify_s"] = time.perf_counter() - t
    t = time.perf_counter()
    with write_transaction(engine) as connection:
        write_registry(connection, rows, source)
    phases["write_s"] = time.perf_counter() - t
    del reg, rows

    filters = Filters(**FILTERS)
    with read_transaction(engine) as connection:
        matched = len(run_query(connection, filters))
    timings = []
    for _ in range(3 + repeats):
        t = time.perf_counter()
        with read_transaction(engine) as connection:
            run_query(connection, filters)
        timings.append(time.perf_counter() - t)
    query_ms = statistics.median(timings[3:]) * 1000

    command_timings = []
    for _ in range(3 + repeats):
        t = time.perf_counter()
        fresh = make_engine(url)
        assert ensure_database(fresh, registry).synced is None
        with read_transaction(fresh) as connection:
            run_query(connection, filters)
        fresh.dispose()
        command_timings.append(time.perf_counter() - t)
    command_ms = statistics.median(command_timings[3:]) * 1000
    engine.dispose()
    return {
        "size": size,
        "first_sync_s": round(first_sync, 3),
        "resync_s_median": round(statistics.median(resyncs), 3),
        **{k: round(v, 3) for k, v in phases.items()},
        "query_matched": matched,
        "query_ms_median": round(query_ms, 2),
        "query_with_freshness_check_ms_median": round(command_ms, 2),
        "rss_after_imports_mib": round(rss_after_imports, 1),
        "peak_rss_first_sync_mib": round(rss_after_first_sync, 1),
        "peak_rss_after_3_resyncs_mib": round(rss_after_resyncs, 1),
    }


def worker_query(size: int, registry: Path, url: str, repeats: int) -> dict[str, object]:
    from archclass.db.engine import make_engine, read_transaction
    from archclass.db.query import Filters, run_query
    from archclass.db.ready import ensure_database

    engine = make_engine(url)
    assert ensure_database(engine, registry).synced is None  # synced by the sync worker
    for _ in range(repeats):
        with read_transaction(engine) as connection:
            run_query(connection, Filters(**FILTERS))
    engine.dispose()
    return {"peak_rss_query_mib": round(peak_rss_mib(), 1)}


def run_worker(mode: str, size: int, registry: Path, url: str, repeats: int) -> dict[str, object]:
    command = [sys.executable, __file__, "--worker", mode, "--size", str(size), "--registry", str(registry),
               "--url", url, "--repeats", str(repeats)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"worker failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS bench CASCADE"))
        connection.execute(text("CREATE SCHEMA bench"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--postgres", help="also run against this PostgreSQL URL (uses a schema 'bench')")
    parser.add_argument("--smoke", action="store_true", help="a few seconds: 100 entries, 3 repeats, SQLite only")
    parser.add_argument("--worker", choices=["sync", "query"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--registry", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        work = worker_sync if args.worker == "sync" else worker_query
        print(json.dumps(work(args.size, args.registry, args.url, args.repeats)))
        return
    if args.smoke:
        args.sizes, args.repeats, args.postgres = [100], 3, None

    print(f"# python {platform.python_version()}, {platform.platform()}, {os.cpu_count()} CPUs")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            registry = Path(tmp) / f"registry-{size}.yaml"
            registry.write_text(synthetic_registry(size), encoding="utf-8")
            targets = [("sqlite", "sqlite:///" + str(Path(tmp) / f"bench-{size}.db"))]
            if args.postgres:
                from sqlalchemy.engine import make_url

                reset_postgres(args.postgres)
                pg = make_url(args.postgres).update_query_dict({"options": "-csearch_path=bench"})
                targets.append(("postgresql", pg.render_as_string(hide_password=False)))
            for backend, url in targets:
                row = {"backend": backend, "registry_mib": round(registry.stat().st_size / 2**20, 2)}
                row.update(run_worker("sync", size, registry, url, args.repeats))
                row.update(run_worker("query", size, registry, url, args.repeats))
                results.append(row)
                print(json.dumps(row), flush=True)
    if args.smoke:
        assert all(r["query_matched"] > 0 for r in results), "the filtered query matched nothing"
        print("smoke run: ok")
        return
    ok = all(r["resync_s_median"] < 10 and r["first_sync_s"] < 10 and r["query_ms_median"] < 100
             for r in results if r["size"] <= 10000)
    print("requirements (10k sync < 10 s, filtered query < 100 ms):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
