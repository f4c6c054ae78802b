"""PNG plots of the cost curves, drawn with matplotlib when it is installed.

matplotlib is in the optional ``bench`` dependency group (``uv sync --group bench``); without
it the figures are still measured and printed, and :func:`curve` returns ``None``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["available", "curve"]

Series = Mapping[str, Sequence[tuple[float, float]]]


def available() -> bool:
    """Whether matplotlib can be imported."""
    return importlib.util.find_spec("matplotlib") is not None


def curve(
    path: Path,
    title: str,
    xlabel: str,
    ylabel: str,
    series: Series,
    *,
    logx: bool = True,
    logy: bool = False,
) -> Path | None:
    """Draw one line per entry of ``series`` (points ``(x, y)``) into ``path``; ``None`` when
    matplotlib is missing."""
    if not available():
        return None
    import matplotlib

    matplotlib.use("Agg")  # no display on a benchmark host
    import matplotlib.pyplot as plt

    fig: Any
    ax: Any
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    for label, points in series.items():
        xs = [x for x, _ in points]
        ys = [y for _, y in points]
        ax.plot(xs, ys, marker="o", label=label)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
