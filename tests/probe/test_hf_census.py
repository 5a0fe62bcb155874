"""The transformers census (archclass.probe.hf_census); skipped without transformers."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="needs torch: pip install -e '.[probe]'")
pytest.importorskip("transformers", reason="needs transformers: pip install -e '.[hf]'")

from archclass.probe.hf_census import census  # noqa: E402

LENGTHS = (32, 64, 128)


def test_the_census_classifies_each_type_and_compares_it_with_the_registry_entry_that_maps_it():
    rows = {row["model_type"]: row for row in census(types=["llama", "mamba"], lengths=LENGTHS, workers=2)}
    assert rows["mamba"]["placement"] == "EC" and rows["mamba"]["registry_id"] == "mamba"
    assert rows["mamba"]["agrees"] is True
    assert rows["llama"]["state_growth"] == "linear" and rows["llama"]["error"] is None


def test_a_type_that_hangs_is_recorded_as_timed_out_and_one_that_crashes_as_such(monkeypatch):
    import os
    import time

    from archclass.probe import hf_census

    def misbehave(model_type, **options):  # runs in the forked child, which inherits this patch
        if model_type == "llama":
            time.sleep(60)
        os._exit(3)

    monkeypatch.setattr(hf_census, "probe_hf", misbehave)
    start = time.monotonic()
    kept = []
    rows = census(types=["llama", "mamba"], lengths=LENGTHS, timeout=2.0, workers=2, on_row=kept.append)
    assert time.monotonic() - start < 30
    # each row is handed over when its type ends, the crash (at once) before the time-out
    assert [row["model_type"] for row in kept] == ["mamba", "llama"] and sorted(kept, key=rows.index) == rows
    assert [row["error_kind"] for row in rows] == ["timeout", "crash"]
    assert "exit code 3" in rows[1]["error"]


def test_fla_model_types_map_to_the_registry_entries_that_name_them():
    from archclass.probe.hf_census import _implementation_owners
    from archclass.registry import load_registry

    owners = _implementation_owners(load_registry())
    assert owners["gla"] == "gla" and owners["gated_deltanet"] == "gated-deltanet"
    assert owners["mamba"] == "mamba"  # named by both libraries, one entry
