"""``tests.spec_text``: the spec is found relative to the repository; CI never skips it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import spec_text


def test_found_beside_the_repository() -> None:
    path = spec_text.spec_markdown_path()
    assert path is not None
    assert (
        path.resolve()
        == (spec_text.REPO_ROOT.parent / "shared" / "spec" / spec_text.SPEC_NAME).resolve()
    )
    assert "## 12. Error Taxonomy" in spec_text.spec_markdown()


def _without_spec(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(spec_text, "REPO_ROOT", tmp_path / "repo")
    monkeypatch.delenv("ARCP_SPEC_MD", raising=False)


def test_missing_spec_fails_under_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _without_spec(monkeypatch, tmp_path)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must not skip"):
        spec_text.spec_markdown()


def test_missing_spec_skips_locally(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _without_spec(monkeypatch, tmp_path)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        spec_text.spec_markdown()
