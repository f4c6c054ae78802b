"""A store that cannot commit never rewrites history (§6.3, §8.3, §13.2, issue #13 item 3).

The store here is a real :class:`SQLiteStore` whose commits can be made to fail (as a full
disk makes them fail); one test fills a real 2 MiB filesystem when mounting is permitted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from arcp.runtime import JobContext, Runtime
from arcp.store.base import Batch, StoreError
from arcp.store.sqlite import SQLiteStore
from tests.runtime.wire import ALL_FEATURES, Peer, connect

NO_ACK = [f for f in ALL_FEATURES if f != "ack"]


class FlakyStore(SQLiteStore):
    """A SQLite store whose commits fail while ``failing`` is set (a full disk, say)."""

    failing = False
    attempts = 0

    async def commit(self, batch: Batch) -> None:
        if self.failing:
            self.attempts += 1
            raise StoreError("database or disk is full")
        await super().commit(batch)


def build(path: Path, **options: Any) -> Runtime:
    rt = Runtime(
        tokens={"t": "alice"}, store=options.pop("store", None) or FlakyStore(path), **options
    )

    @rt.agent("flood")
    async def flood(input: Any, ctx: JobContext) -> Any:
        for i in range(int(input["n"])):
            await ctx.log(f"event {i} " + "x" * int(input.get("pad", 0)))
        return {"count": int(input["n"])}

    return rt


async def settle(seconds: float = 0.3) -> None:
    await asyncio.sleep(seconds)


def seen_events(frames: list[dict[str, Any]]) -> dict[int, bytes]:
    """What the client saw, by seq: the payload bytes it received."""
    return {f["event_seq"]: orjson.dumps(f["payload"]) for f in frames if "event_seq" in f}


async def test_failing_commits_hold_events_throttle_agents_and_refuse_jobs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """#13 item 3: while commits fail nothing uncommitted is sent, the agent waits, a new
    job is refused with a retryable INTERNAL_ERROR (delivered during the outage), the log
    says so once, memory stays bounded; after recovery every event arrives gap-free."""
    store = FlakyStore(tmp_path / "s.db")
    rt = build(tmp_path / "s.db", store=store, high_water=200)
    peer = connect(rt)
    await peer.hello(features=NO_ACK)
    store.failing = True
    caplog.set_level(logging.DEBUG, logger="arcp")
    await peer.send("job.submit", {"agent": "flood", "input": {"n": 1500}})
    await settle()
    assert peer.transport.recv_ready() == []  # neither the job nor its events are durable
    (job,) = rt.core.jobs.jobs.values()
    job_id = job.job_id
    stalled = job.log.last_origin_seq
    await settle()
    assert job.log.last_origin_seq == stalled <= 200 + 300  # the agent waits
    assert rt.core.store_flow.shut and store.attempts >= 2
    refused = await peer.request("job.submit", {"agent": "flood", "input": {"n": 1}})
    assert refused["type"] == "session.error"
    assert refused["payload"]["code"] == "INTERNAL_ERROR" and refused["payload"]["retryable"]
    await peer.send("session.ping", {"nonce": "n1", "sent_at": "2026-01-01T00:00:00Z"})
    pong = await peer.recv()
    assert pong["type"] == "session.pong"  # the session stays alive meanwhile
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "store commit failed" in errors[0].getMessage()
    assert not any(r.exc_info for r in caplog.records if r.levelno >= logging.WARNING)
    store.failing = False
    frames = await peer.until_terminal(job_id)
    assert frames[0]["type"] == "job.accepted"
    seqs = [f["event_seq"] for f in frames if "event_seq" in f]
    assert seqs == list(range(1, 1502)) and frames[-1]["type"] == "job.result"
    assert not rt.core.store_flow.shut
    assert any("store recovered" in r.getMessage() for r in caplog.records)
    await rt.aclose()


async def test_crash_during_an_outage_never_reuses_a_seq(tmp_path: Path) -> None:
    """#13 item 3: kill the runtime while commits fail, restart on the same file: every seq
    the client saw is stored with the same content, new events get new seqs, the job the
    client saw running ends once, and a resume claiming more than the store holds is
    refused (it would cross a gap)."""
    path = tmp_path / "s.db"
    store = FlakyStore(path)
    rt = build(path, store=store, high_water=100)
    peer = connect(rt)
    await peer.hello(features=NO_ACK)
    job_id = (await peer.submit("flood", {"n": 100_000}))["job_id"]
    frames = await peer.until(lambda f: f.get("event_seq") == 300)
    store.failing = True
    await settle()
    for data in peer.transport.recv_ready():
        frames.append(orjson.loads(data))
    seen = seen_events(frames)
    # kill -9, in process: nothing more is committed, the file lock is released
    assert rt._persister is not None  # pyright: ignore[reportPrivateUsage]
    task = rt._persister._task  # pyright: ignore[reportPrivateUsage]
    assert task is not None
    task.cancel()
    for job_task, _ in list(rt.jobs.running.values()):
        job_task.cancel()
    await SQLiteStore.close(store)

    rt2 = build(path)
    await rt2.open()
    session = rt2.core.sessions[peer.session_id or ""]
    stored: dict[int, bytes] = {}
    for seq in seen:
        item = session.buffer.get(seq)
        assert item is not None
        stored[seq] = orjson.dumps(orjson.loads(item[2]))
    assert stored == seen  # every seq the client saw, same content
    assert session.buffer.last_seq == max(seen) + 1  # + the job's end, recorded at restart
    gap = connect(rt2)
    await gap.send(
        "session.resume",
        {
            "session_id": peer.session_id,
            "resume_token": peer.resume_token,
            "last_event_seq": session.buffer.last_seq + 5,
        },
    )
    assert (await gap.recv())["payload"]["code"] == "RESUME_WINDOW_EXPIRED"
    await rt2.aclose()
    rt3 = build(path)
    await rt3.open()
    resumed = connect(rt3)
    await resumed.send(
        "session.resume",
        {
            "session_id": peer.session_id,
            "resume_token": peer.resume_token,
            "last_event_seq": max(seen),
        },
    )
    resumed.last_seq = max(seen)
    assert (await resumed.recv())["type"] == "session.welcome"
    end = (await resumed.until_terminal(job_id))[-1]
    assert end["type"] == "job.error" and end["event_seq"] == max(seen) + 1
    await rt3.aclose()


async def test_unwritable_database_is_refused_at_start(tmp_path: Path) -> None:
    """#13 item 3: a database file the runtime cannot write is refused at open, instead of
    serving with every commit failing. Root ignores file modes: the child drops that right."""
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "s.db"
    first = SQLiteStore(path)
    await first.open()
    await first.close()
    os.chmod(path, 0o444)
    os.chmod(folder, 0o777)
    os.chmod(tmp_path, 0o755)
    code = (
        "import asyncio, sys\n"
        "from arcp.runtime import Runtime\n"
        "from arcp.store.sqlite import SQLiteStore\n"
        "from arcp.store.base import StoreError\n"
        "async def main():\n"
        "    try:\n"
        f"        await Runtime(store=SQLiteStore({str(path)!r})).open()\n"
        "    except StoreError as exc:\n"
        "        print('refused:', exc)\n"
        "        return\n"
        "    print('served')\n"
        "asyncio.run(main())\n"
    )
    argv = [sys.executable, "-c", code]
    if os.geteuid() == 0:  # root writes any file: drop that privilege for the child
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv")
        argv = ["setpriv", "--inh-caps=-dac_override", "--bounding-set=-dac_override", *argv]
    out = await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True, timeout=60)
    assert out.stdout.startswith("refused:"), out.stdout + out.stderr


def _fill(filler: Path, leave: int) -> None:
    """Fill the filesystem holding ``filler`` but for ``leave`` bytes."""
    stat = os.statvfs(filler.parent)
    with filler.open("wb") as f:
        f.write(b"\0" * max(0, stat.f_bavail * stat.f_frsize - leave))


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (root only); skipped where mounting is not permitted."""
    where = tmp_path / "disk"
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


