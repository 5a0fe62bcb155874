"""The database tables, as SQLModel classes: the schema, and the typed records of probe and recall runs.

Tables are named for people reading the file in ``sqlite3`` or Datasette: ``architectures``,
``architecture_tags``, ``aliases``, ``hybrid_components``, ``classifications``, ``rule_firings``,
``probe_runs``, ``recall_runs`` and ``meta``; the view ``architecture_classes`` (created by migration
0003) joins each architecture with its classification. Every column carries a description (with its
unit), which :mod:`archclass.db.datasette` turns into the Datasette metadata: each column is described
once, here. Every constraint and index gets a predictable name from :data:`NAMING_CONVENTION`, so
later migrations (batch mode on SQLite, plain ALTER on PostgreSQL) can refer to them by name.

How the classes are used: a probe or recall run is built as a validated :class:`ProbeRunRow` or
:class:`RecallRunRow` (:mod:`archclass.db.runs`), written from it, and read back as one. The registry
sync and the filtered query work on the classes' Core tables (:func:`table`) instead: they move
thousands of plain rows at once (COPY on PostgreSQL), where ORM instances would only add per-row cost.

The registry-derived tables (:data:`REGISTRY_TABLES`) are rewritten by a sync. Runs link to
``architectures`` by a foreign key that is NULL for a user's own module, and for a run whose registry
entry is not in the database (its id is then kept in ``details.unlinked_arch_id``, and the sync that
brings the entry links it again; see :mod:`archclass.db.runs`).

The schema is created and changed only by the Alembic migrations in ``migrations/``; a test checks
that these classes and the migrations agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional, cast

from sqlalchemy import JSON, BigInteger, CheckConstraint, DateTime, ForeignKey, MetaData, Table
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from archclass.vocabulary import PLACEMENTS

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

#: JSON whose Python None is SQL NULL (not the JSON text 'null'), so `bound IS NULL` reads naturally.
NullableJSON = JSON(none_as_null=True)

_PLACEMENT_SQL = ", ".join(f"'{p}'" for p in PLACEMENTS)
_PLACEMENT_WORDS = "EC, ER, CR (an edge of the triangle), E, C, R (a vertex) or none (the centre)"


class Base(SQLModel, registry=registry(metadata=metadata)):
    """Abstract base: keeps archclass's tables out of SQLModel's global metadata."""


class ArchitectureRow(Base, table=True):
    """One registry entry: its citation and its declared decode-time scaling."""

    __tablename__ = "architectures"

    id: str = Field(primary_key=True, description="Registry id, a lower-case slug such as 'retnet'.")
    name: str = Field(description="Name as the paper writes it.")
    title: Optional[str] = Field(
        default=None, description="Title of the cited paper; NULL where the registry has none yet."
    )
    authors: Optional[list[str]] = Field(
        default=None,
        sa_type=NullableJSON,
        description="Authors of the cited paper in the paper's order (JSON list of names); NULL where the registry "
        "has none yet.",
    )
    year: int = Field(index=True, description="Year of first publication.")
    arxiv: Optional[str] = Field(
        default=None, description="arXiv identifier, e.g. 2307.08621; NULL when the paper is not on arXiv."
    )
    url: Optional[str] = Field(default=None, description="URL of the paper when it is not on arXiv.")
    family: str = Field(
        index=True, description="Architecture family, e.g. ssm, linear-rnn, full-attention; hybrid for compositions."
    )
    summary: str = Field(description="One sentence on the mechanism, in the registry's own words.")
    hybrid: bool = Field(description="True for a composition of other entries (its layers are in hybrid_components).")
    per_step_compute: Optional[str] = Field(
        default=None,
        description="Declared work of one decode step at position T, per layer, as O(...) in T, d and the entry's "
        "hyperparameters; NULL for hybrids.",
    )
    state_size: Optional[str] = Field(
        default=None,
        description="Declared scalars carried between decode steps, per layer, as O(...); NULL for hybrids.",
    )
    state_scalars: Optional[str] = Field(
        default=None, description="Exact count of state scalars per layer as a formula, e.g. 2*T*d, where declared."
    )
    retrieval: Optional[str] = Field(
        default=None,
        description="How stored tokens are read back by content: exact, approximate or none; NULL for hybrids.",
    )
    precision: Optional[str] = Field(
        default=None, description="fixed (ordinary floating point) or growing (theoretical models); NULL for hybrids."
    )
    claims: Optional[list[str]] = Field(
        default=None,
        sa_type=NullableJSON,
        description="Properties the paper itself claims (JSON list); NULL for hybrids.",
    )
    hyperparameters: dict[str, Any] = Field(
        default_factory=dict,
        sa_type=JSON,
        description="Symbols other than T and d used in the O(...) strings (JSON: symbol to meaning, or "
        "{meaning, value}).",
    )
    evidence: str = Field(description="Where in the paper the per-step compute and state size come from.")
    confidence: str = Field(description="How sure the registry is of the scaling: high, medium or low.")
    notes: Optional[str] = Field(default=None, description="Caveats and disagreements in the literature.")
    reference: Optional[str] = Field(
        default=None, description="Name of the archclass reference implementation that models this entry, if any."
    )


class ArchitectureTagRow(Base, table=True):
    """A mechanism an architecture uses (kv-cache, window, delta-rule, ...), one row per tag."""

    __tablename__ = "architecture_tags"

    arch_id: str = Field(
        primary_key=True,
        foreign_key="architectures.id",
        ondelete="CASCADE",
        description="Registry id of the architecture.",
    )
    tag: str = Field(primary_key=True, index=True, description="Mechanism tag, e.g. kv-cache, window, delta-rule.")


class AliasRow(Base, table=True):
    """Other names of an architecture (matched case-insensitively by the CLI)."""

    __tablename__ = "aliases"

    arch_id: str = Field(
        primary_key=True,
        foreign_key="architectures.id",
        ondelete="CASCADE",
        description="Registry id of the architecture.",
    )
    alias: str = Field(primary_key=True, index=True, description="Another name people type for it.")


class HybridComponentRow(Base, table=True):
    """One layer kind of a hybrid and the fraction of the hybrid's layers that are of that kind."""

    __tablename__ = "hybrid_components"
    __table_args__ = (CheckConstraint("fraction > 0 AND fraction <= 1", name="fraction_range"),)

    hybrid_id: str = Field(
        primary_key=True, foreign_key="architectures.id", ondelete="CASCADE", description="Registry id of the hybrid."
    )
    component_id: str = Field(
        primary_key=True,
        foreign_key="architectures.id",
        index=True,
        description="Registry id of one of its layer kinds.",
    )
    ordinal: int = Field(description="Position of the component in the registry entry, from 0.")
    fraction: float = Field(description="Fraction of the hybrid's sequence-mixing layers of this kind (0 to 1].")


