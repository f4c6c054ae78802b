"""The generated TypeScript bindings (``spec/typescript/arcp.ts``) under ``tsc --strict`` agree
with the fixtures manifest (§5): every accepted and receive-only frame type-checks as the
message (and event kind) the manifest names, every frame the schema refuses is refused by the
types unless ``tests/spec/typescript/uncatchable.json`` says why no type can, and the
hand-written uses in ``narrowing.ts`` (exhaustive narrowing on ``type`` and ``kind``, vendor
kinds, retryability) compile.

Without Node the tests skip locally and fail under CI (``CI``) or ``make check-ts``
(``ARCP_REQUIRE_TSC``); see :mod:`tests.spec._typescript`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.spec._fixtures import SPEC_DIR, load_manifest
from tests.spec._typescript import load_uncatchable, ready, run_check

_REFUSED = {"reject", "accept-forward"}


def test_uncatchable_list_names_refused_fixtures_only() -> None:
    """Each listed fixture exists and is one the schema refuses (a stale id fails here)."""
    verdicts = {e["id"]: e["outcome"]["verdict"] for e in load_manifest()["fixtures"]}
    listed = load_uncatchable()
    assert sorted(i for i in listed if verdicts.get(i) not in _REFUSED) == []
    assert all(reason.strip() for reason in listed.values())


def test_bindings_compile_strict_and_agree_with_the_manifest(tmp_path: Path) -> None:
    """§5, §8.2, §12: one `tsc --strict` run over the bindings, narrowing.ts and a typed
    constant per fixture reports nothing."""
    node = ready()
    uncatchable = load_uncatchable()
    report = run_check(node, SPEC_DIR, tmp_path / "ts", uncatchable)
    assert report.other == []
    assert report.by_fixture == {}
    assert set(report.not_json) <= set(uncatchable)
    refused = [e for e in load_manifest()["fixtures"] if e["outcome"]["verdict"] in _REFUSED]
    caught = [e["id"] for e in refused if e["id"] not in uncatchable]
    # Most refused frames are refused by a type, not only by the schema.
    assert len(caught) > len(refused) // 2


def _tampered_copy(root: Path) -> tuple[Path, str]:
    """A copy of spec/ whose first accepted `log` event has a level §8.2 does not define."""
    spec = root / "spec"
    shutil.copytree(SPEC_DIR, spec)
    manifest = json.loads((spec / "fixtures" / "manifest.json").read_text(encoding="utf-8"))
    victim = next(
        e
        for e in manifest["fixtures"]
        if e["outcome"]["verdict"] == "accept" and e["outcome"].get("kind") == "log"
    )
    path = spec / "fixtures" / victim["file"]
    frame: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    frame["payload"]["body"]["level"] = "loud"
    path.write_text(json.dumps(frame), encoding="utf-8")
    return spec, str(victim["id"])


def test_the_check_reports_each_kind_of_disagreement(tmp_path: Path) -> None:
    """The check can fail, naming the fixture: a valid frame the types refuse, a refused frame
    the list says is uncatchable although a type catches it (stale entry), and one the list
    leaves out although no type catches it."""
    node = ready()
    spec, bad_valid = _tampered_copy(tmp_path)
    uncatchable = dict(load_uncatchable())
    del uncatchable["empty-id"]
    uncatchable["hello-with-session-id"] = "claimed uncatchable, but `session_id?: never` says it"
    report = run_check(node, spec, tmp_path / "ts", uncatchable)
    assert report.other == []
    assert sorted(report.by_fixture) == sorted([bad_valid, "empty-id", "hello-with-session-id"])
    assert any("TS2578" in e for e in report.by_fixture["empty-id"])  # unused expect-error
    assert any("TS2322" in e for e in report.by_fixture[bad_valid])
