"""``arcp serve``: run the reference runtime over WebSocket or stdio (§4)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from pathlib import Path
from urllib.parse import urlsplit

import click

from arcp._version import __version__
from arcp.cli.plugins import agents_option, load_agents
from arcp.demo import register_demo_agents
from arcp.runtime import Runtime
from arcp.runtime.credentials import InProcessProvisioner
from arcp.runtime.policy import Policy, PolicyError, load_policy
from arcp.store import StoreError, store_from_address
from arcp.transport import stdio_transport

__all__ = ["Banner", "CannotStart", "default_store_address", "parse_tokens", "serve"]


def default_store_address() -> str:
    """``sqlite:`` under ``$XDG_STATE_HOME/arcp`` (``~/.local/state/arcp`` by default)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return f"sqlite:{Path(state) / 'arcp' / 'runtime.sqlite3'}"


def parse_tokens(values: tuple[str, ...]) -> dict[str, str] | None:
    """``TOKEN=PRINCIPAL`` pairs -> mapping; a bare ``TOKEN`` maps to principal ``default``.

    No ``--token`` at all means development mode: any token is accepted (as ``anonymous``).
    """
    if not values:
        return None
    tokens: dict[str, str] = {}
    for value in values:
        token, sep, principal = value.partition("=")
        if not token or (sep and not principal):
            raise click.BadParameter("expected TOKEN or TOKEN=PRINCIPAL", param_hint="--token")
        tokens[token] = principal if sep else "default"
    return tokens


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    default=7777,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="TCP port to listen on (0: any free port, printed at start).",
)
@click.option("--path", default="/arcp", show_default=True, help="WebSocket URL path.")
@click.option(
    "--token",
    "tokens",
    multiple=True,
    metavar="TOKEN[=PRINCIPAL]",
    help="Accept this bearer token (repeatable). Without any, every token is accepted.",
)
@click.option(
    "--demo",
    is_flag=True,
    help="Register the demo agents; enable model.use and the reference credential provisioner.",
)
@click.option(
    "--model-policy",
    type=click.Choice(["require", "allow"]),
    default=None,
    help="Enable model.use (§9.7): without a grant, forbid every model or allow any.",
)
@click.option("--stdio", is_flag=True, help="Serve one session over stdin/stdout (NDJSON).")
@click.option(
    "--resume-window",
    default=600,
    show_default=True,
    type=click.IntRange(1),
    metavar="SECONDS",
    help="How long a disconnected session stays resumable (§6.3), in seconds.",
)
@click.option(
    "--heartbeat-interval",
    default=30,
    show_default=True,
    type=click.IntRange(1),
    metavar="SECONDS",
    help="Seconds between heartbeats on an idle connection (§6.4).",
)
@click.option(
    "--high-water",
    default=50_000,
    show_default=True,
    type=click.IntRange(1),
    metavar="EVENTS",
    help="Flow control (§13.2): events a session's client may be behind (unsent, or "
    "unacknowledged with ack) before the agents feeding it wait; docs/sessions.md.",
)
@click.option(
    "--buffer-limit",
    default=100_000,
    show_default=True,
    type=click.IntRange(1),
    metavar="EVENTS",
    help="Events kept per session (already sent, for resume) and per job log (§6.3, §7.6).",
)
@click.option(
    "--store",
    "store_address",
    envvar="ARCP_STORE",
    metavar="memory|sqlite:PATH|postgresql://...",
    help="Where sessions, events and jobs are kept (env ARCP_STORE). Default: a SQLite file "
    "under $XDG_STATE_HOME/arcp over WebSocket, memory with --stdio.",
)
@click.option(
    "--node-id",
    metavar="NAME",
    help="This runtime's name among several sharing a PostgreSQL store; keep it stable "
    "across restarts. Default: HOSTNAME:PORT.",
)
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Limits and per-principal authority ceilings, TOML (*.toml) or JSON; see "
    "docs/deployment.md.",
)
@agents_option
def serve(
    host: str,
    port: int,
    path: str,
    tokens: tuple[str, ...],
    demo: bool,
    stdio: bool,
    resume_window: int,
    heartbeat_interval: int,
    high_water: int,
    buffer_limit: int,
    model_policy: str | None,
    store_address: str | None,
    node_id: str | None,
    policy_file: Path | None,
    agent_specs: tuple[str, ...],
) -> None:
    """Run an ARCP runtime until interrupted (Ctrl-C shuts down gracefully)."""
    try:
        host_policy = load_policy(policy_file) if policy_file is not None else Policy()
    except PolicyError as err:
        raise click.BadParameter(str(err), param_hint="--policy") from None
    if store_address is None:
        store_address = "memory" if stdio else default_store_address()
    try:
        # `memory` in one process is what a runtime without a store already is.
        store = (
            None
            if store_address == "memory"
            else store_from_address(store_address, node_id or f"{socket.gethostname()}:{port}")
        )
    except StoreError as err:
        raise click.BadParameter(str(err), param_hint="--store") from None
    location = _describe_store(store_address)
    policy = "require" if model_policy == "require" or (demo and model_policy is None) else None
    runtime = Runtime(
        name="arcp-python",
        version=__version__,
        tokens=parse_tokens(tokens),
        resume_window_sec=resume_window,
        heartbeat_interval_sec=heartbeat_interval,
        high_water=high_water,
        buffer_limit=buffer_limit,
        model_policy="allow" if model_policy == "allow" else policy,
        provisioner=InProcessProvisioner() if demo else None,
        store=store,
        limits=host_policy.limits,
        ceilings=host_policy.ceilings,
    )
    if demo:
        register_demo_agents(runtime)
    load_agents(runtime, agent_specs)
    banner = Banner(location, any_token=not tokens, demo=demo)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                _serve_stdio(runtime) if stdio else _serve_ws(runtime, host, port, path, banner)
            )
    except StoreError as err:
        raise CannotStart(_store_message(err, store_address)) from None


