"""`archclass readme`: regenerate the README's result tables from results/, or check them."""

from __future__ import annotations

from typing import Annotated

import typer

from archclass.cli.output import fail, stderr


def readme(
    check: Annotated[bool, typer.Option("--check", help="Change nothing; exit 1 if a table is stale.")] = False,
) -> None:
    """Regenerate the result tables in README.md (probe, recall, transformers census) from results/."""
    from archclass import readme as tables
    from archclass.paths import SOURCE_ROOT

    path = SOURCE_ROOT / "README.md"
    if not path.exists():
        fail(f"{path}: no README here; run this from a clone of archclass")
    if check:
        stale = tables.stale_sections(path, SOURCE_ROOT)
        if stale:
            fail(f"README.md tables out of date with results/: {', '.join(stale)}; run 'archclass readme'")
        stderr.print("README.md tables are current", markup=False)
        return
    changed = tables.update(path, SOURCE_ROOT)
    stderr.print("rewrote README.md tables" if changed else "README.md tables already current", markup=False)


def register(app: typer.Typer) -> None:
    app.command("readme", epilog="Example: archclass readme --check")(readme)
