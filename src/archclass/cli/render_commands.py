"""`archclass render`: the generated table, data, explorer page and triangle figure under taxonomy/."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from archclass.cli.options import RegistryOption
from archclass.cli.output import fail, stderr


def register(app: typer.Typer) -> None:
    @app.command(epilog="Example: archclass render --check")
    def render(
        out: Annotated[Optional[Path], typer.Option("--out", help="Output folder (default: taxonomy/).")] = None,
        check: Annotated[
            bool,
            typer.Option("--check", help="Write nothing; exit 1 if a generated file (figure included) is stale."),
        ] = False,
        figure: Annotated[
            bool,
            typer.Option("--figure/--no-figure", help="Also draw (or, with --check, check) triangle.png and .svg."),
        ] = True,
        registry_file: RegistryOption = None,
    ) -> None:
        """Write taxonomy/TAXONOMY.md, triangle.json, index.html and the triangle figure (PNG and SVG)."""
        from archclass import render as renderer
        from archclass.paths import taxonomy_dir

        out_dir = out or taxonomy_dir()
        from archclass.registry import load_registry

        registry = load_registry(registry_file)
        if figure:
            try:
                import matplotlib  # noqa: F401
            except ImportError:
                doing = "checking" if check else "drawing"
                fail(f"{doing} the figure needs matplotlib: pip install 'archclass[probe]' (or pass --no-figure)")
        if check:
            stale = renderer.stale(registry, out_dir, figure=figure)
            if stale:
                fail(f"{out_dir}: {', '.join(stale)} out of date with the registry; run 'archclass render'")
            unchecked = "" if figure else " (figure not checked: --no-figure)"
            stderr.print(f"{out_dir}: generated files are current{unchecked}", markup=False)
            return
        for path in renderer.render(registry, out_dir, figure=figure):
            stderr.print(f"wrote {path}", markup=False)
