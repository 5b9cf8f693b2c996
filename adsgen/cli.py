"""The ``adsgen`` command line (typer + rich).

Each area of the toolkit owns a ``commands`` module with ``register(app, bench_app)`` that adds its
commands; this file only assembles them, so areas do not edit each other's code. Commands import heavy
libraries (pgmpy, torch, ray, carla) inside their functions, so ``adsgen --help`` stays fast.

User errors (``adsgen.errors.AdsgenError``) print one line and exit with code 2, never a traceback.
"""

from __future__ import annotations

import errno
import importlib
import sqlite3
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from adsgen import __version__
from adsgen.cli_help import apply_placeholders
from adsgen.errors import AdsgenError
from adsgen.jsonout import check_json_target, json_annotation, tables_to_stderr, write_json

app = typer.Typer(
    name="adsgen",
    help="Find driving scenarios in which an ADS fails, grounded in real crash statistics.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # help texts are plain: units such as "[s]" must not be read as markup
)
bench_app = typer.Typer(help="Benchmarks: print figures and ratios against a baseline run side by side.",
                        no_args_is_help=True)
app.add_typer(bench_app, name="bench")

_COMMAND_MODULES = (
    "adsgen.crashdata.commands",
    "adsgen.cbn.commands",
    "adsgen.sim.commands",
    "adsgen.export.commands",
    "adsgen.search.commands",
    "adsgen.campaign.commands",
    "adsgen.drivelm.commands",
    "adsgen.drivelm.vlm.commands",
    "carla_bridge.commands",
)


def _register_all() -> None:
    for module_name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # that area has no commands yet
                continue
            raise
        module.register(app, bench_app)


_register_all()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"adsgen {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_version,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Find driving scenarios in which an ADS fails, grounded in real crash statistics."""


@app.command()
def doctor(
    carla_host: Annotated[str | None, typer.Option(
        "--carla-host", metavar="HOST[:PORT]",
        help="Also check this CARLA server (reachability and versions; no scenario is run).")] = None,
    json_out: Annotated[str | None, json_annotation("the checks")] = None,
) -> None:
    """Check this machine against the tested set: Python, package versions, torch build, CARLA, Chromium,
    cores and free disk. Exit 1 when a core requirement is missing."""
    from adsgen.doctor import run_doctor

    host, port = (None, 2000)
    if carla_host is not None:
        from carla_bridge.connection import parse_host_port

        host, port = parse_host_port(carla_host)
    check_json_target(json_out)
    rep = run_doctor(carla_host=host, carla_port=port)
    write_json(json_out, rep.to_dict())
    with tables_to_stderr(json_out):
        from rich.table import Table

        table = Table("check", "status", "detail", title="adsgen doctor")
        colour = {"ok": "green", "warn": "yellow", "fail": "red", "skip": "dim"}
        for row in rep.rows:
            table.add_row(Text(row.check), Text(row.status, style=colour[row.status]), Text(row.detail))
        Console().print(table)
    if not rep.ok:
        raise typer.Exit(1)

err_console = Console(stderr=True)


def command() -> typer.core.TyperGroup:
    """The click command tree of ``adsgen`` with the help conventions applied (adsgen.cli_help)."""
    root = typer.main.get_command(app)
    apply_placeholders(root)
    return root  # type: ignore[return-value]


def _usage_errors() -> tuple[type[Exception], ...]:
    """Click's usage-error base class: click's own, and typer's vendored copy (typer >= 0.24 raises
    ``typer._click`` exceptions, which are not click's)."""

    classes: list[type[Exception]] = []
    for module in ("click.exceptions", "typer._click.exceptions"):
        try:
            classes.append(importlib.import_module(module).ClickException)
        except (ImportError, AttributeError):
            continue
    return tuple(classes)


_ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EISDIR,
                       errno.ENOTDIR, errno.ENAMETOOLONG, errno.EFBIG}
"""OSError numbers that are the user's environment, not a bug: reported in one line, exit 2."""

_MAX_LINE = 1000  # characters of an error line shown; longer ones keep their start and end


def one_line(message: str) -> str:
    """A message as one terminal-safe line (adsgen.safeload.printable), at most _MAX_LINE characters."""
    from adsgen.safeload import printable

    return printable(message.strip(), _MAX_LINE)


def _print_error(message: str) -> None:
    # plain text, not markup: it may hold brackets such as "adsgen[carla]" that markup would eat
    err_console.print(Text("error: ", style="bold red") + Text(one_line(message)), highlight=False, soft_wrap=True)


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0911 -- one return per kind of failure and its exit code
    """Entry point. Returns the exit code (also used by tests)."""
    try:
        # without standalone mode click returns typer.Exit's code instead of exiting
        rv = command()(args=argv, prog_name="adsgen", standalone_mode=False)
    except AdsgenError as exc:
        _print_error(str(exc))
        return exc.exit_code
    except OSError as exc:  # the environment refused a file operation: disk full, read-only, permissions
        if exc.errno not in _ENVIRONMENT_ERRNOS:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        hint = "; free some space and rerun" if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) else ""
        _print_error(f"{where}{exc.strerror or exc}{hint}")
        return 2
    except sqlite3.OperationalError as exc:  # a campaign database the environment will not let us write
        text = str(exc)
        if not any(k in text for k in ("disk is full", "readonly database", "disk I/O error", "unable to open")):
            raise
        hint = ("finished runs are committed; free some space (or fix the disk) and rerun the same command to "
                "resume" if "full" in text or "I/O" in text else
                "is its folder writable? (work on a copy in a writable folder)")
        _print_error(f"campaign database: {text}; {hint}")
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("aborted")
        return 130
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except _usage_errors() as exc:  # bad command, option or argument: click's message in one line, exit 2
        usage: Any = exc  # click's or typer's vendored ClickException: exit_code, format_message(), ctx
        ctx = getattr(usage, "ctx", None)
        hint = f" (see {ctx.command_path} --help)" if ctx is not None and usage.exit_code == 2 else ""
        _print_error(usage.format_message() + hint)
        return int(usage.exit_code)
    return rv if isinstance(rv, int) else 0


def entry() -> None:  # console script
    sys.exit(main())


if __name__ == "__main__":
    entry()
