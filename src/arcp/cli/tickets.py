"""Detached jobs: the session tickets ``arcp submit --detach`` leaves for ``arcp cancel`` and
``arcp watch`` (§6.3, §7.4, §7.7).

One file per job under ``$XDG_STATE_HOME/arcp/sessions/`` (``~/.local/state`` by default): the
runtime URL and the :class:`~arcp.client.SessionTicket` of the session that submitted it. The
directory is ``0700`` and each file ``0600``, written atomically; the resume token inside is
never printed or logged. A ticket is removed once its job is known to have ended.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import orjson

from arcp.client import Client, SessionTicket

__all__ = ["Detached", "forget", "load", "park", "save", "sessions_dir"]

_SAFE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


@dataclass(frozen=True, slots=True)
class Detached:
    """Where a detached job's session lives, and how to continue it."""

    url: str
    ticket: SessionTicket


def sessions_dir() -> Path:
    """``$XDG_STATE_HOME/arcp/sessions`` (not created)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "arcp" / "sessions"


def _path(job_id: str) -> Path | None:
    return sessions_dir() / f"{job_id}.json" if _SAFE_ID.match(job_id) else None


def save(job_id: str, url: str, ticket: SessionTicket) -> Path:
    """Store ``ticket`` for ``job_id`` (owner-only; replaces an older one atomically)."""
    path = _path(job_id)
    if path is None:
        raise ValueError(f"unusable job id {job_id!r}")
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    data = orjson.dumps({"url": url, "ticket": ticket.to_json()})
    temp = folder / f".{job_id}.{os.getpid()}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
    return path


def load(job_id: str) -> Detached | None:
    """The stored session of ``job_id``, or None (none stored, unreadable, or readable by
    others: a ticket is only trusted while it is private)."""
    path = _path(job_id)
    if path is None:
        return None
    try:
        info = path.stat()
        if stat.S_IMODE(info.st_mode) & 0o077 or info.st_uid != os.getuid():
            return None
        data = orjson.loads(path.read_bytes())
        return Detached(str(data["url"]), SessionTicket.from_json(data["ticket"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def forget(job_id: str) -> None:
    """Remove the stored session of ``job_id`` (nothing if there is none)."""
    path = _path(job_id)
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def park(client: Client, job_id: str, url: str) -> None:
    """Before a resumed client leaves: keep its fresh ticket while ``job_id`` runs (the token
    rotated on the welcome, §6.3), or drop the ticket once the job ended."""
    handle = client.job(job_id)
    if handle is None or handle.done:
        forget(job_id)
    else:
        save(job_id, url, client.session_ticket())
