"""The archclass command line: a thin Typer layer over the library.

Exit codes: 0 success; 1 a data or validation error (bad registry entry, unknown architecture,
failed check, a missing optional dependency); 2 a usage error (unknown option, bad value). Data goes
to stdout, diagnostics to stderr.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from archclass import __version__
from archclass.cli import (
    contrib_commands,
    cost_commands,
    db_commands,
    probe_commands,
    readme_commands,
    recall_commands,
    registry_commands,
    render_commands,
)
from archclass.errors import ArchclassError
from archclass.keyvalue import KeyValueError
from archclass.number_list import NumberListError

HELP_OPTION_NAMES = ["-h", "--help"]
app = typer.Typer(
    name="archclass",
    help="Classify long-context sequence architectures on the Efficiency-Compactness-Recall triangle.",
    epilog="Example: archclass classify retnet",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": HELP_OPTION_NAMES},
)


def _print_version(value: bool) -> None:
    if value:
        print(f"archclass {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    pass


_COMMANDS = (registry_commands, contrib_commands, cost_commands, db_commands, probe_commands, recall_commands)
for _module in (*_COMMANDS, render_commands, readme_commands):
    _module.register(app)


def click_command() -> Any:
    """The click command tree behind `app`, every command prepared by `_prepare`."""
    command = typer.main.get_command(app)
    _prepare(command)
    return command


def _prepare(command: Any) -> None:
    """Help readable at 80 columns (paragraphs rewrapped, no '<bool>' after flags, repeatable options named),
    and a malformed KEY=VALUE item or number list a usage error of its option, wherever a command parses one."""
    if command.callback is not None:
        command.callback = _key_value_usage_errors(command.callback)
    command.rich_markup_mode = "markdown"
    help_option = command.get_help_option(command.context_class(command, help_option_names=HELP_OPTION_NAMES))
    for param in [*command.params, help_option]:
        if param is None:
            continue
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
        elif getattr(param, "multiple", False) and param.metavar is None:
            param.metavar = max(param.opts, key=len).lstrip("-").upper()
    for sub in getattr(command, "commands", {}).values():
        _prepare(sub)


def _key_value_usage_errors(callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except (KeyValueError, NumberListError) as error:
            raise typer.BadParameter(str(error), param_hint=f"'{error.option}'") from None

    return run


def main(argv: list[str] | None = None) -> None:
    try:  # recent Typer vendors click; older releases use the click package
        from typer._click import exceptions as click
    except ImportError:
        from click import exceptions as click  # type: ignore[no-redef]

    try:
        code = click_command().main(args=argv, prog_name="archclass", standalone_mode=False)
    except click.UsageError as error:
        command = error.ctx.command_path if error.ctx else "archclass"  # one line, not Typer's boxed panel
        _error_line(f"usage error: {error.format_message()} (see '{command} --help')")
        sys.exit(2)
    except click.ClickException as error:
        _error_line(error.format_message())
        sys.exit(error.exit_code)
    except typer.Abort:
        _error_line("aborted")
        sys.exit(1)
    except ArchclassError as error:
        _error_line(str(error))
        sys.exit(1)
    except KeyboardInterrupt:
        _error_line("interrupted")
        sys.exit(130)
    except Exception as error:  # a missing extra, or a bug: one line by default, the traceback on request
        if os.environ.get("ARCHCLASS_DEBUG"):
            raise
        _error_line(_unexpected(error))
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _unexpected(error: Exception) -> str:
    if isinstance(error, ModuleNotFoundError):
        from archclass.extras import install_hint

        hint = install_hint(error.name or "")
        if hint:
            return hint
    hint = "set ARCHCLASS_DEBUG=1 for the traceback, and please report it"
    return f"internal error: {type(error).__name__}: {error} ({hint})"


def _error_line(message: str) -> None:
    """MESSAGE as one line on stderr, marked as an error unless it already says which kind."""
    from archclass.cli.output import note

    note(message if message.startswith(("error:", "internal error:", "usage error:")) else f"error: {message}")
