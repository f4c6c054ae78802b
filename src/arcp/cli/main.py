"""``arcp`` command group and process entry point."""

from __future__ import annotations

import logging

import click

from arcp import __version__
from arcp.cli.cancel import cancel
from arcp.cli.conformance import conformance
from arcp.cli.demo import demo
from arcp.cli.jobs import jobs
from arcp.cli.serve import serve
from arcp.cli.submit import submit
from arcp.cli.tail import tail
from arcp.cli.watch import watch

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="arcp")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """Agent Runtime Control Protocol (ARCP v1.1): run a runtime, submit jobs."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


cli.add_command(serve)
cli.add_command(submit)
cli.add_command(jobs)
cli.add_command(watch)
cli.add_command(cancel)
cli.add_command(tail)
cli.add_command(demo)
cli.add_command(conformance)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="arcp")
