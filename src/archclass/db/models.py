"""The database tables, as SQLModel classes with their own metadata and constraint naming convention.

Tables are named for people reading the file in ``sqlite3`` or Datasette: ``architectures``,
``aliases``, ``hybrid_components``, ``classifications``, ``rule_firings``, ``probe_runs``,
``recall_runs`` and ``meta``.
Every constraint and index gets a predictable name from :data:`NAMING_CONVENTION`, so later
migrations (batch mode on SQLite, plain ALTER on PostgreSQL) can refer to them by name.

The registry-derived tables (everything except ``probe_runs``, ``recall_runs`` and ``meta``) are
replaced wholesale by a sync. ``probe_runs.arch_id`` and ``recall_runs.arch_id`` are therefore
deliberately *not* foreign keys: measurements outlive registry edits (an entry renamed or removed keeps
its probe and recall history), and a probe of a user's own module has no registry entry at all.

The schema is created and changed only by the Alembic migrations in ``migrations/``; a test checks
that these classes and the migrations agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, BigInteger, CheckConstraint, DateTime, MetaData
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

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

#: Placements on the triangle, mirrored from archclass.classifier.PLACEMENTS (checked by a test).
PLACEMENTS = ("EC", "ER", "CR", "E", "C", "R", "none")
_PLACEMENT_SQL = ", ".join(f"'{p}'" for p in PLACEMENTS)


class Base(SQLModel, registry=registry(metadata=metadata)):
    """Abstract base: keeps archclass's tables out of SQLModel's global metadata."""


class ArchitectureRow(Base, table=True):
    """One registry entry, its citation and its declared decode-time scaling."""

    __tablename__ = "architectures"

    id: str = Field(primary_key=True, description="Registry id (slug).")
    name: str
    year: int = Field(index=True)
    arxiv: Optional[str] = Field(default=None, description="arXiv identifier, e.g. 2307.08621.")
    url: Optional[str] = Field(default=None, description="URL of the paper when it is not on arXiv.")
    family: str = Field(index=True)
    summary: str
    hybrid: bool = Field(description="True for compositions of other entries (see hybrid_components).")
    per_step_compute: Optional[str] = Field(default=None, description="Declared per-step work; NULL for hybrids.")
    state_size: Optional[str] = Field(default=None, description="Declared state size; NULL for hybrids.")
    state_scalars: Optional[str] = None
    retrieval: Optional[str] = None
    precision: Optional[str] = None
    claims: Optional[list[str]] = Field(default=None, sa_type=NullableJSON)
    hyperparameters: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    evidence: str
    confidence: str
    notes: Optional[str] = None
    reference: Optional[str] = None


class AliasRow(Base, table=True):
    """Other names of an architecture (matched case-insensitively by the CLI)."""

    __tablename__ = "aliases"

    arch_id: str = Field(primary_key=True, foreign_key="architectures.id", ondelete="CASCADE")
    alias: str = Field(primary_key=True, index=True)


class HybridComponentRow(Base, table=True):
    """One layer kind of a hybrid and the fraction of the hybrid's layers that are of that kind."""

    __tablename__ = "hybrid_components"
    __table_args__ = (CheckConstraint("fraction > 0 AND fraction <= 1", name="fraction_range"),)

    hybrid_id: str = Field(primary_key=True, foreign_key="architectures.id", ondelete="CASCADE")
    component_id: str = Field(primary_key=True, foreign_key="architectures.id", index=True)
    ordinal: int = Field(description="Order of the component in the registry entry.")
    fraction: float


class ClassificationRow(Base, table=True):
    """The classifier's verdict for an entry: flags, placement, barycentric position, growths, bound."""

    __tablename__ = "classifications"
    __table_args__ = (CheckConstraint(f"placement IN ({_PLACEMENT_SQL})", name="placement_known"),)

    arch_id: str = Field(primary_key=True, foreign_key="architectures.id", ondelete="CASCADE")
    efficient: bool
    compact: bool
    recall: bool
    placement: str = Field(index=True, description="EC, ER, CR, E, C, R or none.")
    position_e: float
    position_c: float
    position_r: float
    compute_growth: Optional[str] = None
    state_growth: Optional[str] = None
    hybrid: bool
    max_pairs: Optional[float] = Field(default=None, description="Recall bound K for E and C entries, if evaluated.")
    bound: Optional[dict[str, Any]] = Field(default=None, sa_type=NullableJSON)
    archclass_version: str


