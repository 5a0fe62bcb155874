"""The registry entry schema: one pydantic model per YAML mapping in data/architectures.yaml.

The models are strict (unknown fields are errors) because the registry is edited by hand in pull
requests: a misspelt key silently ignored would be a research claim silently dropped. Every field
carries a description, which ends up in the exported JSON Schema that editors use while typing.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from archclass.errors import is_unsafe_character
from archclass.vocabulary import FAMILIES, Family, Precision, Property, Retrieval, Tag

__all__ = ["FAMILIES", "Architecture", "Component", "Hyperparameter", "Inference", "json_schema"]

#: The key order `archclass fmt` writes; also the order of the fields below.
ENTRY_KEY_ORDER: tuple[str, ...] = (
    "id",
    "name",
    "aliases",
    "title",
    "authors",
    "year",
    "arxiv",
    "url",
    "family",
    "tags",
    "summary",
    "setting",
    "inference",
    "components",
    "hyperparameters",
    "recipe",
    "evidence",
    "confidence",
    "notes",
    "reference",
    "implementations",
)
INFERENCE_KEY_ORDER: tuple[str, ...] = (
    "per_step_compute",
    "state_size",
    "state_scalars",
    "retrieval",
    "precision",
    "claims",
)

SLUG = re.compile(r"^[a-z0-9]+(?:[-.][a-z0-9]+)*$")
ARXIV_ID = re.compile(r"^\d{4}\.\d{4,5}$")
SYMBOL = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
MODEL_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
RESERVED_SYMBOLS = frozenset({"T", "d", "log", "sqrt", "min", "max", "O"})


def _one_line(value: str) -> str:
    """Printable text on one line: no control, zero-width or bidi characters (they forge or hide output)."""
    bad = next((char for char in value if is_unsafe_character(char)), None)
    if bad is not None:
        raise ValueError(f"contains the invisible or control character U+{ord(bad):04X}; use plain printable text")
    return value


def _prose(value: str) -> str:
    """Like _one_line, but paragraphs may break lines."""
    _one_line(value.replace("\n", " ").replace("\t", " "))
    return value


def _scripts(value: str) -> set[str]:
    """The writing systems of VALUE's letters (LATIN, CYRILLIC, GREEK, ...)."""
    return {unicodedata.name(char, "UNKNOWN").split()[0] for char in value if char.isalpha()}


def _name_people_type(value: str) -> str:
    """A name matched against what users type: printable, one line, letters from one script, so a
    look-alike such as a Cyrillic 'а' in 'mаmba' cannot pose as another entry's name."""
    _one_line(value)
    scripts = _scripts(value)
    if len(scripts) > 1:
        raise ValueError(f"mixes letters of several scripts ({', '.join(sorted(scripts)).lower()}); use one")
    if not any(char.isalnum() for char in value):
        raise ValueError("needs at least one letter or digit")
    return value