class ClassificationRow(Base, table=True):
    """The classifier's verdict for an entry: flags, placement, barycentric position, growths, bound; and the
    second reading, with the knobs the paper's own recipe grows with T."""

    __tablename__ = "classifications"
    __table_args__ = (
        CheckConstraint(f"placement IN ({_PLACEMENT_SQL})", name="placement_known"),
        CheckConstraint(f"recipe_placement IN ({_PLACEMENT_SQL})", name="recipe_placement_known"),
    )

    arch_id: str = Field(
        primary_key=True,
        foreign_key="architectures.id",
        ondelete="CASCADE",
        description="Registry id of the architecture.",
    )
    efficient: bool = Field(description="E: one decode step costs O(1) in the position T.")
    compact: bool = Field(description="C: the state carried between steps is O(1) scalars in T.")
    recall: bool = Field(description="R: Theta(T) associative recall of the first T tokens.")
    placement: str = Field(index=True, description=f"Place on the triangle: {_PLACEMENT_WORDS}.")
    position_e: float = Field(
        description="Barycentric coordinate towards the E vertex, 0 to 1 (the three coordinates sum to 1)."
    )
    position_c: float = Field(description="Barycentric coordinate towards the C vertex, 0 to 1.")
    position_r: float = Field(description="Barycentric coordinate towards the R vertex, 0 to 1.")
    compute_growth: Optional[str] = Field(
        default=None, description="Growth in T of the per-step work, e.g. 1, T, log(T) (a hybrid: its worst layer)."
    )
    state_growth: Optional[str] = Field(
        default=None, description="Growth in T of the state size (a hybrid: its worst layer)."
    )
    max_pairs: Optional[float] = Field(
        default=None,
        description="Recall bound K (key-value pairs) for the state at the default settings (d 4096, 32 layers, "
        "16 bits, V 32000, A 0.9); only for E and C entries whose state could be evaluated.",
    )
    bound: Optional[dict[str, Any]] = Field(
        default=None, sa_type=NullableJSON, description="The bound's inputs and result (JSON); NULL unless E and C."
    )
    recipe_efficient: Optional[bool] = Field(
        default=None, description="E under the paper's recipe (knobs grown with T); NULL when the entry has no recipe."
    )
    recipe_compact: Optional[bool] = Field(
        default=None, description="C under the paper's recipe; NULL without a recipe."
    )
    recipe_recall: Optional[bool] = Field(
        default=None, description="R under the paper's recipe; NULL without a recipe."
    )
    recipe_placement: Optional[str] = Field(
        default=None, index=True, description="Placement under the paper's recipe; NULL without a recipe."
    )
    recipe_position_e: Optional[float] = Field(
        default=None, description="position_e under the recipe; NULL without one."
    )
    recipe_position_c: Optional[float] = Field(
        default=None, description="position_c under the recipe; NULL without one."
    )
    recipe_position_r: Optional[float] = Field(
        default=None, description="position_r under the recipe; NULL without one."
    )
    recipe_compute_growth: Optional[str] = Field(
        default=None, description="Growth in T of the per-step work under the recipe; NULL without one."
    )
    recipe_state_growth: Optional[str] = Field(
        default=None, description="Growth in T of the state under the recipe; NULL without one."
    )
    archclass_version: str = Field(description="Version of archclass that classified the entry.")


