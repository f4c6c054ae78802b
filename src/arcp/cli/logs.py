"""Logging for the ``arcp`` command: plain lines on stderr, or into a running live display.

While a rich live display runs (``arcp submit``, ``arcp watch``), a log line printed straight
to stderr would tear the display; :func:`live_logging` routes records through rich's
``RichHandler`` on the display's console instead, and tells the display about them.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["CliLogHandler", "install", "live_logging"]

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class CliLogHandler(logging.Handler):
    """stderr lines, or rich's handler on a live display's console while one runs."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter(_FORMAT))
        self._live: logging.Handler | None = None
        self._listener: Callable[[logging.LogRecord], None] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        listener = self._listener
        if listener is not None:
            listener(record)
        live = self._live
        if live is not None:
            live.handle(record)
            return
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # pragma: no cover - stderr gone
            self.handleError(record)

    @contextlib.contextmanager
    def routed(
        self, console: Console, listener: Callable[[logging.LogRecord], None] | None
    ) -> Generator[None]:
        """Send records to ``console`` (and ``listener``) while inside."""
        from rich.logging import RichHandler

        previous = self._live, self._listener
        self._live = RichHandler(console=console, show_path=False, rich_tracebacks=False)
        self._listener = listener
        try:
            yield
        finally:
            self._live, self._listener = previous


HANDLER = CliLogHandler()
"""The one handler the command line installs on the root logger."""


def install(level: int) -> None:
    """Log at ``level`` and above through :data:`HANDLER` (idempotent)."""
    root = logging.getLogger()
    if HANDLER not in root.handlers:
        root.addHandler(HANDLER)
    root.setLevel(level)


@contextlib.contextmanager
def live_logging(
    console: Console, listener: Callable[[logging.LogRecord], None] | None = None
) -> Generator[None]:
    """Route log records into ``console``'s live display while inside."""
    with HANDLER.routed(console, listener):
        yield
