"""Type-checking the fixtures of the manifest against the generated TypeScript bindings.

One ``tsc --strict`` run over a temporary project: ``spec/typescript/arcp.ts`` as generated,
``tests/spec/typescript/narrowing.ts`` (hand-written uses: exhaustive narrowing, the tables),
and ``fixtures.ts``, written here with one typed constant per fixture of the manifest:

- ``accept`` and ``receive-only`` frames are typed as the message of the manifest's ``type``
  (and event of its ``kind``) and must compile;
- ``reject`` and ``accept-forward`` frames (the schema refuses both) are typed as ``Message``
  under ``// @ts-expect-error``, so tsc fails when a type lets one through, except those listed
  in ``tests/spec/typescript/uncatchable.json`` with the reason a type cannot see it; those
  must compile, so an entry that a type starts to catch is reported as stale.

``tests/spec/typescript`` is a tiny npm project pinning ``typescript`` by its
``package-lock.json``; :func:`ready` runs ``npm ci`` there when ``node_modules`` is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "TS_DIR",
    "Report",
    "fixtures_source",
    "load_uncatchable",
    "ready",
    "run_check",
]

TS_DIR = Path(__file__).resolve().parent / "typescript"
_TSC = TS_DIR / "node_modules" / "typescript" / "bin" / "tsc"
_COMPILER_OPTIONS: dict[str, Any] = {
    "strict": True,
    "exactOptionalPropertyTypes": True,
    "noUncheckedIndexedAccess": True,
    "noEmit": True,
    "target": "es2020",
    "module": "es2020",
    "moduleResolution": "node",
    "lib": ["es2020"],
    "types": [],
}
_ERROR = re.compile(
    r"^(?P<file>[^(\s]+)\((?P<line>\d+),\d+\): error (?P<code>TS\d+): (?P<text>.*)$"
)
_SCHEMA_REFUSES = {"reject", "accept-forward"}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") or os.environ.get("ARCP_REQUIRE_TSC"):
        pytest.fail(f"the TypeScript check cannot run: {reason}")
    pytest.skip(reason)


def ready() -> str:
    """The ``node`` executable, with ``typescript`` installed (``npm ci`` on first use)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _unavailable("node/npm not installed")
    assert node is not None and npm is not None
    if not _TSC.is_file():
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=TS_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if proc.returncode != 0:
            _unavailable(f"npm ci failed in {TS_DIR}:\n{proc.stdout}\n{proc.stderr}")
    return node


def load_uncatchable() -> dict[str, str]:
    """Fixture id -> why no TypeScript type can refuse that frame."""
    doc: dict[str, Any] = json.loads((TS_DIR / "uncatchable.json").read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in doc["fixtures"].items()}


def _frame(spec_dir: Path, entry: dict[str, Any]) -> tuple[bool, Any]:
    doc = json.loads((spec_dir / "fixtures" / entry["file"]).read_text(encoding="utf-8"))
    if entry["file"].startswith(("forward/", "invalid/")):
        if "raw_frame" in doc:
            try:
                return True, json.loads(doc["raw_frame"])
            except ValueError:
                return False, None
        return True, doc["frame"]
    return True, doc


def _accepted_type(outcome: dict[str, Any]) -> str:
    message = f"MessageOf<{json.dumps(outcome['type'])}>"
    kind = outcome.get("kind")
    if kind is None:
        return message
    event = "VendorEvent" if kind.startswith("x-vendor.") else f"EventOf<{json.dumps(kind)}>"
    return f"{message} & {{ payload: {event} }}"


def fixtures_source(
    spec_dir: Path, uncatchable: dict[str, str]
) -> tuple[str, dict[int, str], list[str]]:
    """``fixtures.ts``, its line -> fixture id map, and the ids of frames that are not JSON."""
    manifest = json.loads((spec_dir / "fixtures" / "manifest.json").read_text(encoding="utf-8"))
    lines = ['import type { EventOf, Message, MessageOf, VendorEvent } from "./arcp";', ""]
    where: dict[int, str] = {}
    not_json: list[str] = []
    for n, entry in enumerate(manifest["fixtures"]):
        fixture_id, outcome = entry["id"], entry["outcome"]
        is_json, frame = _frame(spec_dir, entry)
        if not is_json:
            not_json.append(fixture_id)
            continue
        lines.append(f"// {fixture_id} ({entry['file']}, {outcome['verdict']})")
        refused = outcome["verdict"] in _SCHEMA_REFUSES
        if refused and fixture_id not in uncatchable:
            lines.append(f"// @ts-expect-error the schema refuses {fixture_id}")
            where[len(lines)] = fixture_id
        declared = "Message" if refused else _accepted_type(outcome)
        lines.append(f"export const f{n}: {declared} = {json.dumps(frame, ensure_ascii=False)};")
        where[len(lines)] = fixture_id
    return "\n".join(lines) + "\n", where, not_json


@dataclass
class Report:
    by_fixture: dict[str, list[str]] = field(default_factory=dict[str, list[str]])
    """Fixture id -> tsc errors on its lines (an unused ``@ts-expect-error`` included)."""
    other: list[str] = field(default_factory=list[str])
    """Errors elsewhere (in arcp.ts, narrowing.ts, or tsc itself)."""
    not_json: list[str] = field(default_factory=list[str])


def run_check(node: str, spec_dir: Path, work: Path, uncatchable: dict[str, str]) -> Report:
    """Compile the bindings of ``spec_dir`` with its fixtures in ``work``; errors by fixture."""
    work.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(spec_dir / "typescript" / "arcp.ts", work / "arcp.ts")
    shutil.copyfile(TS_DIR / "narrowing.ts", work / "narrowing.ts")
    source, where, not_json = fixtures_source(spec_dir, uncatchable)
    (work / "fixtures.ts").write_text(source, encoding="utf-8")
    config = {
        "compilerOptions": _COMPILER_OPTIONS,
        "files": ["arcp.ts", "narrowing.ts", "fixtures.ts"],
    }
    (work / "tsconfig.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    proc = subprocess.run(
        [node, str(_TSC), "-p", str(work / "tsconfig.json"), "--pretty", "false"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = Report(not_json=not_json)
    for line in (proc.stdout + proc.stderr).splitlines():
        match = _ERROR.match(line)
        if match and match["file"] == "fixtures.ts" and int(match["line"]) in where:
            fixture_id = where[int(match["line"])]
            report.by_fixture.setdefault(fixture_id, []).append(f"{match['code']} {match['text']}")
        elif line.strip() and not line.startswith(" "):
            report.other.append(line)
    if proc.returncode != 0 and not report.by_fixture and not report.other:
        report.other.append(f"tsc exited {proc.returncode}: {proc.stdout}{proc.stderr}")
    return report