class CannotStart(click.ClickException):
    """The runtime could not start (port busy, store held elsewhere): exit status 3."""

    exit_code = 3


def _store_message(err: StoreError, address: str) -> str:
    """A store failure, with the way out when another runtime holds the file."""
    text = f"store: {err}"
    if address.startswith("sqlite:"):
        text += " (hint: --store memory, or another file: --store sqlite:PATH)"
    return text


def _describe_store(address: str) -> str:
    """Where state is kept, for the banner (a database URL without its password)."""
    if address == "memory":
        return "in memory (lost when the runtime stops)"
    if address.startswith("sqlite:"):
        return address.removeprefix("sqlite:")
    parts = urlsplit(address)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class Banner:
    """What ``arcp serve`` says once it listens: URL, state, who is let in (no token values)."""

    def __init__(self, store: str, *, any_token: bool, demo: bool) -> None:
        self.store = store
        self.any_token = any_token
        self.demo = demo

    def lines(self, url: str) -> list[str]:
        """The banner; the first line is the one scripts wait for."""
        auth = (
            "any bearer token is accepted (development mode; pass --token to restrict)"
            if self.any_token
            else "only the --token values given are accepted"
        )
        lines = [f"arcp runtime listening on {url}", f"  state: {self.store}", f"  auth:  {auth}"]
        if self.demo:
            lines.append("  agents: the demo agents (try: arcp submit chatty)")
        return lines


async def _serve_ws(runtime: Runtime, host: str, port: int, path: str, banner: Banner) -> None:
    stopped = _stop_on_signals()  # before "listening", so an early SIGTERM is graceful too
    try:
        server = await runtime.serve_websocket(host=host, port=port, path=path)
    except OSError as err:
        await runtime.aclose()
        reason = err.strerror or str(err)
        raise CannotStart(
            f"cannot listen on {host}:{port}: {reason} "
            "(hint: another `arcp serve` may be running; choose another --port, or 0 for any)"
        ) from None
    for line in banner.lines(server.url):
        click.echo(line, err=True)
    await stopped.wait()
    click.echo("shutting down", err=True)
    await runtime.aclose()


async def _serve_stdio(runtime: Runtime) -> None:
    # stdout carries protocol frames only; everything human goes to stderr.
    stopped = _stop_on_signals()
    transport = await stdio_transport()
    serving = asyncio.ensure_future(runtime.serve(transport))
    stop = asyncio.ensure_future(stopped.wait())
    await asyncio.wait({serving, stop}, return_when=asyncio.FIRST_COMPLETED)
    stop.cancel()
    await runtime.aclose()
    with contextlib.suppress(asyncio.CancelledError):
        await serving


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM (graceful shutdown)."""
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stopped.set)
    return stopped
