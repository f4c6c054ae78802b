"""Live rendering of one job's events (§8.2): a rich display on a terminal, plain lines off it.

On a terminal: a progress bar with rate and ETA (indeterminate without a total; computed from
live events only, never from replayed history), log lines,
tool calls and results printed above it, a budget gauge from ``cost.budget.remaining``
metrics against the lease's ``cost.budget`` caps (§9.6), and a streamed-result counter (§8.4).
Off a terminal: one ``[seq] kind: summary`` line per event, exactly as before.
"""

from __future__ import annotations

import contextlib
import time
from types import TracebackType
from typing import Any, cast

from rich.console import Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from arcp.cli.logs import live_logging
from arcp.cli.options import Output, parse_lease_caps
from arcp.cli.render import describe_event
from arcp.client import Client, JobStream
from arcp_gen.messages import JobEventMessage

__all__ = ["JobView"]

_QUIET = 0.05
"""A pause (seconds) between events that marks the end of replayed history."""
_REPLAY_LIMIT = 2.0
"""Seconds after which events count as live even without such a pause."""

_LEVEL_STYLE = {"debug": "dim", "info": "cyan", "warn": "yellow", "error": "bold red"}


class _RateColumn(ProgressColumn):
    """Units per second, from rich's speed estimate."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text("", style="progress.data.speed")
        units = str(task.fields.get("units") or "")
        return Text(f"{speed:.1f} {units}/s".replace(" /s", "/s"), style="progress.data.speed")


class JobView:
    """Render a job's events; use as a context manager around the event loop."""

    def __init__(
        self,
        out: Output,
        stream: JobStream,
        *,
        title: str | None = None,
        history: bool = False,
        client: Client | None = None,
    ) -> None:
        self.out = out
        self.client = client
        self.replaying = history
        """True while replayed history arrives: no rate or ETA is computed from it."""
        self._started = time.monotonic()
        self._last_arrival: float | None = None
        self._exits = contextlib.ExitStack()
        self.stream = stream
        self.title = title or stream.agent or stream.job_id
        self.events = 0
        self.chunks = 0
        self.chunk_chars = 0
        self.caps = parse_lease_caps(stream.lease) or dict(stream.budget or {})
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=out.console,
            auto_refresh=False,
        )
        self._task: TaskID | None = None
        self._live: Live | None = None
        self._status = ""
        self._has_progress = False

    # -- context manager -------------------------------------------------------------------

    def __enter__(self) -> JobView:
        if self.out.rich and not self.out.quiet:
            self._task = self._progress.add_task(self.title, total=None, units="")
            self._live = Live(
                self,
                console=self.out.console,
                refresh_per_second=12,
                transient=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()
            self._exits.enter_context(live_logging(self.out.console))
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the live display (idempotent); the last frame stays on screen."""
        live, self._live = self._live, None
        self._exits.close()
        if live is not None:
            task = self._task
            if task is not None:
                done = self._progress.tasks[0]
                if done.total is None:  # indeterminate: freeze the bar as finished
                    self._progress.update(
                        task, total=max(done.completed, 1), completed=max(done.completed, 1)
                    )
                self._progress.stop_task(task)
            live.update(self, refresh=True)
            live.stop()

    # -- rendering -------------------------------------------------------------------------

    def __rich__(self) -> RenderableType:
        self._check_replay(time.monotonic())
        parts: list[RenderableType] = []
        if self._has_progress:
            parts.append(self._progress)
        elif self._live is not None:
            parts.append(
                Spinner("dots", Text.from_markup(f"[bold]{escape(self.title)}[/] [dim]running[/]"))
            )
        else:
            parts.append(Text.from_markup(f"  [bold]{escape(self.title)}[/]"))
        budget = self._budget_table()
        if budget is not None:
            parts.append(budget)
        if self.chunks:
            parts.append(
                Text.from_markup(
                    f"  [magenta]result stream[/] {self.chunks} chunks, {self.chunk_chars:,} chars"
                )
            )
        tail = f"{self.events} events" + (f" · {self._status}" if self._status else "")
        parts.append(Text(f"  {tail}", style="dim"))
        if self.client is not None and self.client.reconnecting:
            parts.append(Text("  reconnecting… (resuming the session, §6.3)", style="yellow"))
        return Group(*parts)

    @property
    def rate(self) -> float | None:
        """Progress units per second, from live events only; None until it is known."""
        if self._task is None or not self._has_progress:
            return None
        return self._progress.tasks[0].speed

    def _check_replay(self, now: float) -> None:
        """Replayed history arrives back to back; the first quiet moment (nothing waiting, no
        event for 50 ms; or 2 s) ends it, and the rate and ETA start from the events after."""
        if not self.replaying:
            return
        last = self._last_arrival
        quiet = last is not None and now - last >= _QUIET and not self.stream.backlog
        if quiet or now - self._started >= _REPLAY_LIMIT:
            self.replaying = False
            self._forget_speed()

    def _forget_speed(self) -> None:
        task = self._task
        if task is not None:
            done = self._progress.tasks[0]
            completed = done.completed
            self._progress.reset(task, total=done.total)
            self._progress.update(task, completed=completed)  # one sample: no speed yet

    def _budget_table(self) -> Table | None:
        remaining = self.stream.budget or {}
        currencies = sorted(set(self.caps) | set(remaining))
        if not currencies:
            return None
        table = Table.grid(padding=(0, 1))
        for currency in currencies:
            cap = self.caps.get(currency)
            left = remaining.get(currency, cap if cap is not None else 0.0)
            total = cap if cap else max(left, 1e-9)
            style = "green" if left > total * 0.25 else "red"
            bar = ProgressBar(total=total, completed=left, width=30, complete_style=style)
            cap_text = f" / {cap:.2f}" if cap is not None else ""
            table.add_row(
                Text("  budget", style="bold"),
                Text(currency),
                bar,
                Text(f"{left:.2f}{cap_text} left", style=style),
            )
        return table

    def note(self, markup: str, plain: str | None = None) -> None:
        """A status note (e.g. "cancelling…"): above the display, or a plain line."""
        self._status = Text.from_markup(markup).plain
        if self._live is not None:
            self._live.console.print(markup)
            self._live.refresh()
        else:
            self.out.line(markup, plain)

    def event(self, event: JobEventMessage) -> None:
        """Render one ``job.event``."""
        self.events += 1
        now = time.monotonic()
        self._check_replay(now)
        self._last_arrival = now
        if self._live is None:
            if self.out.rich or self.out.quiet:
                return
            self.out.line("", describe_event(event))
            return
        payload = event.payload
        kind = payload.kind
        raw = payload.body
        body: dict[str, Any] = raw if isinstance(raw, dict) else raw.model_dump(exclude_none=True)
        seq = f"[dim]{event.event_seq:>4}[/]"
        console = self._live.console
        if kind == "progress":
            self._on_progress(body)
        elif kind == "log":
            level = str(body.get("level"))
            style = _LEVEL_STYLE.get(level, "")
            console.print(
                f"{seq} [{style}]{level:<5}[/] {escape(str(body.get('message')))}"
                if style
                else f"{seq} {level:<5} {escape(str(body.get('message')))}"
            )
        elif kind == "tool_call":
            args = body.get("args")
            console.print(
                f"{seq} [blue]→ {escape(str(body.get('tool')))}[/]"
                + (f" [dim]{escape(_short(args))}[/]" if args is not None else "")
            )
        elif kind == "tool_result":
            error = body.get("error")
            if error:
                code: Any = (
                    cast(dict[str, Any], error).get("code") if isinstance(error, dict) else error
                )
                console.print(f"{seq} [red]← {escape(str(code))}[/] [dim]{body.get('call_id')}[/]")
            else:
                console.print(f"{seq} [green]← ok[/] [dim]{escape(_short(body.get('result')))}[/]")
        elif kind == "metric":
            if body.get("name") != "cost.budget.remaining":
                unit = body.get("unit") or ""
                console.print(
                    f"{seq} [dim]metric[/] {escape(str(body.get('name')))} = "
                    f"[bold]{body.get('value')}[/] {escape(str(unit))}"
                )
        elif kind == "result_chunk":
            self.chunks += 1
            self.chunk_chars += len(str(body.get("data") or ""))
        elif kind == "status":
            message = body.get("message")
            self._status = f"{body.get('phase')}" + (f": {message}" if message else "")
        else:
            console.print(f"{seq} {escape(describe_event(event))}")
        self._live.refresh()

    def _on_progress(self, body: dict[str, Any]) -> None:
        task = self._task
        if task is None:
            return
        self._has_progress = True
        total = body.get("total")
        message = body.get("message")
        self._progress.update(
            task,
            total=float(total) if total is not None else None,
            completed=float(body.get("current") or 0),
            units=str(body.get("units") or ""),
        )
        if self.replaying:
            self._forget_speed()
        if message:
            self._status = str(message)


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
