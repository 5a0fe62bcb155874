"""Datasette metadata for an archclass database: titles, a description of every table, view and column
(with its unit), default facets, the internal tables hidden, and canned queries.

    pip install 'archclass[datasette]'
    archclass sync --results                      # the registry and the committed measurements
    datasette serve ~/.local/share/archclass/archclass.db --metadata datasette/metadata.yml

The column descriptions are the row classes' own (:mod:`archclass.db.models`), so each is written once;
``datasette/metadata.yml`` is this module's output, kept in step by ``archclass datasette-metadata
--check``. Datasette names a database after its file: the metadata is for ``archclass.db`` (the default
file name); ``archclass datasette-metadata --database NAME`` writes it for another file name.
"""

from __future__ import annotations

from typing import Any

from archclass.db.models import (
    ALL_TABLES,
    CLASSES_VIEW,
    ArchitectureRow,
    ClassificationRow,
    MetaRow,
    describe,
)

DATABASE = "archclass"
_FLAG = " Shown as 'true' or 'false'."

#: Default facets, by table or view.
FACETS: dict[str, list[Any]] = {
    CLASSES_VIEW: ["placement", "family", {"array": "tags"}, "efficient", "compact", "recall", "hybrid"],
    "architectures": ["family", "hybrid", "confidence"],
    "architecture_tags": ["tag"],
    "classifications": ["placement", "recipe_placement"],
    "rule_firings": ["rule", "property"],
    "probe_runs": ["device", "probe_placement"],
    "recall_runs": ["arch", "device", "d_model"],
}

CANNED_QUERIES: dict[str, dict[str, str]] = {
    "compact_and_efficient": {
        "title": "Compact and efficient",
        "description": "Architectures with O(1) work per decode step and an O(1) state: the EC edge, where the "
        "theorem rules out recall; max_pairs is the most key-value pairs their state can recall. The same "
        "rows as 'archclass query --efficient --compact'.",
        "sql": "SELECT id, name, year, family, per_step_compute, state_size, max_pairs, confidence\n"
        "FROM architecture_classes\nWHERE efficient = 'true' AND compact = 'true'\nORDER BY id",
    },
    "hybrids_by_attention_share": {
        "title": "Hybrids by attention share",
        "description": "Each hybrid with the fraction of its layers that are full (global) attention, whose KV "
        "cache grows with T and brings recall, and the fraction that are windowed (sparse) attention; its place "
        "on the triangle is the fraction-weighted mean of its layers' places.",
        "sql": "SELECT h.hybrid_id AS id, a.name, c.placement,\n"
        "  round(sum(CASE WHEN p.family = 'full-attention' THEN h.fraction ELSE 0 END), 4) AS full_attention_share,\n"
        "  round(sum(CASE WHEN p.family = 'sparse-attention' THEN h.fraction ELSE 0 END), 4)\n"
        "    AS window_attention_share,\n"
        "  group_concat(h.component_id || ' ' || round(h.fraction, 4), ', ') AS components,\n"
        "  round(c.position_e, 4) AS position_e, round(c.position_c, 4) AS position_c,\n"
        "  round(c.position_r, 4) AS position_r\n"
        "FROM hybrid_components h\n"
        "JOIN architectures a ON a.id = h.hybrid_id\n"
        "JOIN architectures p ON p.id = h.component_id\n"
        "JOIN classifications c ON c.arch_id = h.hybrid_id\n"
        "GROUP BY h.hybrid_id, a.name, c.placement, c.position_e, c.position_c, c.position_r\n"
        "ORDER BY full_attention_share DESC, id",
    },
    "probe_disagreements": {
        "title": "Probe disagreements",
        "description": "Probe runs whose measured efficiency or compactness differs from the registry's "
        "classification of the same architecture: a wrong registry entry or a wrong reference implementation. "
        "Empty when every measurement agrees.",
        "sql": "SELECT p.id AS run, p.module, p.arch_id, p.device, c.placement AS declared_placement,\n"
        "  p.probe_placement AS measured_placement, c.state_growth AS declared_state_growth,\n"
        "  p.probe_state_growth AS measured_state_growth, c.compute_growth AS declared_compute_growth,\n"
        "  p.probe_compute_growth AS measured_compute_growth, p.created_at, p.source\n"
        "FROM probe_runs p JOIN classifications c ON c.arch_id = p.arch_id\n"
        "WHERE p.probe_efficient <> c.efficient OR p.probe_compact <> c.compact\n"
        "ORDER BY p.created_at DESC, p.id DESC",
    },
    "recall_against_the_bound": {
        "title": "Recall against the bound",
        "description": "Every trained MQAR model: its measured capacity (key-value pairs recalled at the target "
        "accuracy) beside the bound K <= n p / (A log2 V - 1) for the state it kept. No run may be above its "
        "bound; capacity_over_bound shows how close each comes.",
        "sql": "SELECT r.id AS run, r.arch, r.arch_id, r.d_model, r.seq_len, r.seed, r.state_scalars, r.state_bits,\n"
        "  r.capacity, round(r.bound_pairs, 1) AS bound_pairs,\n"
        "  CASE WHEN r.bound_pairs > 0 THEN r.capacity / r.bound_pairs END AS capacity_over_bound,\n"
        "  CASE WHEN r.capacity > r.bound_pairs THEN 'ABOVE THE BOUND' ELSE 'under' END AS verdict,\n"
        "  r.device, r.source\n"
        "FROM recall_runs r\n"
        "ORDER BY capacity_over_bound DESC, r.arch, r.d_model, r.seed",
    },
}


