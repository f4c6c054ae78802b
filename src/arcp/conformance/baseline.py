"""Expected-failures baselines for the fixture runs (``--baseline FILE``).

A baseline lists the fixtures on which a subject (a decoder, a runtime) is known to disagree
with the manifest, each with a note. Judged against a run:

- a disagreement that is listed is *tolerated*;
- a disagreement that is not listed is a *regression* (the run fails);
- a listed fixture that now agrees, or that the manifest no longer has, is *stale* (the run
  fails too, so the file shrinks as the subject improves). A listed fixture that the run did
  not judge (another role, a skipped feature) is left alone.

The file is JSON, sorted and diff-friendly::

    {
      "baseline_version": 1,
      "subject": "agentruntimecontrolprotocol 1.1.3",
      "protocol_version": "1.1",
      "expected_failures": {"fixture-id": "what was observed", ...}
    }
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

__all__ = ["BASELINE_VERSION", "Baseline", "BaselineError", "Judgement", "judge"]

BASELINE_VERSION = 1


class BaselineError(Exception):
    """The baseline file cannot be read or written; the message says why."""


@dataclass(frozen=True)
class Baseline:
    """Fixture id -> note, for every tolerated disagreement."""

    expected_failures: Mapping[str, str] = field(default_factory=dict[str, str])
    subject: str = ""
    protocol_version: str = ""

    @classmethod
    def read(cls, path: Path | str) -> Baseline:
        """Load ``path``; :class:`BaselineError` when it is missing or not a baseline."""
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BaselineError(
                f"no baseline file at {path} (create it with --write-baseline)"
            ) from None
        except (OSError, ValueError) as exc:
            raise BaselineError(f"cannot read the baseline {path}: {exc}") from None
        body = cast(dict[str, Any], doc) if isinstance(doc, dict) else None
        failures = body.get("expected_failures") if body is not None else None
        if body is None or body.get("baseline_version") != BASELINE_VERSION:
            raise BaselineError(f"{path} is not a version {BASELINE_VERSION} baseline file")
        if not isinstance(failures, dict):
            raise BaselineError(f"{path}: `expected_failures` must be an object")
        notes = cast(dict[Any, Any], failures)
        return cls(
            {str(k): str(v) for k, v in notes.items()},
            str(body.get("subject", "")),
            str(body.get("protocol_version", "")),
        )

    def to_json(self) -> dict[str, Any]:
        """The file's content."""
        return {
            "baseline_version": BASELINE_VERSION,
            "subject": self.subject,
            "protocol_version": self.protocol_version,
            "expected_failures": dict(sorted(self.expected_failures.items())),
        }

    def write(self, path: Path | str) -> None:
        """Write the file (indent 2, trailing newline)."""
        text = json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise BaselineError(f"cannot write the baseline {path}: {exc}") from None


@dataclass(frozen=True)
class Judgement:
    """A run judged against a baseline."""

    tolerated: tuple[str, ...]
    regressions: tuple[str, ...]
    stale: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when there is no regression and no stale entry."""
        return not self.regressions and not self.stale

    def status(self, fixture_id: str) -> str | None:
        """``tolerated``, ``regression``, ``stale`` or None for ``fixture_id``."""
        for name, ids in (
            ("tolerated", self.tolerated),
            ("regression", self.regressions),
            ("stale", self.stale),
        ):
            if fixture_id in ids:
                return name
        return None


def judge(
    agreed: Iterable[str],
    disagreed: Iterable[str],
    baseline: Baseline | None,
    known: Iterable[str],
) -> Judgement:
    """Judge a run: ``agreed`` / ``disagreed`` fixture ids, ``known`` every manifest id."""
    listed = dict(baseline.expected_failures) if baseline is not None else {}
    bad = list(disagreed)
    good = set(agreed)
    gone = set(listed) - set(known)
    return Judgement(
        tolerated=tuple(f for f in bad if f in listed),
        regressions=tuple(f for f in bad if f not in listed),
        stale=tuple(sorted({f for f in listed if f in good} | gone)),
    )
