"""The ``python -m bench`` report: a scenario that skips its figures still gets a table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import Figure
from bench import __main__ as report


def test_a_skipped_figure_is_reported_with_its_note(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    skipped = Figure("instructions, per event", "instructions", note="skipped: no perf")
    measured = Figure("events", "events/s", samples=[2.0, 4.0], baseline=[2.0])
    monkeypatch.setattr(report, "_run", lambda name, repeats: [skipped, measured])
    out = tmp_path / "figures.json"
    assert report.main(["codec", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| instructions, per event | - | - | - | skipped: no perf |" in table
    assert "1.500" in table  # the measured figure keeps its ratio
    figures = json.loads(out.read_text())["benchmarks"]["codec"]["figures"]
    assert figures[0] == {
        "name": "instructions, per event",
        "unit": "instructions",
        "skipped": True,
        "note": "skipped: no perf",
    }
    assert figures[1]["ratio"] == 1.5
