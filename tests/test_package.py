"""The top-level package: what ``import arcp`` loads, and its lazily exported names."""

from __future__ import annotations

import json
import subprocess
import sys

import arcp

_PROBE = """
import json, sys
import arcp
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return set(json.loads(out))


def test_import_arcp_loads_no_cli_and_no_models() -> None:
    loaded = _modules_after(_PROBE)
    for heavy in ("click", "rich", "arcp.cli", "arcp_gen.models", "websockets"):
        assert heavy not in loaded, f"`import arcp` imported {heavy}"


def test_lazy_names_resolve_to_the_real_classes() -> None:
    from arcp.client import Client, JobHandle, Subscription
    from arcp.runtime import JobContext, Runtime

    assert (arcp.Client, arcp.JobHandle, arcp.Subscription) == (Client, JobHandle, Subscription)
    assert (arcp.JobContext, arcp.Runtime) == (JobContext, Runtime)
    assert set(arcp.__all__) <= set(dir(arcp))


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        _ = arcp.NoSuchThing  # pyright: ignore[reportAttributeAccessIssue]
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:  # pragma: no cover - the assertion that fails
        raise AssertionError("arcp.NoSuchThing resolved")