def _view_columns() -> dict[str, str]:
    """The columns of the view architecture_classes, described by the columns they show."""
    arch, verdict = describe(ArchitectureRow), describe(ClassificationRow)
    columns: dict[str, str] = {name: arch[name] for name in ("id", "name", "title", "year", "family")}
    columns["tags"] = "Mechanisms the architecture uses (JSON list; facet on it as an array)."
    columns["placement"] = verdict["placement"]
    columns.update({flag: verdict[flag] + _FLAG for flag in ("efficient", "compact", "recall")})
    columns["hybrid"] = arch["hybrid"] + _FLAG
    columns.update({name: arch[name] for name in ("per_step_compute", "state_size")})
    names = (
        "compute_growth",
        "state_growth",
        "position_e",
        "position_c",
        "position_r",
        "max_pairs",
        "recipe_placement",
    )
    columns.update({name: verdict[name] for name in names})
    columns.update({name: arch[name] for name in ("retrieval", "confidence", "arxiv", "url")})
    return columns


def _hidden() -> dict[str, Any]:
    """The tables only archclass itself needs, hidden from the table list."""
    return {
        "meta": {
            "hidden": True,
            "description": " ".join((MetaRow.__doc__ or "").split()),
            "columns": describe(MetaRow),
        },
        "alembic_version": {
            "hidden": True,
            "description": "Alembic's record of the schema revision the database is at.",
            "columns": {"version_num": "The revision, e.g. 0003 (see migrations/versions)."},
        },
    }


def metadata(database: str = DATABASE) -> dict[str, Any]:
    """The Datasette metadata, as data."""
    tables: dict[str, Any] = {
        CLASSES_VIEW: {
            "title": "Architectures and their classification",
            "description": "One row per architecture with its place on the Efficiency-Compactness-Recall triangle: "
            "the architectures table joined with its classification, without repeated columns.",
            "columns": _view_columns(),
            "facets": FACETS[CLASSES_VIEW],
            "sort": "id",
        }
    }
    for model in ALL_TABLES:
        name = str(model.__tablename__)
        if model is MetaRow:
            continue
        entry: dict[str, Any] = {
            "title": name.replace("_", " ").capitalize(),
            "description": " ".join((model.__doc__ or "").split()),
            "columns": describe(model),
        }
        if name in FACETS:
            entry["facets"] = FACETS[name]
        if model is ArchitectureRow:
            entry["label_column"] = "name"
        tables[name] = entry
    tables.update(_hidden())
    return {
        "title": "archclass",
        "description": "Long-context sequence architectures on the Efficiency-Compactness-Recall triangle: the "
        "registry, its classification, and the measured probe and recall runs.",
        "databases": {
            database: {
                "title": "archclass registry and measurements",
                "description": "Synced from data/architectures.yaml by archclass; the measured runs come from "
                "'archclass probe', 'archclass recall' and 'archclass sync --results'.",
                "tables": tables,
                "queries": CANNED_QUERIES,
            }
        },
    }


def metadata_yaml(database: str = DATABASE) -> str:
    """The metadata as the YAML that ``datasette --metadata`` reads."""
    import yaml

    header = "# Datasette metadata for the archclass database; generated by `archclass datasette-metadata`.\n"
    return header + yaml.safe_dump(metadata(database), sort_keys=False, allow_unicode=True, width=100)
