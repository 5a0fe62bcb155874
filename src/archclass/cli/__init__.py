"""The archclass command line: a thin Typer layer over the library.

Exit codes: 0 success; 1 a data or validation error (bad registry entry, unknown architecture,
failed check); 2 a usage error (unknown option, bad value). Data goes to stdout, diagnostics to stderr.
"""

from __future__ import annotations

import os
import sys

import typer

from archclass.errors import ArchclassError

app = typer.Typer(
    name="archclass",
    help=(
        "Classify long-context sequence architectures on the Efficiency-Compactness-Recall triangle.\n\n"
        "Example: archclass classify --arch retnet"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


def _register() -> None:
    from archclass.cli import registry_commands

    registry_commands.register(app)
    for name in ("contrib_commands", "db_commands", "probe_commands", "recall_commands", "render_commands"):
        try:
            module = __import__(f"archclass.cli.{name}", fromlist=["register"])
        except ModuleNotFoundError as error:
            if error.name != f"archclass.cli.{name}":
                raise
            continue
        module.register(app)


_register()


def main() -> None:
    from archclass.cli.output import stderr

    try:
        app()
    except ArchclassError as error:
        from rich.markup import escape

        stderr.print(f"[bold red]error:[/] {escape(str(error))}", soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        stderr.print("interrupted")
        sys.exit(130)
    except Exception as error:  # a bug: one line by default, the traceback on request
        if os.environ.get("ARCHCLASS_DEBUG"):
            raise
        from rich.markup import escape

        stderr.print(
            "[bold red]internal error:[/] " + escape(f"{type(error).__name__}: {error}") + " "
            "(set ARCHCLASS_DEBUG=1 for the traceback, and please report it)",
            soft_wrap=True,
            markup=True,
        )
        sys.exit(1)
