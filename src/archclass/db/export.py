"""Render query results and full records as CSV, Markdown, BibTeX and JSON, as ``archclass export`` writes them."""

from __future__ import annotations

import csv
import io
from enum import StrEnum
from typing import Any

from archclass.db.query import EXTRA_FIELDS, RECORD_FIELDS


class ExportFormat(StrEnum):
    """What ``archclass export`` writes (:func:`export_text`)."""

    json = "json"
    csv = "csv"
    markdown = "markdown"
    bibtex = "bibtex"

#: Export record fields whose values are nested (lists of mappings): the JSON export keeps them, CSV
#: cells cannot.
_NESTED = ("hyperparameters", "bound", "rules")
#: Export CSV columns besides the record's own: the flat extras.
_CSV_EXTRAS = tuple(field for field in EXTRA_FIELDS if field not in _NESTED)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return ";".join(_cell(item) for item in value)
    return str(value)


def _csv(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return buffer.getvalue()


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    """A record with its position as three columns and its components as 'arch:fraction' items."""
    position = record.get("position") or [None, None, None]
    flat = {**record, "position_e": position[0], "position_c": position[1], "position_r": position[2]}
    if record.get("components"):
        flat["components"] = [f"{c['arch']}:{c['fraction']:g}" for c in record["components"]]
    return flat


def _columns(extras: tuple[str, ...] = ()) -> tuple[str, ...]:
    columns: list[str] = []
    for name in (*RECORD_FIELDS, *extras):
        columns.extend(("position_e", "position_c", "position_r") if name == "position" else (name,))
    return tuple(columns)


def query_csv(records: list[dict[str, Any]]) -> str:
    """Query records as CSV with a header row: the record's fields in order, lists joined with ';'."""
    return _csv(_columns(), [_flat(record) for record in records])


def records_csv(records: list[dict[str, Any]]) -> str:
    """Export records as CSV: the query columns, then the flat extras (aliases, components, ...)."""
    return _csv(_columns(_CSV_EXTRAS), [_flat(record) for record in records])


def export_text(records: list[dict[str, Any]], format_: ExportFormat) -> str:
    """Full records (``query_database(full=True)``) as JSON, CSV, Markdown or BibTeX text."""
    from archclass.json_output import json_text

    writers = {
        ExportFormat.json: json_text,
        ExportFormat.csv: records_csv,
        ExportFormat.markdown: records_markdown,
        ExportFormat.bibtex: records_bibtex,
    }
    return writers[format_](records)


def _md(value: Any) -> str:
    text = _cell(value).replace("\r", " ").replace("\n", " ")
    return text.replace("\\", "\\\\").replace("|", "\\|")


def citation_link(record: dict[str, Any]) -> str:
    if record.get("arxiv"):
        return f"[arXiv:{record['arxiv']}](https://arxiv.org/abs/{record['arxiv']})"
    if record.get("url"):
        return f"[link](<{record['url'].replace('>', '%3E')}>)"
    return ""


def records_markdown(records: list[dict[str, Any]]) -> str:
    """A Markdown table: one row per architecture, with its placement and a link to the paper."""
    lines = [
        "| id | name | year | family | placement | E | C | R | paper |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for record in records:
        flags = ["yes" if record[p] else "no" for p in ("efficient", "compact", "recall")]
        cells = [
            _md(record["id"]),
            _md(record["name"]),
            _md(record["year"]),
            _md(record["family"]),
            _md(record["placement"]),
            *flags,
            citation_link(record).replace("|", "\\|"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


_BIBTEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def bibtex_escape(text: str) -> str:
    """TeX-escape TEXT for a braced BibTeX field (braces always balanced)."""
    return "".join(_BIBTEX_SPECIAL.get(char, char) for char in " ".join(text.split()))


def _bib_url(url: str) -> str:
    """A URL safe inside a braced BibTeX field: braces, backslashes and spaces percent-encoded."""
    return url.replace("{", "%7B").replace("}", "%7D").replace("\\", "%5C").replace(" ", "%20")


def _tex_url(url: str) -> str:
    """The same URL as the argument of ``\\url`` inside another field, where % and # must be escaped."""
    return _bib_url(url).replace("%", r"\%").replace("#", r"\#")


def records_bibtex(records: list[dict[str, Any]]) -> str:
    """One ``@misc`` per cited paper, with its title and authors: arXiv papers with eprint/archivePrefix,
    others with howpublished.

    Entries citing the same paper share one BibTeX entry, keyed by the first entry's id. Where the
    registry has no title yet, the entry's name stands in, and where it has no authors the field is left
    out; a ``%`` comment line before the entry says so (BibTeX ignores text outside entries).
    """
    papers: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        key = f"arxiv:{record['arxiv']}" if record.get("arxiv") else f"url:{record.get('url')}"
        papers.setdefault(key, []).append(record)
    blocks = []
    for group in papers.values():
        first = group[0]
        title = next((r["title"] for r in group if r.get("title")), None)
        authors = next((r["authors"] for r in group if r.get("authors")), None)
        missing = [what for what, value in (("title", title), ("authors", authors)) if not value]
        comment = ""
        if missing:
            stand_in = "; the name stands in for the title" if title is None else ""
            comment = f"% archclass: the registry has no {' or '.join(missing)} for {first['id']} yet{stand_in}\n"
        fields: list[tuple[str, str]] = [("title", "{" + bibtex_escape(title or first["name"]) + "}")]
        if authors:
            fields.append(("author", " and ".join(_bib_author(name) for name in authors)))
        fields.append(("year", str(first["year"])))
        if first.get("arxiv"):
            fields += [
                ("eprint", first["arxiv"]),
                ("archivePrefix", "arXiv"),
                ("url", f"https://arxiv.org/abs/{first['arxiv']}"),
            ]
        else:
            fields += [("howpublished", "\\url{" + _tex_url(first["url"]) + "}"), ("url", _bib_url(first["url"]))]
        ids = ", ".join(record["id"] for record in group)
        fields.append(("note", bibtex_escape(f"archclass registry: {ids}")))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        blocks.append(f"{comment}@misc{{{first['id']},\n{body}\n}}\n")
    return "\n".join(blocks)


def _bib_author(name: str) -> str:
    """One author for BibTeX's ' and '-separated list; 'others' is BibTeX's own word for et al."""
    if name.strip().casefold() == "others":
        return "others"
    escaped = bibtex_escape(name)
    return "{" + escaped + "}" if " and " in f" {escaped.casefold()} " else escaped  # keep a name whole