async def test_full_disk_holds_events_and_resumes_when_space_returns(tiny_disk: Path) -> None:
    """#13 item 3, on a real 2 MiB filesystem that fills: the stream stops at the last
    committed event, the runtime keeps answering, and once space is freed the job finishes
    with every event delivered exactly once, in order."""
    filler = tiny_disk / "filler"
    rt = build(tiny_disk / "s.db", store=SQLiteStore(tiny_disk / "s.db"), high_water=500)
    peer: Peer = connect(rt)
    await peer.hello(features=NO_ACK)
    _fill(filler, leave=150 * 1024)  # the WAL fills that soon
    await peer.send("job.submit", {"agent": "flood", "input": {"n": 2000, "pad": 20}})
    assert rt._persister is not None  # pyright: ignore[reportPrivateUsage]
    for _ in range(600):
        if rt._persister.failing:  # pyright: ignore[reportPrivateUsage]
            break
        await asyncio.sleep(0.05)
    assert rt._persister.failing  # pyright: ignore[reportPrivateUsage]
    filler.unlink()
    (job_id,) = rt.core.jobs.jobs
    frames = await peer.until_terminal(job_id)
    seqs = [f["event_seq"] for f in frames if "event_seq" in f]
    assert seqs == list(range(1, 2002)) and frames[-1]["type"] == "job.result"
    await rt.aclose()
