"""What a conformance run produces: check specs, their outcomes, and the report.

A :class:`CheckSpec` names one requirement (id, spec section, level, title). Running it
yields a :class:`CheckResult` (pass / fail / skip plus what was observed). A :class:`Report`
is every result of one run, renderable as a grouped text table or as JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["CheckResult", "CheckSpec", "Level", "Outcome", "Report"]


class Level(StrEnum):
    """How binding a check is: a spec MUST, a spec SHOULD, or this SDK's wire decision."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    WIRE = "wire-decision"


class Outcome(StrEnum):
    """The verdict of one check."""

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class CheckSpec:
    """One requirement the kit checks; ``id`` is stable (e.g. ``6.3-resume-replay``)."""

    id: str
    section: str
    level: Level
    title: str


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check and a short account of what was observed."""

    spec: CheckSpec
    outcome: Outcome
    observed: str

    def __post_init__(self) -> None:
        # One line, whatever a peer put into its error messages.
        object.__setattr__(self, "observed", " ".join(self.observed.split()))

    def to_json(self) -> dict[str, str]:
        """A flat JSON object for the machine report."""
        return {
            "id": self.spec.id,
            "section": self.spec.section,
            "level": self.spec.level.value,
            "title": self.spec.title,
            "outcome": self.outcome.value,
            "observed": self.observed,
        }


def _section_key(section: str) -> tuple[int, ...]:
    digits = section.lstrip("§").split(".")
    return tuple(int(d) if d.isdigit() else 999 for d in digits)


@dataclass
class Report:
    """Every result of one run against ``url``."""

    url: str
    results: list[CheckResult] = field(default_factory=list[CheckResult])
    runtime: dict[str, Any] = field(default_factory=dict[str, Any])

    def count(self, outcome: Outcome) -> int:
        """How many checks ended with ``outcome``."""
        return sum(1 for r in self.results if r.outcome is outcome)

    def failed(self, level: Level | None = None) -> list[CheckResult]:
        """The failed checks, optionally only those of ``level``."""
        return [
            r
            for r in self.results
            if r.outcome is Outcome.FAIL and (level is None or r.spec.level is level)
        ]

    @property
    def ok(self) -> bool:
        """True when no MUST check failed (the only thing that decides the exit status)."""
        return not self.failed(Level.MUST)

    @property
    def exit_code(self) -> int:
        """0 when every MUST check passed or was skipped, else 1."""
        return 0 if self.ok else 1

    def summary(self) -> str:
        """``N passed, N failed, N skipped``."""
        return (
            f"{self.count(Outcome.PASS)} passed, {self.count(Outcome.FAIL)} failed, "
            f"{self.count(Outcome.SKIP)} skipped"
        )

    def ordered(self) -> list[CheckResult]:
        """Results grouped by spec section (wire decisions last), stable within a section."""
        return sorted(self.results, key=lambda r: _section_key(r.spec.section))

    def to_json(self) -> dict[str, Any]:
        """The machine-readable report."""
        return {
            "url": self.url,
            "runtime": self.runtime,
            "ok": self.ok,
            "summary": {
                "passed": self.count(Outcome.PASS),
                "failed": self.count(Outcome.FAIL),
                "skipped": self.count(Outcome.SKIP),
                "must_failed": len(self.failed(Level.MUST)),
            },
            "checks": [r.to_json() for r in self.ordered()],
        }

    def table(self, *, width: int = 100) -> str:
        """A plain-text table grouped by section, then the summary line."""
        return "\n".join(render_lines(self.ordered(), width=width)) + "\n" + self.summary()


def render_lines(results: Iterable[CheckResult], *, width: int = 100) -> list[str]:
    """The table rows, one group heading per section."""
    lines: list[str] = []
    section = None
    for r in results:
        if r.spec.section != section:
            section = r.spec.section
            lines.append(f"{section}")
        head = f"  {r.outcome.value.upper():<4}  {r.spec.level.value:<13} {r.spec.id:<30} "
        lines.append(head + r.spec.title)
        if r.observed:
            note = r.observed if len(r.observed) <= width else r.observed[: width - 3] + "..."
            lines.append(f"        {note}")
    return lines