# Length limits: generous for every real entry (the longest note is about 1,200 characters), small
# enough that no field can carry a payload into the database or a terminal.
Slug = Annotated[str, Field(max_length=64)]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_name_people_type)]
Alias = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_name_people_type)]
Line = Annotated[str, Field(max_length=500), AfterValidator(_one_line)]
Prose = Annotated[str, Field(max_length=8000), AfterValidator(_prose)]
Expression = Annotated[str, Field(max_length=200), AfterValidator(_one_line)]
ModelType = Annotated[str, Field(max_length=100, pattern=MODEL_TYPE.pattern)]
ModelTypes = Annotated[list[ModelType], Field(max_length=100)]
Url = Annotated[str, Field(max_length=2000), AfterValidator(_one_line)]
PositiveValue = Annotated[float, Field(gt=0, le=1e15, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Inference(_Strict):
    """How one layer of the architecture decodes: the quantities the triangle is decided from."""

    per_step_compute: Expression = Field(
        description="Work of one decode step at position T, per layer, as a big-O expression in T, d "
        "and declared hyperparameters, e.g. 'O(T d)' or 'O(d^2)'.",
        examples=["O(d^2)", "O(T*d)", "O(w d)"],
    )
    state_size: Expression = Field(
        description="Scalars carried from one step to the next, per layer, as a big-O expression, "
        "e.g. 'O(T d)' for a KV cache or 'O(d^2)' for a matrix-valued recurrent state.",
        examples=["O(d^2)", "O(T d)"],
    )
    state_scalars: Expression | None = Field(
        default=None,
        description="Optional exact count of state scalars per layer at concrete T, d and "
        "hyperparameters (no O(...)), e.g. '2*T*d' for a KV cache. Used to check the registry "
        "against measured reference implementations, where hand-written formulas go wrong.",
        examples=["2*T*d", "d*n"],
    )
    retrieval: Retrieval = Field(
        description="How stored tokens are read back by content: 'exact' attention over every "
        "stored key, 'approximate' retrieval (kNN, top-k, LSH, block selection) over a stored "
        "memory, or 'none' when tokens are only folded into a summary state."
    )
    precision: Precision = Field(
        default=Precision.FIXED,
        description="'fixed' for ordinary floating point; 'growing' for theoretical models whose "
        "scalars need more bits as T grows (Siegelmann–Sontag RNNs).",
    )
    claims: Annotated[list[Property], Field(max_length=3)] = Field(
        default_factory=list,
        description="Properties the paper itself claims, if any. A claim of recall on a model "
        "whose declared scaling is efficient and compact contradicts the theorem and is rejected.",
    )


class Setting(_Strict):
    """Which configuration of the paper the entry classifies."""

    kind: Literal["as-published", "causal-adaptation"] = Field(
        description="'as-published' when the paper's own model decodes causally; 'causal-adaptation' when "
        "the paper's model is an encoder or encoder-decoder and the entry classifies a causal decoder built "
        "from its mechanism."
    )
    how: Prose | None = Field(
        default=None,
        description="For a causal adaptation: how the causal form is derived from the paper, and what is "
        "dropped (e.g. global tokens, bidirectional attention).",
    )
    published: Slug | None = Field(
        default=None, description="Id of the sibling entry that classifies the form as published, if it differs."
    )


class Hyperparameter(_Strict):
    """A symbol used in complexity strings, with its meaning and a typical value."""

    meaning: Line = Field(description="What the symbol stands for; it must not grow with T.")
    value: PositiveValue | None = Field(
        default=None,
        description="A typical value from the paper, used to evaluate state sizes and the recall "
        "bound numerically (override with `archclass classify --set SYMBOL=VALUE`).",
    )


class Component(_Strict):
    """One kind of layer in a hybrid, and the fraction of layers that are of that kind."""

    arch: Name = Field(
        description="Id (or alias) of another registry entry, which must not itself be a hybrid; "
        "list the layer kinds of a hybrid directly."
    )
    fraction: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = Field(
        description="Fraction of the hybrid's sequence-mixing layers of this kind; fractions sum to 1."
    )


class Architecture(_Strict):
    """One registry entry: a published long-context sequence architecture."""

    id: Slug = Field(description="Lower-case slug, unique in the registry, e.g. 'retnet'.")
    name: Name = Field(description="Name as the paper writes it.")
    aliases: Annotated[list[Alias], Field(max_length=50)] = Field(
        default_factory=list,
        description="Other names people type, e.g. ['retentive-network']; matched ignoring case, spaces, "
        "'-', '_' and '.'.",
    )
    title: Line | None = Field(default=None, description="Title of the cited paper, exactly as the paper gives it.")
    authors: Annotated[list[Line], Field(max_length=5000)] | None = Field(
        default=None,
        description="Authors of the cited paper in the paper's order, as 'Given Family' names; a very long "
        "list may end with 'others'.",
    )
    year: Annotated[int, Field(ge=1980, le=2100)] = Field(description="Year of first publication.")
    arxiv: Annotated[str, Field(max_length=10)] | None = Field(
        default=None, description="arXiv identifier of the paper, e.g. '2307.08621' (no 'v1')."
    )
    url: Url | None = Field(default=None, description="URL of the paper when it is not on arXiv.")
    family: Family = Field(description="Architecture family; 'hybrid' for compositions.")
    tags: Annotated[list[Tag], Field(max_length=len(Tag))] = Field(
        default_factory=list,
        description="Mechanisms the architecture uses, for search: kv-cache, window, decay, delta-rule, "
        "selective, top-k, compression, retrieval-index, ...",
    )
    summary: Prose = Field(description="One sentence, in the registry's own words.")
    setting: Setting | None = Field(
        default=None,
        description="Which configuration is classified: 'as-published', or a 'causal-adaptation' of an "
        "encoder or encoder-decoder model (say how it was derived in 'how').",
    )
    inference: Inference | None = Field(default=None, description="Decode-time scaling of one layer (not for hybrids).")
    components: Annotated[list[Component], Field(max_length=64)] | None = Field(
        default=None, description="For hybrids only: the layer kinds and their fractions."
    )
    hyperparameters: Annotated[dict[str, Line | Hyperparameter], Field(max_length=64)] = Field(
        default_factory=dict,
        description="Symbols other than T and d used in complexity strings, all independent of T: "
        "either a one-line meaning or {meaning, value}.",
    )
    recipe: Annotated[dict[str, Expression], Field(max_length=64)] | None = Field(
        default=None,
        description="The paper's own recipe for hyperparameters it grows with T, e.g. {l: 'sqrt(T)'}: each key "
        "a declared hyperparameter, each value a formula in T, d and the other hyperparameters. The "
        "classifier reports a second placement with these substituted; 'hyperparameters' stays the "
        "fixed-knob reading.",
    )
    evidence: Prose = Field(
        description="Where in the paper the per-step compute and state size come from "
        "(section, equation or figure), in the registry's own words."
    )
    confidence: Literal["high", "medium", "low"] = Field(
        default="high",
        description="How sure the registry is of the scaling: 'low' when the paper is ambiguous or "
        "the literature disagrees (say so in the evidence or notes).",
    )
    notes: Prose | None = Field(default=None, description="Caveats, disagreements in the literature, subtle cases.")
    reference: Slug | None = Field(
        default=None,
        description="Name of the archclass reference implementation that models this entry, if any.",
    )
    implementations: dict[Literal["transformers", "fla"], ModelTypes] | None = Field(
        default=None,
        description="Deployed implementations of this architecture, by library: transformers model types "
        "(e.g. 'llama') and flash-linear-attention model types (e.g. 'gated_deltanet').",
    )

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError(f"{value!r} is not a slug: use lower-case letters, digits, '-' and '.', e.g. 'mamba-2'")
        return value

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for alias in value:
            key = alias.casefold()
            if not alias.strip():
                raise ValueError("an alias is empty")
            if key in seen:
                raise ValueError(f"alias {alias!r} is listed twice")
            seen.add(key)
        return value

    @field_validator("arxiv", mode="before")
    @classmethod
    def _arxiv(cls, value: object) -> object:
        if isinstance(value, float):
            # YAML reads 2307.08621 unquoted as a float and drops trailing zeros (2310.1 for
            # 2310.10000); refuse it rather than guess.
            raise ValueError(f"write the arXiv id as a quoted string, e.g. '{value}'")
        if isinstance(value, str) and not ARXIV_ID.match(value):
            raise ValueError(f"{value!r} is not an arXiv id like '2307.08621' (no prefix, no version)")
        return value

    @field_validator("hyperparameters")
    @classmethod
    def _symbols(cls, value: dict[str, str | Hyperparameter]) -> dict[str, str | Hyperparameter]:
        for symbol in value:
            if not SYMBOL.match(symbol):
                raise ValueError(f"hyperparameter {symbol!r} is not a valid symbol name")
            if symbol in RESERVED_SYMBOLS:
                raise ValueError(
                    f"hyperparameter {symbol!r} is reserved (T is the position, d the width, "
                    "log/sqrt/min/max are functions)"
                )
        return value

    @model_validator(mode="after")
    def _shape(self) -> Architecture:
        if not self.arxiv and not self.url:
            raise ValueError("cite the paper: give 'arxiv' (preferred) or 'url'")
        is_hybrid = self.family == "hybrid"
        if is_hybrid and self.inference is not None:
            raise ValueError("a hybrid has 'components', not 'inference'")
        if is_hybrid and not self.components:
            raise ValueError("a hybrid needs 'components': [{arch: ID, fraction: F}, ...]")
        if not is_hybrid and self.components is not None:
            raise ValueError("only family 'hybrid' may have 'components'")
        if not is_hybrid and self.inference is None:
            raise ValueError("missing 'inference' block (per_step_compute, state_size, retrieval)")
        if self.components is not None:
            total = sum(c.fraction for c in self.components)
            if abs(total - 1.0) > 1e-6:
                raise ValueError(f"component fractions sum to {total:g}, not 1")
            names = [c.arch for c in self.components]
            if len(set(names)) != len(names):
                raise ValueError("a component is listed twice")
        return self

    @property
    def is_hybrid(self) -> bool:
        return self.components is not None

    def hyperparameter_values(self) -> dict[str, float]:
        return {
            symbol: spec.value
            for symbol, spec in self.hyperparameters.items()
            if isinstance(spec, Hyperparameter) and spec.value is not None
        }


#: Patterns editors check while a contributor types (pydantic's validators stay the authority).
EDITOR_PATTERNS = {
    "id": r"^[a-z0-9]+(?:[-.][a-z0-9]+)*$",
    "arxiv": r"^\d{4}\.\d{4,5}$",
    "per_step_compute": r"^O\(.+\)$",
    "state_size": r"^O\(.+\)$",
}


def _draft7(node: object) -> object:
    """Draft-07 spelling of pydantic's 2020-12 output ($defs -> definitions), with the editor patterns."""
    if isinstance(node, dict):
        out: dict[str, Any] = {("definitions" if k == "$defs" else k): _draft7(v) for k, v in node.items()}
        if isinstance(out.get("$ref"), str):
            out["$ref"] = out["$ref"].replace("#/$defs/", "#/definitions/")
        properties = out.get("properties")
        for name, pattern in EDITOR_PATTERNS.items():
            prop = properties.get(name) if isinstance(properties, dict) else None
            if isinstance(prop, dict):
                for branch in prop.get("anyOf", [prop]):
                    if isinstance(branch, dict) and branch.get("type") == "string":
                        branch.setdefault("pattern", pattern)
        return out
    if isinstance(node, list):
        return [_draft7(item) for item in node]
    return node


def json_schema() -> dict[str, object]:
    """The JSON Schema of the registry file: a list of entries, in draft-07, which the YAML language
    server that editors use supports fully (it does not support 2020-12)."""
    item = Architecture.model_json_schema()
    defs = item.pop("$defs", {})
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://github.com/archclass/archclass/taxonomy/architecture.schema.json",
        "title": "archclass registry",
        "description": "data/architectures.yaml: a list of architectures sorted by id.",
        "type": "array",
        "items": {"$ref": "#/definitions/Architecture"},
        "definitions": {**defs, "Architecture": item},
    }
    result = _draft7(schema)
    assert isinstance(result, dict)
    return result
