"""What every ``arcp`` command shares: connection options, output, errors and exit codes.

Human output goes to stderr through :class:`Output` (rich on a terminal, plain lines when
piped or with ``NO_COLOR``/``TERM=dumb``); stdout carries only results and ``--json``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click
import orjson
from rich.console import Console
from rich.markup import escape

from arcp.client import Client, ConnectionLostError
from arcp.transport.base import TransportClosed
from arcp_gen.errors import ARCPError, ErrorCode

__all__ = [
    "DEFAULT_URL",
    "EXIT_INTERRUPTED",
    "EXIT_JOB_FAILED",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "Output",
    "connect",
    "connection_options",
    "dump_json",
    "hint_for",
    "json_option",
    "normalize_url",
    "output_option",
    "parse_lease_caps",
    "report_error",
    "run_async",
    "stdout_is_rich",
    "url_option",
]

EXIT_OK = 0
"""The command (and its job) succeeded."""
EXIT_JOB_FAILED = 1
"""The job ended with ``job.error`` (failed, cancelled, timed out)."""
EXIT_USAGE = 2
"""Bad command line (click's own code)."""
EXIT_REFUSED = 3
"""The runtime refused the request, or the connection failed."""
EXIT_INTERRUPTED = 130
"""Interrupted with Ctrl-C before an outcome was known."""

DEFAULT_URL = "ws://127.0.0.1:7777/arcp"

_SCHEMES = {"ws": "ws", "wss": "wss", "http": "ws", "https": "wss"}

F = TypeVar("F", bound=Callable[..., Any])


def connection_options(fn: F) -> F:
    """``--url`` / ``--token`` (``ARCP_URL`` / ``ARCP_TOKEN``) and ``--json``."""
    fn = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(fn)
    fn = click.option(
        "--token",
        envvar="ARCP_TOKEN",
        default=None,
        show_envvar=True,
        help="Bearer token (never printed).",
    )(fn)
    return click.option(
        "--url",
        envvar="ARCP_URL",
        default=DEFAULT_URL,
        show_default=True,
        show_envvar=True,
        callback=url_option,
        help="Runtime URL: ws:// or wss:// (http:// and https:// are read as ws:// and wss://).",
    )(fn)


def normalize_url(value: str) -> str:
    """A runtime URL as ``ws://`` or ``wss://``; ``ValueError`` saying why if it is not one."""
    text = value.strip()
    scheme, sep, rest = text.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in _SCHEMES:
        raise ValueError(f"{value!r} is not a URL; expected ws://HOST:PORT/PATH")
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError for a bad port
    except ValueError:
        raise ValueError(f"{value!r} has an invalid port") from None
    if not parts.hostname:
        raise ValueError(f"{value!r} names no host; expected ws://HOST:PORT/PATH")
    del port
    return _SCHEMES[scheme] + "://" + rest


def url_option(_ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Click callback for ``--url``: :func:`normalize_url`, a usage error (exit 2) if bad."""
    try:
        return normalize_url(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param=param) from None


def output_option(fn: F) -> F:
    """``-o/--output FILE``: where the job's result goes instead of stdout."""
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, writable=True, path_type=Path),
        default=None,
        help="Write the result here instead of stdout (bytes for base64 results).",
    )(fn)


def json_option(_ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """Click callback: the option's value as JSON; ``@PATH`` reads a file, ``-`` stdin."""
    if value is None:
        return None
    text = value
    if value == "-":
        text = sys.stdin.read()
    elif value.startswith("@"):
        try:
            text = Path(value[1:]).read_text()
        except OSError as exc:
            raise click.BadParameter(
                f"cannot read {value[1:]}: {exc.strerror}", param=param
            ) from None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise click.BadParameter(
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}", param=param
        ) from None


def dump_json(value: Any) -> None:
    """One JSON document on stdout."""
    click.echo(orjson.dumps(value, default=str).decode())


def _plain_wanted(stream: Any) -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return True
    isatty = getattr(stream, "isatty", None)
    return not (callable(isatty) and isatty())


def stdout_is_rich() -> bool:
    """True when stdout is a colour-capable terminal (tables, pretty JSON)."""
    return not _plain_wanted(sys.stdout)


