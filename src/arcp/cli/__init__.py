"""The ``arcp`` command line: ``arcp serve`` and ``arcp submit``."""

from arcp.cli.main import cli, main

__all__ = ["cli", "main"]
