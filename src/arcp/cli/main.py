"""``arcp`` command group and process entry point.

Subcommands are imported only when they run (or their own help is asked for), so
``arcp --help`` loads neither the client nor the runtime.
"""

from __future__ import annotations

import importlib
import logging

import click

from arcp._version import __version__

__all__ = ["COMMANDS", "LazyGroup", "cli", "main"]

COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("arcp.cli.serve", "Run an ARCP runtime until interrupted."),
    "submit": ("arcp.cli.submit", "Submit a job, render its events live, print the result."),
    "jobs": ("arcp.cli.jobs", "List the jobs you may observe."),
    "watch": ("arcp.cli.watch", "Follow a job until it ends (reattaches a detached submit)."),
    "cancel": ("arcp.cli.cancel", "Cancel a job this user submitted (resumes its session)."),
    "tail": ("arcp.cli.tail", "Print every event of every live job as JSON lines."),
    "demo": ("arcp.cli.demo", "A live tour of ARCP against an embedded runtime."),
    "conformance": ("arcp.cli.conformance", "Check a runtime at URL against the v1.1 spec."),
}
"""Subcommand name -> (module defining a command of that name, one-line summary)."""

_VERBOSE_HELP = "More logging on stderr (-v info, -vv debug); also after the subcommand."


def _raise_verbosity(ctx: click.Context, _param: click.Parameter, value: int) -> None:
    """Callback of ``-v``: add ``value`` to the root context's count, reconfigure logging."""
    if not value:
        return
    root = ctx.find_root()
    count = int(root.meta.get("arcp.verbose", 0)) + value
    root.meta["arcp.verbose"] = count
    configure_logging(count)


def configure_logging(verbose: int) -> None:
    """WARNING by default, INFO with ``-v``, DEBUG with ``-vv`` (stderr)."""
    from arcp.cli.logs import install

    install(logging.WARNING - 10 * min(verbose, 2))


def _verbose_option() -> click.Option:
    return click.Option(
        ["-v", "--verbose"],
        count=True,
        expose_value=False,
        is_eager=True,
        callback=_raise_verbosity,
        help=_VERBOSE_HELP,
    )


class LazyGroup(click.Group):
    """A group whose subcommands live in modules imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        command = getattr(importlib.import_module(entry[0]), cmd_name)
        assert isinstance(command, click.Command)
        if not any(p.name == "verbose" for p in command.params):
            command.params.append(_verbose_option())
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from :data:`COMMANDS`, without importing any of them."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary) for name, (_, summary) in COMMANDS.items()])


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="arcp")
@click.option(
    "-v", "--verbose", count=True, expose_value=False, callback=_raise_verbosity, help=_VERBOSE_HELP
)
def cli() -> None:
    """Agent Runtime Control Protocol (ARCP v1.1): run a runtime, submit jobs.

    Exit status: 0 success, 1 the job failed, 2 usage error, 3 refused by the runtime or no
    connection, 130 interrupted.
    """
    root = click.get_current_context().find_root()
    if "arcp.verbose" not in root.meta:
        configure_logging(0)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="arcp")
