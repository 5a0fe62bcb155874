"""Render query results and full records as CSV, Markdown and BibTeX (JSON is plain ``json.dumps``)."""

from __future__ import annotations

import csv
import io
from typing import Any

QUERY_COLUMNS = (
    "id",
    "name",
    "year",
    "family",
    "placement",
    "efficient",
    "compact",
    "recall",
    "hybrid",
    "arxiv",
    "url",
    "compute_growth",
    "state_growth",
    "position_e",
    "position_c",
    "position_r",
    "max_pairs",
)
EXPORT_COLUMNS = (
    "id",
    "name",
    "aliases",
    "year",
    "arxiv",
    "url",
    "family",
    "placement",
    "efficient",
    "compact",
    "recall",
    "hybrid",
    "compute_growth",
    "state_growth",
    "position_e",
    "position_c",
    "position_r",
    "per_step_compute",
    "state_size",
    "retrieval",
    "precision",
    "components",
    "confidence",
    "summary",
    "evidence",
    "notes",
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _csv(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return buffer.getvalue()


def _flat_position(row: dict[str, Any]) -> dict[str, Any]:
    position = row.get("position") or [None, None, None]
    return {**row, "position_e": position[0], "position_c": position[1], "position_r": position[2]}


def query_csv(rows: list[dict[str, Any]]) -> str:
    """Query results as CSV with a header row."""
    return _csv(QUERY_COLUMNS, [_flat_position(row) for row in rows])


def records_csv(records: list[dict[str, Any]]) -> str:
    """Full records flattened to one CSV row each (aliases and components joined with ';')."""
    flat = []
    for record in records:
        verdict = record["classification"]
        inference = record.get("inference") or {}
        flat.append(
            {
                **record,
                **{
                    k: verdict[k]
                    for k in ("placement", "efficient", "compact", "recall", "hybrid", "compute_growth", "state_growth")
                },
                "position_e": verdict["position"][0],
                "position_c": verdict["position"][1],
                "position_r": verdict["position"][2],
                "aliases": ";".join(record["aliases"]),
                "components": ";".join(f"{c['arch']}:{c['fraction']:g}" for c in record.get("components") or []),
                **{k: inference.get(k) for k in ("per_step_compute", "state_size", "retrieval", "precision")},
            }
        )
    return _csv(EXPORT_COLUMNS, flat)


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
        verdict = record["classification"]
        flags = ["yes" if verdict[p] else "no" for p in ("efficient", "compact", "recall")]
        cells = [
            _md(record["id"]),
            _md(record["name"]),
            _md(record["year"]),
            _md(record["family"]),
            _md(verdict["placement"]),
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
    """One ``@misc`` per cited paper: arXiv papers with eprint/archivePrefix, others with howpublished.

    Entries citing the same paper share one BibTeX entry, keyed by the first entry's id.
    """
    papers: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        key = f"arxiv:{record['arxiv']}" if record.get("arxiv") else f"url:{record.get('url')}"
        papers.setdefault(key, []).append(record)
    blocks = []
    for group in papers.values():
        first = group[0]
        fields: list[tuple[str, str]] = [
            ("title", "{" + bibtex_escape(first["name"]) + "}"),
            ("year", str(first["year"])),
        ]
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
        blocks.append(f"@misc{{{first['id']},\n{body}\n}}\n")
    return "\n".join(blocks)
