"""The words archclass uses for its facts, each defined once: families, growth classes, placements,
properties, retrieval and precision kinds, tags.

Everything else (the schema, the classifier, the database's CHECK constraints, the probe's fitter,
the CLI's choices) imports them from here, so a new family or growth class is one edit.
"""

from __future__ import annotations

from enum import StrEnum


class Family(StrEnum):
    """Architecture families, in the order the rendered taxonomy lists them."""

    FULL_ATTENTION = "full-attention"
    SPARSE_ATTENTION = "sparse-attention"
    LINEAR_ATTENTION = "linear-attention"
    RECURRENT_TRANSFORMER = "recurrent-transformer"
    MEMORY_RETRIEVAL = "memory-retrieval"
    SSM = "ssm"
    LONG_CONVOLUTION = "long-convolution"
    LINEAR_RNN = "linear-rnn"
    CLASSIC_RNN = "classic-rnn"
    THEORETICAL = "theoretical"
    HYBRID = "hybrid"


class GrowthClass(StrEnum):
    """How a quantity grows with the position T, from slowest to fastest."""

    CONSTANT = "constant"
    POLYLOG = "polylog"
    SUBLINEAR = "sublinear"
    LINEAR = "linear"
    SUPERLINEAR = "superlinear"

    @property
    def rank(self) -> int:
        return list(GrowthClass).index(self)


class Placement(StrEnum):
    """Where an architecture sits on the Efficiency-Compactness-Recall triangle."""

    EC = "EC"
    ER = "ER"
    CR = "CR"
    E = "E"
    C = "C"
    R = "R"
    NONE = "none"


class Property(StrEnum):
    """The three properties of the triangle, in vertex order E, C, R."""

    EFFICIENT = "efficient"
    COMPACT = "compact"
    RECALL = "recall"


class Retrieval(StrEnum):
    """How stored tokens are read back by content."""

    EXACT = "exact"
    APPROXIMATE = "approximate"
    NONE = "none"


class Precision(StrEnum):
    """Whether state scalars keep a fixed number of bits or need more as T grows."""

    FIXED = "fixed"
    GROWING = "growing"


class Tag(StrEnum):
    """Mechanisms, for search (`archclass query --tag delta-rule`)."""

    KV_CACHE = "kv-cache"
    WINDOW = "window"
    DECAY = "decay"
    DELTA_RULE = "delta-rule"
    SELECTIVE = "selective"
    TOP_K = "top-k"
    COMPRESSION = "compression"
    RETRIEVAL_INDEX = "retrieval-index"
    GATING = "gating"
    CONVOLUTION = "convolution"
    FEATURE_MAP = "feature-map"
    SHARED_LAYERS = "shared-layers"
    GLOBAL_TOKENS = "global-tokens"
    MEMORY_SLOTS = "memory-slots"
    CHUNKED = "chunked"
    HIERARCHICAL = "hierarchical"
    TEST_TIME_TRAINING = "test-time-training"
    LATENT_KV = "latent-kv"
    GROUPED_KV = "grouped-kv"
    MOE = "moe"


FAMILIES: tuple[str, ...] = tuple(f.value for f in Family)
GROWTH_CLASSES: tuple[str, ...] = tuple(g.value for g in GrowthClass)
PLACEMENTS: tuple[str, ...] = tuple(p.value for p in Placement)
PROPERTIES: tuple[str, ...] = tuple(p.value for p in Property)
RETRIEVALS: tuple[str, ...] = tuple(r.value for r in Retrieval)
PRECISIONS: tuple[str, ...] = tuple(p.value for p in Precision)
TAGS: tuple[str, ...] = tuple(t.value for t in Tag)