class Output:
    """Human output on stderr: rich on a terminal, plain lines otherwise."""

    def __init__(
        self, *, quiet: bool = False, console: Console | None = None, rich: bool | None = None
    ) -> None:
        self.rich = not _plain_wanted(sys.stderr) if rich is None else rich
        self.quiet = quiet
        self.console = console or Console(stderr=True, highlight=False)

    def line(self, markup: str, plain: str | None = None) -> None:
        """Print ``markup`` (rich) or ``plain`` (defaults to the markup's text)."""
        if self.quiet:
            return
        if self.rich:
            self.console.print(markup)
        else:
            click.echo(plain if plain is not None else Console().render_str(markup).plain, err=True)

    def error(self, code: str, message: str, hint: str | None) -> None:
        """``error: CODE: message`` plus an indented hint (always printed)."""
        if self.rich:
            self.console.print(f"[bold red]error[/] [red]{escape(code)}[/]: {escape(message)}")
            if hint:
                self.console.print(f"  [yellow]→[/] {escape(hint)}")
        else:
            click.echo(f"error: {code}: {message}", err=True)
            if hint:
                click.echo(f"  hint: {hint}", err=True)


def hint_for(
    exc: BaseException, *, url: str, client: Client | None = None, action: str = ""
) -> str | None:
    """What to do about ``exc`` (names the flag, env var or command to use)."""
    if isinstance(exc, TransportClosed | OSError | ConnectionLostError):
        return f"is `arcp serve` running at {url}? (set --url or ARCP_URL)"
    if not isinstance(exc, ARCPError):
        return None
    code = exc.code
    if code is ErrorCode.UNAUTHENTICATED:
        return "check --token / ARCP_TOKEN"
    if code in (ErrorCode.AGENT_NOT_AVAILABLE, ErrorCode.AGENT_VERSION_NOT_AVAILABLE):
        if client is None or not client.agents:
            return "the runtime offers no agents (start it with `arcp serve --demo`?)"
        names = ", ".join(
            f"{a.name}@{'|'.join(a.versions or [])}"
            if a.versions and len(a.versions) > 1
            else a.name
            for a in client.agents
        )
        return f"available agents: {names}"
    if code is ErrorCode.JOB_NOT_FOUND:
        return "list the jobs you can see with `arcp jobs`"
    if code is ErrorCode.PERMISSION_DENIED:
        if action == "cancel":
            return (
                "only the session that submitted a job may cancel it (§7.4): press Ctrl-C "
                "in its `arcp submit`, or start it with `arcp submit --detach` to cancel later"
            )
        return "the lease does not cover this operation: widen --lease"
    if code is ErrorCode.BUDGET_EXHAUSTED:
        return 'the job spent its budget: raise "cost.budget" in --lease'
    if code is ErrorCode.LEASE_EXPIRED:
        return "the lease expired: submit again with a later expiry"
    if code is ErrorCode.TIMEOUT:
        return "the job ran out of time: raise --max-runtime"
    if code is ErrorCode.INVALID_REQUEST:
        return "check --input / --lease (JSON) and the command's options"
    if code is ErrorCode.DUPLICATE_KEY:
        return "this --idempotency-key was used for a different request"
    if code is ErrorCode.RESUME_WINDOW_EXPIRED:
        return (
            "the runtime no longer holds the submitting session (it keeps one for its "
            "--resume-window after the last client left)"
        )
    if code is ErrorCode.CANCELLED:
        return None
    return "retry later" if exc.retryable else None


def report_error(
    out: Output,
    exc: BaseException,
    *,
    url: str,
    as_json: bool,
    status: int,
    client: Client | None = None,
    action: str = "",
    extra: dict[str, Any] | None = None,
) -> int:
    """Print ``exc`` with its spec code and a hint (JSON on stdout with ``--json``)."""
    hint = hint_for(exc, url=url, client=client, action=action)
    if isinstance(exc, ARCPError):
        code, message = exc.code.value, exc.message
        payload = exc.to_payload()
    else:
        code = "CONNECTION_FAILED"
        text = str(exc)
        message = text if url in text or isinstance(exc, ConnectionLostError) else f"{url}: {text}"
        payload = {"code": code, "message": message, "retryable": True}
    out.error(code, message, hint)
    if as_json:
        dump_json({**(extra or {}), **payload, **({"hint": hint} if hint else {})})
    return status


async def connect(url: str, token: str | None, **options: Any) -> Client:
    """``Client.connect`` with a short handshake timeout (errors propagate)."""
    options.setdefault("connect_timeout", 10.0)
    return await Client.connect(url, token=token, **options)


def run_async(main: Coroutine[Any, Any, int]) -> None:
    """Run a command's coroutine and exit with its status (130 on a stray Ctrl-C)."""
    try:
        code = asyncio.run(main)
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    sys.exit(code)


def parse_lease_caps(lease: dict[str, Any] | None) -> dict[str, float]:
    """``{"cost.budget": ["USD:1.00"]}`` -> ``{"USD": 1.0}`` (§9.6)."""
    caps: dict[str, float] = {}
    raw: Sequence[Any] = (lease or {}).get("cost.budget") or ()
    for item in raw:
        currency, _, amount = str(item).partition(":")
        try:
            caps[currency] = float(amount)
        except ValueError:
            continue
    return caps
