"""``arcp.types``: the generated models under the main package (issue 12, item 2)."""

from __future__ import annotations

import arcp.types
from arcp_gen import messages, models


def _defined_in(module: object) -> set[str]:
    home = getattr(module, "__name__", "")
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == home
    }


def test_every_generated_model_and_alias_is_re_exported_as_is() -> None:
    expected = _defined_in(models) | set(messages.__all__)
    assert expected <= set(arcp.types.__all__)
    for name in expected:
        want = getattr(models, name, None) or getattr(messages, name)
        assert getattr(arcp.types, name) is want, name


def test_only_generated_names_are_exported() -> None:
    helpers = {"BaseModel", "ConfigDict", "Field", "Annotated", "Any", "Literal", "Iterator"}
    assert not helpers & set(arcp.types.__all__)
    every = _defined_in(models) | _defined_in(messages) | set(messages.__all__)
    assert set(arcp.types.__all__) <= every


def test_application_style_import_builds_a_valid_event() -> None:
    from arcp.types import ProgressBody, ProgressEvent

    event = ProgressEvent(
        kind="progress", ts="2026-01-01T00:00:00.000Z", body=ProgressBody(current=1)
    )
    assert event.body.current == 1
