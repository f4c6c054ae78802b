"""Micro- and end-to-end benchmarks for ``arcp``; run them with ``python -m bench``.

Every ARCP figure is measured beside a baseline (plain ``orjson``, a raw ``websockets``
stream, ...) in the same run, and the report gives medians over repeats and the ratio of the
two, so figures stay comparable across machines and loads. See ``bench/README.md``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

__all__ = ["Figure"]


@dataclass
class Figure:
    """One measured quantity: ARCP samples, the baseline's samples, and how to read them."""

    name: str
    unit: str
    samples: list[float] = field(default_factory=list[float])
    baseline: list[float] = field(default_factory=list[float])
    higher_is_better: bool = True
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def baseline_median(self) -> float | None:
        return statistics.median(self.baseline) if self.baseline else None

    @property
    def ratio(self) -> float | None:
        """ARCP median / baseline median, in the figure's unit."""
        base = self.baseline_median
        return None if not base else self.median / base
