"""`archclass add`: gather a new entry's fields (asking in a terminal), then let archclass.scaffold add it."""

from __future__ import annotations

import sys
from typing import Annotated, Any, Optional

import typer

from archclass.cli.options import RegistryOption
from archclass.cli.output import fail, stderr, stdout
from archclass.vocabulary import FAMILIES

Text = Optional[str]
ComponentOption = Annotated[
    list[str], typer.Option("--component", metavar="ARCH=FRACTION", help="A hybrid's layer kind (repeatable).")
]
HyperOption = Annotated[
    list[str], typer.Option("--hyper", metavar="SYMBOL=MEANING[:VALUE]", help="A hyperparameter (repeatable).")
]


def _ask(value: Any, prompt: str, flag: str, kind: type = str) -> Any:
    """VALUE if given; else asked for in a terminal; else a usage error naming FLAG."""
    if value not in (None, ""):
        return value
    if sys.stdin.isatty():
        return typer.prompt(prompt, type=kind)
    raise typer.BadParameter(f"missing {flag} (or run in a terminal to be asked)", param_hint=flag)


def add(
    id_: Annotated[Text, typer.Option("--id", help="Lower-case slug, e.g. my-rnn.")] = None,
    name: Annotated[Text, typer.Option(help="Name as the paper writes it.")] = None,
    alias: Annotated[list[str], typer.Option("--alias", help="Another name people type (repeatable).")] = [],  # noqa: B006
    year: Annotated[Optional[int], typer.Option(help="Year of first publication.")] = None,
    arxiv: Annotated[Text, typer.Option(help="arXiv id, e.g. 2307.08621.")] = None,
    family: Annotated[Text, typer.Option(help="Family, e.g. ssm, linear-rnn, hybrid.")] = None,
    summary: Annotated[Text, typer.Option(help="One sentence in your own words.")] = None,
    compute: Annotated[Text, typer.Option(help="Per-step compute, e.g. 'O(d^2)'.")] = None,
    state: Annotated[Text, typer.Option(help="State size, e.g. 'O(T d)'.")] = None,
    retrieval: Annotated[Text, typer.Option(help="exact, approximate or none.")] = None,
    component: ComponentOption = [],  # noqa: B006
    hyper: HyperOption = [],  # noqa: B006
    evidence: Annotated[Text, typer.Option(help="Where in the paper the scaling comes from.")] = None,
    confidence: Annotated[str, typer.Option(help="high, medium or low.")] = "medium",
    registry_file: RegistryOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the entry; change nothing.")] = False,
) -> None:
    """Add an architecture: scaffold the entry, insert it in sorted place, validate the file.

    Missing fields are asked for when run in a terminal. Nothing is written unless the whole registry still
    validates with the new entry.
    """
    from archclass import scaffold
    from archclass.errors import RegistryError
    from archclass.paths import registry_path

    new = scaffold.NewEntry(
        id=_ask(id_, "id (slug)", "--id"),
        name=_ask(name, "name", "--name"),
        aliases=alias,
        year=_ask(year, "year", "--year", int),
        arxiv=_ask(arxiv, "arXiv id", "--arxiv"),
        family=_ask(family, f"family ({', '.join(FAMILIES)})", "--family"),
        summary=_ask(summary, "one-sentence summary", "--summary"),
        evidence="",
        hyperparameters=scaffold.parse_hyperparameters(hyper),
        confidence=confidence,
    )
    if new.family == "hybrid":
        new.components = scaffold.parse_components(component or [_ask(None, "component ARCH=FRACTION", "--component")])
    else:
        new.compute = _ask(compute, "per-step compute, e.g. O(d^2)", "--compute")
        new.state = _ask(state, "state size, e.g. O(T d)", "--state")
        new.retrieval = _ask(retrieval, "retrieval (exact, approximate or none)", "--retrieval")
    new.evidence = _ask(evidence, "evidence (section or equation in the paper)", "--evidence")
    if dry_run:
        stdout.out(scaffold.entry_text(new), end="", highlight=False)
        return
    path = registry_file or registry_path()
    try:
        count = scaffold.add_entry(path, new)
    except RegistryError as error:
        for issue in error.issues:
            stderr.print(str(issue), markup=False, soft_wrap=True)
        fail(f"not added: the registry would not validate with entry '{new.id}' (fix the options above)")
    stderr.print(f"added '{new.id}' to {path} ({count} entries); next: archclass classify {new.id}", markup=False)


def register(app: typer.Typer) -> None:
    app.command(
        epilog="Example: archclass add --id my-rnn --name 'My RNN' --year 2026 --arxiv 2601.01234 "
        "--family linear-rnn --summary '...' --compute 'O(d^2)' --state 'O(d^2)' --retrieval none "
        "--evidence 'Sec. 3, Eq. 5 ...'"
    )(add)