class RuleFiringRow(Base, table=True):
    """A rule of taxonomy/rules.yaml that decided one property of one entry, with its explanation."""

    __tablename__ = "rule_firings"

    arch_id: str = Field(
        primary_key=True,
        foreign_key="classifications.arch_id",
        ondelete="CASCADE",
        description="Registry id of the architecture.",
    )
    ordinal: int = Field(primary_key=True, description="Order in which the rule fired, from 0.")
    rule: str = Field(index=True, description="Name of the rule in taxonomy/rules.yaml.")
    property: str = Field(description="The property it decided: efficient, compact or recall.")
    value: bool = Field(description="The value it gave the property.")
    explanation: str = Field(description="The rule's sentence, filled in for this entry.")


def _run_link() -> ForeignKey:
    """A run's link to its architecture. Deferred to the commit, because a sync deletes and rewrites every
    architecture in one transaction; by the commit it has unlinked the runs of removed entries."""
    return ForeignKey("architectures.id", deferrable=True, initially="DEFERRED")


class ProbeRunRow(Base, table=True):
    """One run of the probe runner: measured state and per-step cost, the fitted growth, the probe's verdict."""

    __tablename__ = "probe_runs"

    id: Optional[int] = Field(default=None, primary_key=True, description="Run number, assigned by the database.")
    arch_id: Optional[str] = Field(
        default=None,
        index=True,
        sa_column_args=[_run_link()],
        description="Registry id of the probed architecture; NULL for a user's own module, or while the "
        "database's registry lacks it (see details.unlinked_arch_id).",
    )
    module: str = Field(description="What was probed: a reference implementation name, or path/to/file.py:Class.")
    device: str = Field(description="Device the probe ran on: cpu, cuda, ...")
    dtype: str = Field(description="Floating-point type of the model, e.g. float32.")
    created_at: datetime = Field(
        sa_type=DateTime(timezone=True), index=True, description="When the run was stored (UTC)."
    )
    lengths: list[int] = Field(
        default_factory=list, sa_type=JSON, description="Positions T measured (JSON list of tokens)."
    )
    measurements: Any = Field(
        default=None,
        sa_type=NullableJSON,
        nullable=True,
        description="One measurement per length (JSON): state scalars and bytes, step FLOPs and bytes, step seconds.",
    )
    fit: Any = Field(
        default=None,
        sa_type=NullableJSON,
        nullable=True,
        description="Fitted growth of state, compute, FLOPs, bytes and time in T (JSON: growth, exponent, r_squared).",
    )
    probe_placement: Optional[str] = Field(
        default=None, description=f"Placement from the measurements: {_PLACEMENT_WORDS}."
    )
    probe_efficient: Optional[bool] = Field(
        default=None, description="E as measured: the step cost does not grow with T."
    )
    probe_compact: Optional[bool] = Field(default=None, description="C as measured: the state does not grow with T.")
    probe_recall: Optional[bool] = Field(
        default=None,
        description="R as the probe reports it (taken from the declared retrieval; the probe does not measure it).",
    )
    probe_state_growth: Optional[str] = Field(default=None, description="Growth class of the measured state in T.")
    probe_compute_growth: Optional[str] = Field(
        default=None, description="Growth class of the measured step cost in T."
    )
    details: Any = Field(
        default=None,
        sa_type=NullableJSON,
        nullable=True,
        description="Everything else the probe reported (JSON): kwargs, notes, the registry comparison.",
    )
    source: Optional[str] = Field(
        default=None,
        index=True,
        description="Results file the run was loaded from by 'archclass sync --results' (relative to the checkout); "
        "NULL for a run stored by 'archclass probe'.",
    )
    archclass_version: str = Field(description="Version of archclass that stored the run.")


