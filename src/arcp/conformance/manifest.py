"""The fixtures manifest (``spec/fixtures/manifest.json``) read through its documented fields.

Every entry names a fixture file, who sends it (``direction``), whose behaviour its
``outcome`` describes (``receiver``), the spec basis, the feature it needs and the verdict:
``accept`` / ``receive-only`` / ``accept-forward`` (the receiver reads it as ``type`` and
``kind``) or ``reject`` (with ``code``, ``details_names_field``, ``session_stays_open``). See
``spec/fixtures/manifest.schema.json``. Only those fields are used here, never the ``$id``.

:func:`load_manifest` turns it into :class:`Fixture` objects carrying the exact text a
sender puts on the wire (``frame``): the envelope for ``valid/`` and ``receive-only/``, the
``frame`` member of ``forward/`` and ``invalid/`` files, or an invalid file's ``raw_frame``
text as is (it need not be JSON at all).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import orjson

__all__ = [
    "MANIFEST_ENV",
    "Fixture",
    "Manifest",
    "ManifestError",
    "default_manifest_path",
    "load_manifest",
]

MANIFEST_ENV = "ARCP_FIXTURES_MANIFEST"
"""Environment variable naming the manifest when ``--manifest`` is not given."""


class ManifestError(Exception):
    """The manifest (or a fixture file it names) cannot be read; the message says why."""


@dataclass(frozen=True)
class Fixture:
    """One manifest entry with the frame text it describes."""

    id: str
    file: str
    direction: str
    receiver: str
    basis: tuple[str, ...]
    feature: str | None
    outcome: dict[str, Any]
    frame: str
    """The frame exactly as it travels: compact JSON, or an invalid fixture's raw text."""

    @property
    def verdict(self) -> str:
        """``accept``, ``receive-only``, ``accept-forward`` or ``reject``."""
        return str(self.outcome["verdict"])

    @property
    def accepted(self) -> bool:
        """True unless the receiver must refuse the frame."""
        return self.verdict != "reject"

    def parsed(self) -> Any:
        """The frame parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.frame)
        except ValueError:
            return None

    def expected(self) -> str:
        """The manifest's outcome in one phrase (``accept job.event/log``, ``reject CODE``)."""
        o = self.outcome
        if not self.accepted:
            field = " +field" if o.get("details_names_field") else ""
            kept = "" if o.get("session_stays_open", True) else " closes"
            return f"reject {o.get('code')}{field}{kept}"
        kind = f"/{o['kind']}" if "kind" in o else ""
        unknown = f" unknown {o['unknown']}" if "unknown" in o else ""
        return f"{self.verdict} {o.get('type')}{kind}{unknown}"


@dataclass(frozen=True)
class Manifest:
    """The manifest file and its fixtures, in file order."""

    path: Path
    protocol_version: str
    fixtures: tuple[Fixture, ...]

    def for_receiver(self, *receivers: str) -> list[Fixture]:
        """The fixtures whose outcome describes one of ``receivers``."""
        return [f for f in self.fixtures if f.receiver in receivers]

    def ids(self) -> set[str]:
        """Every fixture id."""
        return {f.id for f in self.fixtures}


def default_manifest_path() -> Path:
    """``$ARCP_FIXTURES_MANIFEST``, else the manifest of the contract this package ships
    (:func:`arcp.contract.contract_dir`: in the wheel, or the checkout's ``spec/``)."""
    named = os.environ.get(MANIFEST_ENV)
    if named:
        return Path(named)
    from arcp.contract import contract_dir

    try:
        return Path(str(contract_dir().joinpath("fixtures").joinpath("manifest.json")))
    except FileNotFoundError:  # neither packaged nor a checkout: the loader says so
        return Path("spec") / "fixtures" / "manifest.json"


def _compact(value: Any) -> str:
    return orjson.dumps(value).decode()


def _frame_text(folder: str, doc: Any) -> str:
    if folder in ("valid", "receive-only"):
        return _compact(doc)
    body = cast(dict[str, Any], doc) if isinstance(doc, dict) else {}
    if folder == "invalid" and isinstance(body.get("raw_frame"), str):
        return str(body["raw_frame"])
    if "frame" not in body:
        raise ManifestError(f"a {folder}/ fixture without `frame`")
    return _compact(body["frame"])


def _fixture(root: Path, entry: Any) -> Fixture:
    if not isinstance(entry, dict):
        raise ManifestError("a `fixtures` entry is not an object")
    e = cast(dict[str, Any], entry)
    try:
        fid, file, outcome = str(e["id"]), str(e["file"]), e["outcome"]
        direction, receiver = str(e["direction"]), str(e["receiver"])
        basis = tuple(str(b) for b in e["basis"])
        feature = e["feature"]
    except (KeyError, TypeError) as exc:
        raise ManifestError(f"entry {e.get('id')!r} lacks a documented field ({exc})") from None
    if not isinstance(outcome, dict) or "verdict" not in outcome:
        raise ManifestError(f"entry {fid!r}: `outcome` has no verdict")
    path = root / file
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ManifestError(f"entry {fid!r}: cannot read {path}: {exc}") from None
    try:
        text = _frame_text(file.split("/", 1)[0], doc)
    except (ManifestError, orjson.JSONEncodeError) as exc:
        raise ManifestError(f"entry {fid!r}: {exc}") from None
    return Fixture(
        id=fid,
        file=file,
        direction=direction,
        receiver=receiver,
        basis=basis,
        feature=feature if isinstance(feature, str) else None,
        outcome=cast(dict[str, Any], outcome),
        frame=text,
    )


def load_manifest(path: Path | str | None = None) -> Manifest:
    """Read the manifest at ``path`` (default :func:`default_manifest_path`) and every
    fixture file it lists; :class:`ManifestError` when any of it cannot be read."""
    where = Path(path) if path is not None else default_manifest_path()
    try:
        doc = json.loads(where.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(
            f"no fixtures manifest at {where} (pass --manifest or set {MANIFEST_ENV})"
        ) from None
    except (OSError, ValueError) as exc:
        raise ManifestError(f"cannot read the manifest {where}: {exc}") from None
    body = cast(dict[str, Any], doc) if isinstance(doc, dict) else {}
    if not isinstance(body.get("fixtures"), list):
        raise ManifestError(f"{where} is not a fixtures manifest (no `fixtures` array)")
    entries = cast(list[Any], body["fixtures"])
    fixtures = tuple(_fixture(where.parent, e) for e in entries)
    return Manifest(where, str(body.get("protocol_version", "")), fixtures)
