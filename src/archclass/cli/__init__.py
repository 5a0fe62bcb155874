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
    for name in (
        "contrib_commands", "cost_commands", "db_commands", "probe_commands", "recall_commands", "render_commands"
    ):
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

    try:  # recent Typer vendors click; older releases use the click package
        from typer._click import exceptions as click
    except ImportError:
        from click import exceptions as click  # type: ignore[no-redef]

    _ABORT = tuple(t for t in (getattr(click, "Abort", None),) if t is not None)
    try:
        code = app(standalone_mode=False)
    except click.UsageError as error:
        # One line, not Typer's boxed panel: what was wrong and where to read more.
        from rich.markup import escape

        command = error.ctx.command_path if error.ctx else "archclass"
        stderr.print(
            f"[bold red]usage error:[/] {escape(error.format_message())} (see '{command} --help')", soft_wrap=True
        )
        sys.exit(2)
    except click.ClickException as error:
        stderr.print(f"error: {error.format_message()}", markup=False, soft_wrap=True)
        sys.exit(error.exit_code)
    except _ABORT:
        stderr.print("aborted", markup=False)
        sys.exit(1)
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
    sys.exit(code if isinstance(code, int) else 0)
