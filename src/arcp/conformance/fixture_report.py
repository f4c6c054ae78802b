"""Per-fixture agreement of one subject (a decoder, a runtime) with the fixtures manifest.

Both fixture runs (``arcp conformance fixtures`` against a decoder, the manifest replay of
``arcp conformance URL`` against a runtime) produce a :class:`FixtureReport`: one
:class:`FixtureResult` per fixture fed (agree, disagree with the reason, or skip), judged
against an optional expected-failures :class:`~arcp.conformance.baseline.Baseline`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arcp.conformance.baseline import Baseline, Judgement, judge
from arcp.conformance.manifest import Fixture

__all__ = ["FixtureReport", "FixtureResult"]


@dataclass(frozen=True)
class FixtureResult:
    """What the subject made of one fixture."""

    fixture: Fixture
    observed: str
    disagreement: str | None = None
    """Why the observation is not what the manifest says; None when they agree."""
    skipped: str | None = None
    """Why the fixture was not judged (e.g. a feature the runtime does not offer)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "observed", " ".join(self.observed.split()))

    @property
    def status(self) -> str:
        """``agree``, ``disagree`` or ``skip``."""
        if self.skipped is not None:
            return "skip"
        return "agree" if self.disagreement is None else "disagree"


@dataclass
class FixtureReport:
    """Every fixture result of one run, and the run judged against a baseline."""

    subject: dict[str, Any]
    manifest: str
    results: list[FixtureResult] = field(default_factory=list[FixtureResult])
    known: frozenset[str] = frozenset()
    """Every fixture id of the manifest (a baseline entry for any other id is stale)."""
    baseline: Baseline | None = None

    def judgement(self) -> Judgement:
        """The run judged against :attr:`baseline` (no baseline: every disagreement counts)."""
        return judge(
            [r.fixture.id for r in self.results if r.status == "agree"],
            [r.fixture.id for r in self.results if r.status == "disagree"],
            self.baseline,
            self.known,
        )

    def count(self, status: str) -> int:
        """How many fixtures ended with ``status``."""
        return sum(1 for r in self.results if r.status == status)

    @property
    def ok(self) -> bool:
        """No regression and no stale baseline entry."""
        return self.judgement().ok

    def new_baseline(self, subject: str, protocol_version: str) -> Baseline:
        """A baseline tolerating exactly this run's disagreements."""
        notes = {r.fixture.id: r.disagreement or "" for r in self.results if r.disagreement}
        return Baseline(notes, subject, protocol_version)

    def summary(self) -> str:
        """``N fixtures: N agree, N disagree (N tolerated, N new), N skipped; N stale``."""
        j = self.judgement()
        return (
            f"{len(self.results)} fixtures: {self.count('agree')} agree, "
            f"{self.count('disagree')} disagree ({len(j.tolerated)} tolerated by the baseline, "
            f"{len(j.regressions)} new), {self.count('skip')} skipped; "
            f"{len(j.stale)} stale baseline entries"
        )

    def to_json(self) -> dict[str, Any]:
        """The machine-readable report."""
        j = self.judgement()
        return {
            "subject": self.subject,
            "manifest": self.manifest,
            "ok": j.ok,
            "summary": {
                "fixtures": len(self.results),
                "agree": self.count("agree"),
                "disagree": self.count("disagree"),
                "skipped": self.count("skip"),
                "tolerated": len(j.tolerated),
                "regressions": len(j.regressions),
                "stale": len(j.stale),
            },
            "fixtures": [
                {
                    "id": r.fixture.id,
                    "file": r.fixture.file,
                    "receiver": r.fixture.receiver,
                    "expected": r.fixture.expected(),
                    "observed": r.observed,
                    "status": r.status,
                    "baseline": j.status(r.fixture.id),
                    "reason": r.disagreement or r.skipped,
                }
                for r in self.results
            ],
            "regressions": list(j.regressions),
            "stale": list(j.stale),
        }

    def lines(self, *, width: int = 100, only_problems: bool = False) -> list[str]:
        """The agreement table: one row per fixture, the reason under a disagreement."""
        j = self.judgement()
        out: list[str] = []
        for r in self.results:
            mark = j.status(r.fixture.id)
            word = {"regression": "NEW", "tolerated": "KNOWN", "stale": "STALE"}.get(
                mark or "", r.status.upper()
            )
            if only_problems and word in ("AGREE", "SKIP"):
                continue
            out.append(f"  {word:<8} {r.fixture.receiver:<8} {r.fixture.id}")
            note = r.disagreement or r.skipped
            if note or mark == "stale":
                text = note or "agrees now: remove it from the baseline"
                text = text if len(text) <= width else text[: width - 3] + "..."
                out.append(f"           {text}")
        for fid in j.stale:
            if fid not in {r.fixture.id for r in self.results}:
                out.append(f"  STALE    -        {fid}")
                out.append("           not in the manifest: remove it from the baseline")
        return out