class RecallRunRow(Base, table=True):
    """One trained model of an ``archclass recall`` sweep: its configuration, accuracy at every K, the
    measured capacity, the state it kept and the bound for that state."""

    __tablename__ = "recall_runs"
    __table_args__ = (CheckConstraint("capacity >= 0", name="capacity_nonnegative"),)

    id: Optional[int] = Field(default=None, primary_key=True, description="Run number, assigned by the database.")
    sweep_id: str = Field(index=True, description="Shared by every run of one sweep (or one results file).")
    arch: str = Field(index=True, description="Reference implementation trained, e.g. mamba, softmax-attention.")
    arch_id: Optional[str] = Field(
        default=None,
        index=True,
        sa_column_args=[_run_link()],
        description="Registry id of the architecture; NULL while the database's registry lacks it "
        "(see details.unlinked_arch_id).",
    )
    d_model: int = Field(description="Model width d.")
    seed: int = Field(description="Random seed of the training run.")
    vocab: int = Field(description="V: distinct keys and values in the MQAR task.")
    seq_len: int = Field(description="Training sequence length (tokens).")
    n_layers: int = Field(description="Sequence-mixing layers.")
    steps_run: int = Field(description="Optimizer steps taken.")
    capacity: int = Field(
        description="Largest K (key-value pairs) recalled with mean accuracy >= target_accuracy; 0 if none."
    )
    # BIGINT: a KV cache's bits pass 2**31 (PostgreSQL's INTEGER) at lengths and widths a GPU sweep reaches.
    state_scalars: int = Field(
        sa_type=BigInteger, description="Scalars of state the model keeps after seq_len tokens, all layers."
    )
    state_bits: int = Field(sa_type=BigInteger, description="Bits of that state: state_scalars x bits_per_scalar.")
    bits_per_scalar: int = Field(description="p: bits counted per state scalar.")
    bound_pairs: Optional[float] = Field(
        default=None,
        description="The recall bound K <= n p / (A log2 V - 1) for this state (key-value pairs); NULL if none.",
    )
    target_accuracy: float = Field(description="A: the mean accuracy a K must reach to count, 0 to 1.")
    tokens_per_second: Optional[float] = Field(
        default=None, description="Training throughput (tokens/s); NULL if not timed."
    )
    device: str = Field(description="Device the model was trained on.")
    created_at: datetime = Field(
        sa_type=DateTime(timezone=True), index=True, description="When the run was stored (UTC)."
    )
    accuracy: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSON, description='Mean accuracy at each K tried (JSON: {"K": accuracy}).'
    )
    details: Any = Field(
        default=None,
        sa_type=NullableJSON,
        nullable=True,
        description="Everything else of the run (JSON): overrides, accuracy by distance, training history, other "
        "lengths, training time, the sweep's command.",
    )
    source: Optional[str] = Field(
        default=None,
        index=True,
        description="Results file the run was loaded from by 'archclass sync --results' (relative to the checkout); "
        "NULL for a run stored by 'archclass recall'.",
    )
    archclass_version: str = Field(description="Version of archclass that stored the run.")


class MetaRow(Base, table=True):
    """Facts about the database itself: whose it is, which registry it was synced from, and when."""

    __tablename__ = "meta"

    key: str = Field(primary_key=True, description="Name of the fact.")
    value: str = Field(description="Its value, as text.")


#: The tables a sync rewrites, parents first; runs and meta are never deleted by it.
REGISTRY_TABLES: tuple[type[Base], ...] = (
    ArchitectureRow,
    ArchitectureTagRow,
    AliasRow,
    HybridComponentRow,
    ClassificationRow,
    RuleFiringRow,
)
#: Every table, in creation order.
ALL_TABLES: tuple[type[Base], ...] = (*REGISTRY_TABLES, ProbeRunRow, RecallRunRow, MetaRow)
#: The view that joins each architecture with its classification (defined in migration 0003).
CLASSES_VIEW = "architecture_classes"


def table(model: type[Base]) -> Table:
    """The Core table of a row class."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


def describe(model: type[Base]) -> dict[str, str]:
    """Each column's description, in column order."""
    return {name: info.description or "" for name, info in model.model_fields.items()}
