"""A realistic ARCP minor bump, applied to a copy of the repository (issue 15 item 5).

The bump adds what a 1.2 would: an optional ``job.submit`` field, a feature flag with an event
kind it gates (plus a valid fixture and its manifest entry), an error code, and the version
1.1 -> 1.2 (the schema file is renamed to follow it). Only ``spec/`` changes; nothing
hand-written is touched.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["NEW_CODE", "NEW_FEATURE", "NEW_KIND", "NEW_VERSION", "apply_bump", "copy_repository"]

NEW_VERSION = "1.2"
NEW_FEATURE = "milestones"
NEW_KIND = "milestone"
NEW_CODE = "CAPACITY_EXCEEDED"


def copy_repository(repo: Path, target: Path) -> Path:
    """The files git tracks (as they are in the working tree) copied under ``target``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=True
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = repo / rel
        if src.is_file():
            dst = target / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    return target


def _bump_schema(doc: dict[str, Any], old: str) -> None:
    defs: dict[str, Any] = doc["$defs"]
    doc["x-protocol-version"] = NEW_VERSION
    doc["$id"] = doc["$id"].replace(old, NEW_VERSION)
    doc["description"] = doc["description"].replace(f"v{old}", f"v{NEW_VERSION}")
    defs["JobSubmitPayload"]["properties"]["priority"] = {
        "type": "integer",
        "minimum": 0,
        "description": "§7.1 (1.2): scheduling hint; higher runs sooner.",
    }
    flags = defs["FeatureFlag"]
    flags["enum"].append(NEW_FEATURE)
    flags["x-feature-sections"][NEW_FEATURE] = "§8.5"
    defs["MilestoneBody"] = {
        "title": "MilestoneBody",
        "type": "object",
        "additionalProperties": True,
        "description": "§8.5: the job reached a named milestone of its plan.",
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "index": {"type": "integer", "minimum": 0},
        },
        "required": ["name"],
    }
    event = json.loads(json.dumps(defs["ProgressEvent"]))
    event["title"] = "MilestoneEvent"
    event["description"] = "§8.2: a `milestone` event."
    event["x-feature"] = NEW_FEATURE
    event["properties"]["kind"]["const"] = NEW_KIND
    event["properties"]["body"] = {"$ref": "#/$defs/MilestoneBody"}
    defs["MilestoneEvent"] = event
    known = defs["KnownEvent"]
    known["oneOf"].append({"$ref": "#/$defs/MilestoneEvent"})
    codes = defs["ErrorCode"]
    codes["enum"].append(NEW_CODE)
    codes["x-error-codes"][NEW_CODE] = {
        "retryable": True,
        "section": "§12",
        "meaning": "The runtime has no capacity for the job right now.",
        "final_status": "error",
    }


def apply_bump(root: Path) -> Path:
    """Bump the schema under ``root/spec`` and add the new kind's fixture; returns the new
    schema path."""
    spec = root / "spec"
    (old_path,) = spec.glob("arcp-*.schema.json")
    doc: dict[str, Any] = json.loads(old_path.read_text(encoding="utf-8"))
    old = str(doc["x-protocol-version"])
    _bump_schema(doc, old)
    new_path = spec / f"arcp-{NEW_VERSION}.schema.json"
    old_path.unlink()
    new_path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    fixture = {
        "arcp": NEW_VERSION,
        "id": "01JRHD2GP0MSTNE5T0NE00000A",
        "type": "job.event",
        "session_id": "sess_01JRHD2GP0DPD7S11DMEWA4HDX",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "job_id": "job_01JRHD2GP09G0FBPQ41NG4MSTS",
        "event_seq": 7,
        "payload": {
            "kind": NEW_KIND,
            "ts": "2026-05-13T19:30:07.000Z",
            "body": {"name": "tests green", "index": 2},
        },
    }
    name = f"job.event--{NEW_KIND}"
    target = spec / "fixtures" / "valid" / f"{name}.json"
    target.write_text(json.dumps(fixture, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _add_to_manifest(spec / "fixtures" / "manifest.json", name, new_path.name)
    return new_path


def _add_to_manifest(path: Path, name: str, schema_name: str) -> None:
    """The fixtures manifest follows the bump: version, schema file, the new fixture."""
    if not path.is_file():
        return
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    manifest["protocol_version"] = NEW_VERSION
    manifest["$id"] = f"urn:arcp:fixtures:{NEW_VERSION}:r1"
    manifest["schema"] = schema_name
    manifest["fixtures"].append(
        {
            "id": name,
            "file": f"valid/{name}.json",
            "direction": "runtime-to-client",
            "receiver": "client",
            "basis": ["§8.5"],
            "feature": NEW_FEATURE,
            "outcome": {"verdict": "accept", "type": "job.event", "kind": NEW_KIND},
        }
    )
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