class RuleFiringRow(Base, table=True):
    """A rule of taxonomy/rules.yaml that decided one property of one entry, with its explanation."""

    __tablename__ = "rule_firings"

    arch_id: str = Field(primary_key=True, foreign_key="classifications.arch_id", ondelete="CASCADE")
    ordinal: int = Field(primary_key=True)
    rule: str = Field(index=True)
    property: str
    value: bool
    explanation: str


class ProbeRunRow(Base, table=True):
    """One run of the probe runner: measured state and per-step cost, the fitted growth, the verdict."""

    __tablename__ = "probe_runs"

    id: Optional[int] = Field(default=None, primary_key=True)
    arch_id: Optional[str] = Field(default=None, index=True, description="Registry id, NULL for a user module.")
    module: str
    device: str
    dtype: str
    created_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    lengths: list[int] = Field(default_factory=list, sa_type=JSON)
    measurements: Any = Field(default=None, sa_type=NullableJSON, nullable=True)
    fit: Any = Field(default=None, sa_type=NullableJSON, nullable=True)
    placement: Optional[str] = None
    efficient: Optional[bool] = None
    compact: Optional[bool] = None
    recall: Optional[bool] = None
    state_growth: Optional[str] = None
    compute_growth: Optional[str] = None
    details: Any = Field(
        default=None,
        sa_type=NullableJSON,
        nullable=True,
        description="Everything else the probe reported: kwargs, notes, registry agreement.",
    )
    archclass_version: str


class RecallRunRow(Base, table=True):
    """One trained model of an ``archclass recall`` sweep: its configuration, accuracy at every K, the
    measured capacity, the state it kept and the bound for that state."""

    __tablename__ = "recall_runs"
    __table_args__ = (CheckConstraint("capacity >= 0", name="capacity_nonnegative"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    sweep_id: str = Field(index=True, description="Shared by every run of one `archclass recall` invocation.")
    arch: str = Field(index=True, description="Reference implementation name, e.g. mamba.")
    arch_id: Optional[str] = Field(default=None, index=True, description="Registry id, NULL when there is none.")
    d_model: int
    seed: int
    vocab: int
    seq_len: int
    n_layers: int
    steps_run: int
    capacity: int = Field(description="Largest K recalled with mean accuracy >= target_accuracy (0 if none).")
    # BIGINT: a KV cache's bits pass 2**31 (PostgreSQL's INTEGER) at lengths and widths a GPU sweep reaches.
    state_scalars: int = Field(sa_type=BigInteger)
    state_bits: int = Field(sa_type=BigInteger)
    bits_per_scalar: int
    bound_pairs: Optional[float] = Field(default=None, description="The recall bound for this state; NULL if none.")
    target_accuracy: float
    tokens_per_second: Optional[float] = None
    device: str
    created_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    accuracy: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, description='{"K": accuracy}.')
    details: Any = Field(
        default=None,
        sa_type=NullableJSON,
        nullable=True,
        description="Everything else of the run: overrides, accuracy by distance, history, other lengths, "
        "training time, the sweep's command.",
    )
    archclass_version: str


class MetaRow(Base, table=True):
    """Key-value facts about the database: registry hash, rules hash, when it was last synced."""

    __tablename__ = "meta"

    key: str = Field(primary_key=True)
    value: str


#: The tables a sync replaces wholesale; probe_runs, recall_runs and meta are never touched by it.
REGISTRY_TABLES = ("architectures", "aliases", "hybrid_components", "classifications", "rule_firings")


def tables() -> dict[str, Any]:
    """The sqlalchemy Table objects by name."""
    return dict(metadata.tables)
