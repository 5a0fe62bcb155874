"""Fixtures for the database tests: a small registry, and a database URL on SQLite and PostgreSQL (the
isolation from the user's own database is tests/conftest.py's ``_private_database``).

``db_url`` runs each test against a fresh SQLite file and, when ARCHCLASS_TEST_POSTGRES_URL is set
(``eval "$(bash .ci/postgres.sh)"``), against a fresh schema on that PostgreSQL server. Without the
variable the PostgreSQL cases are skipped with the reason shown, except under CI=true, where they
fail: CI must not pass by silently testing less.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PG_ENV = "ARCHCLASS_TEST_POSTGRES_URL"

#: Five entries: two EC models, one R, a hybrid of two of them, and a paper cited by URL with
#: characters that matter to SQL LIKE (%, _), to TeX ({, }, &, _) and to Markdown (|), whose paper's
#: recipe grows its window with T (EC with fixed knobs, none under the recipe). Some have titles,
#: authors and tags, some not.
REGISTRY_YAML = """\
- id: jamba
  name: Jamba
  aliases: [jamba-hybrid]
  year: 2024
  arxiv: '2403.19887'
  family: hybrid
  summary: Mamba layers interleaved with attention layers.
  components:
    - {arch: mamba, fraction: 0.875}
    - {arch: transformer, fraction: 0.125}
  evidence: Sec. 2, one attention layer in eight.

- id: mamba
  name: Mamba
  aliases: [s6, "Ölfilter"]
  title: "Mamba: Linear-Time Sequence Modeling with Selective State Spaces"
  authors: [Albert Gu, Tri Dao]
  year: 2023
  arxiv: '2312.00752'
  family: ssm
  tags: [selective, gating]
  summary: Selective state space model.
  inference:
    per_step_compute: O(d n)
    state_size: O(d n)
    retrieval: none
  hyperparameters:
    n: {meaning: state dimension, value: 16}
  evidence: Sec. 3, the recurrent mode.

- id: retnet
  name: RetNet
  aliases: [retentive-network]
  title: "Retentive Network: A Successor to Transformer for Large Language Models"
  year: 2023
  arxiv: '2307.08621'
  family: linear-rnn
  tags: [decay]
  summary: Retention.
  inference:
    per_step_compute: O(d^2)
    state_size: O(d^2)
    retrieval: none
  evidence: Sec. 2.

- id: transformer
  name: Transformer
  aliases: [attention]
  title: Attention Is All You Need
  authors: [Ashish Vaswani, Noam Shazeer, others]
  year: 2017
  arxiv: '1706.03762'
  family: full-attention
  tags: [kv-cache]
  summary: Softmax attention with a KV cache.
  inference:
    per_step_compute: O(T d)
    state_size: O(T d)
    retrieval: exact
  evidence: Sec. 3.2.

- id: web-model
  name: "Web {Model} | 50% & Co_"
  year: 2019
  url: https://example.org/paper?id=1&x=50%25#sec
  family: classic-rnn
  tags: [window]
  summary: An LSTM-like model over a window, published as a web page.
  inference:
    per_step_compute: O(w d)
    state_size: O(w d)
    retrieval: none
  hyperparameters:
    w: {meaning: window, value: 64}
  recipe: {w: T}
  evidence: The page.
"""

IDS = ["jamba", "mamba", "retnet", "transformer", "web-model"]
EFFICIENT_AND_COMPACT = ["mamba", "retnet", "web-model"]
#: Row counts of a sync of REGISTRY_YAML, by table.
SYNC_COUNTS = {
    "architectures": 5,
    "architecture_tags": 5,
    "aliases": 5,
    "hybrid_components": 2,
    "classifications": 5,
    "rule_firings": 15,
}

#: The same registry with one more entry and one entry changed: a second, different valid registry.
REGISTRY_B_YAML = (
    REGISTRY_YAML.replace("summary: Retention.", "summary: Retention, revised.")
    + """
- id: xlstm
  name: xLSTM
  year: 2024
  arxiv: '2405.04517'
  family: linear-rnn
  summary: Extended LSTM with matrix memory.
  inference:
    per_step_compute: O(d^2)
    state_size: O(d^2)
    retrieval: none
  evidence: Sec. 2.3, the mLSTM cell.
"""
)


def registry_without(*ids: str) -> str:
    """REGISTRY_YAML without the entries IDS."""
    entries = REGISTRY_YAML.split("\n- id: ")
    kept = [entry for entry in entries if entry.removeprefix("- id: ").split("\n", 1)[0] not in ids]
    text = "\n- id: ".join(kept)
    return text if text.startswith("- id: ") else "- id: " + text


#: A registry whose last entry is invalid (claims recall with a constant state).
BAD_REGISTRY_YAML = REGISTRY_B_YAML.replace(
    "  evidence: Sec. 2.3, the mLSTM cell.", "    claims: [recall]\n  evidence: Sec. 2.3, the mLSTM cell."
)


@pytest.fixture
def registry_file(tmp_path: Path) -> Path:
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY_YAML, encoding="utf-8")
    return path


@pytest.fixture
def registry_b_file(tmp_path: Path) -> Path:
    path = tmp_path / "registry_b.yaml"
    path.write_text(REGISTRY_B_YAML, encoding="utf-8")
    return path


def postgres_url_or_skip() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        reason = f'PostgreSQL tests need {PG_ENV}; start a server with: eval "$(bash .ci/postgres.sh)"'
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {PG_ENV} is not set, so the PostgreSQL tests cannot run. {reason}")
        pytest.skip(reason)
    return url


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A URL whose connections use a fresh, empty schema (dropped afterwards)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = postgres_url_or_skip()
    schema = "t_" + uuid.uuid4().hex[:16]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: an SQLite file, or a new schema on the test PostgreSQL server."""
    if request.param == "sqlite":
        return "sqlite:///" + str(tmp_path / "test.db")
    return request.getfixturevalue("postgres_schema_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[Any]:
    from archclass.db.engine import make_engine

    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def snapshot(engine: Any, *, runs: bool = False) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every registry table (and with ``runs`` the run tables), in primary-key order, plus
    meta without the sync time: two equal snapshots mean identical content."""
    from sqlalchemy import inspect, select

    from archclass.db.models import REGISTRY_TABLES, MetaRow, ProbeRunRow, RecallRunRow, table

    result: dict[str, list[tuple[Any, ...]]] = {}
    models = (*REGISTRY_TABLES, MetaRow, *((ProbeRunRow, RecallRunRow) if runs else ()))
    with engine.connect() as connection:
        names = set(inspect(connection).get_table_names())
        for model in models:
            name = table(model).name
            if name not in names:
                continue
            rows = connection.execute(select(table(model)).order_by(*table(model).primary_key.columns)).all()
            kept = [row for row in rows if not (name == "meta" and row[0] == "synced_at")]
            result[name] = [tuple(_normalise(v) for v in row) for row in kept]
    return result


def _normalise(value: Any) -> Any:
    import json

    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value
