"""Every ``examples/*.py`` runs standalone, and the docs quote them faithfully.

Each example runs in its own interpreter (``sys.executable``, repository root as working
directory) and must exit 0 within 60 s without a traceback on stderr. The selected examples
start together on a small thread pool the first time any of them is needed, so the whole
set costs about as long as its slowest few members rather than the sum.

In ``docs/*.md`` a fenced ``python`` block whose first line is a tag comment such as
``# examples/quickstart.py`` must be a verbatim excerpt of that file (the tag line itself
excluded): the same consecutive lines, possibly re-indented as a whole. Every
``examples/*.py`` the docs mention must exist.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
DOCS = sorted((ROOT / "docs").glob("*.md"))
TIMEOUT_SEC = 60
WORKERS = 4

_TAGGED_BLOCK = re.compile(r"```python\n# (examples/[\w./-]+\.py)\n(.*?)```", re.DOTALL)
_MENTION = re.compile(r"examples/[\w-]+\.py")


@dataclass
class _Run:
    """One example's child process, started from the main thread (forking from worker
    threads has failed here with EFAULT), and its collected output once it ended."""

    path: Path
    proc: subprocess.Popen[str] | None = None
    started: float = 0.0
    done: subprocess.CompletedProcess[str] | None = None


_queue: list[_Run] = []
_runs: dict[Path, _Run] = {}


def _start(run: _Run) -> None:
    run.proc = subprocess.Popen(
        [sys.executable, str(run.path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run.started = time.monotonic()


def _reap(run: _Run) -> None:
    proc = run.proc
    assert proc is not None
    if proc.poll() is None and time.monotonic() - run.started < TIMEOUT_SEC:
        return
    if proc.returncode is None:
        proc.kill()
    out, err = proc.communicate()
    run.done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _selected(request: pytest.FixtureRequest) -> list[Path]:
    """The examples this pytest run selected (all of them unless ``-k`` narrowed it)."""
    chosen: list[Path] = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if getattr(item, "originalname", None) == "test_example_runs" and callspec is not None:
            chosen.append(callspec.params["path"])
    return chosen


def _result(path: Path, request: pytest.FixtureRequest) -> subprocess.CompletedProcess[str]:
    """Queue every selected example on first use, run up to WORKERS at once, and wait for
    this one. Output is read when a child ends; examples print little, so pipes never fill."""
    if not _runs:
        for example in _selected(request):
            _runs[example] = _Run(example)
            _queue.append(_runs[example])
    if path not in _runs:
        _runs[path] = _Run(path)
        _queue.append(_runs[path])
    target = _runs[path]
    while target.done is None:
        running = [r for r in _runs.values() if r.proc is not None and r.done is None]
        for run in running:
            _reap(run)
        running = [r for r in running if r.done is None]
        while _queue and len(running) < WORKERS:
            nxt = _queue.pop(0)
            _start(nxt)
            running.append(nxt)
        if target.done is None:
            time.sleep(0.05)
    return target.done


@pytest.mark.timeout(TIMEOUT_SEC * len(EXAMPLES) // WORKERS + TIMEOUT_SEC)
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path: Path, request: pytest.FixtureRequest) -> None:
    done = _result(path, request)
    detail = f"--- stdout\n{done.stdout[-2000:]}\n--- stderr\n{done.stderr[-4000:]}"
    assert done.returncode == 0, f"{path.name} exited {done.returncode}\n{detail}"
    assert "Traceback" not in done.stderr, f"{path.name} printed a traceback\n{detail}"


def _tagged_blocks() -> list[tuple[str, str, str]]:
    blocks: list[tuple[str, str, str]] = []
    for doc in DOCS:
        for match in _TAGGED_BLOCK.finditer(doc.read_text(encoding="utf-8")):
            blocks.append((doc.name, match.group(1), match.group(2)))
    return blocks


@pytest.mark.parametrize(
    ("doc", "example", "snippet"),
    _tagged_blocks(),
    ids=[f"{d}:{e}" for d, e, _ in _tagged_blocks()],
)
def test_quoted_snippet_matches_the_example(doc: str, example: str, snippet: str) -> None:
    path = ROOT / example
    assert path.is_file(), f"{doc} quotes {example}, which does not exist"
    assert _is_excerpt(snippet, path.read_text(encoding="utf-8")), (
        f"{doc}: the block tagged {example} is not a verbatim excerpt of that file"
    )


def _is_excerpt(snippet: str, source: str) -> bool:
    """True if ``snippet`` is a run of consecutive lines of ``source``, maybe dedented."""
    wanted = textwrap.dedent(snippet.strip("\n"))
    lines = source.splitlines()
    size = len(wanted.splitlines())
    return any(
        textwrap.dedent("\n".join(lines[start : start + size])) == wanted
        for start in range(len(lines) - size + 1)
    )


def test_examples_mentioned_in_docs_exist() -> None:
    missing = sorted(
        f"{doc.name}: {name}"
        for doc in DOCS
        for name in set(_MENTION.findall(doc.read_text(encoding="utf-8")))
        if not (ROOT / name).is_file()
    )
    assert not missing, "docs mention examples that do not exist:\n" + "\n".join(missing)
