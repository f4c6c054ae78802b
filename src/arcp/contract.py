"""The ARCP wire contract shipped with this package: schema, metamodel, fixtures (issue 16).

The files of the repository's ``spec/`` folder travel inside the wheel (as package data under
``arcp/_contract``), so another tool or SDK written in Python depends on a contract version
through ``arcp-sdk`` instead of copying the folder::

    from arcp import contract

    contract.version()                      # ContractVersion('1.1', 1, 'urn:arcp:schema:1.1:r1')
    schema = contract.schema()              # the JSON Schema, parsed
    for entry in contract.manifest()["fixtures"]:
        frame = contract.fixture(entry["file"])   # bytes, as committed
    assert contract.verify() == []          # every file matches SHA256SUMS

Every file is read through :mod:`importlib.resources`; :func:`contract_dir` is the folder
itself (a :class:`~importlib.resources.abc.Traversable`). Run from a source checkout (no
``arcp/_contract`` beside this module) the module reads ``spec/`` of the checkout instead.
Versions and revisions: ``spec/CHANGELOG.md``; how other SDKs depend on one:
``docs/contract.md``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

__all__ = [
    "ContractVersion",
    "contract_dir",
    "fixture",
    "manifest",
    "meta_schema",
    "metamodel",
    "read_bytes",
    "schema",
    "sha256sums",
    "verify",
    "version",
]

_PACKAGED = "_contract"
_SCHEMA_NAME = re.compile(r"^arcp-[0-9]+\.[0-9]+\.schema\.json$")
_SCHEMA_ID = re.compile(r"^urn:arcp:schema:(?P<version>[0-9]+\.[0-9]+):r(?P<revision>[1-9][0-9]*)$")


@dataclass(frozen=True)
class ContractVersion:
    """The protocol version and contract revision the shipped files carry (their ``$id``)."""

    protocol_version: str
    """``major.minor``, the schema's ``x-protocol-version`` (``"1.1"``)."""
    revision: int
    """The revision of that version's files (``r1`` -> ``1``), see ``spec/CHANGELOG.md``."""
    schema_id: str
    """The schema's ``$id``: ``urn:arcp:schema:<protocol_version>:r<revision>``."""

    @property
    def npm_version(self) -> str:
        """The same contract as the npm package ``@arcp/contract`` numbers it (``1.1.1``)."""
        return f"{self.protocol_version}.{self.revision}"


def contract_dir() -> Traversable:
    """The contract folder: ``arcp/_contract`` in an installed wheel, else the checkout's
    ``spec/``. Raises :class:`FileNotFoundError` when neither exists."""
    packaged = files("arcp").joinpath(_PACKAGED)
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "spec"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("the ARCP contract files are neither packaged nor in a checkout")


def _resource(relative: str) -> Traversable:
    node = contract_dir()
    for part in relative.split("/"):
        if part in ("", ".", ".."):
            raise ValueError(f"not a path inside the contract: {relative!r}")
        node = node.joinpath(part)
    if not node.is_file():
        raise FileNotFoundError(f"no contract file {relative!r}")
    return node


def read_bytes(relative: str) -> bytes:
    """One contract file by its ``/``-separated path inside the folder (as ``SHA256SUMS``
    names it): ``"arcp-1.1.schema.json"``, ``"fixtures/valid/session.hello.json"``."""
    return _resource(relative).read_bytes()


def _json(relative: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(read_bytes(relative))
    return doc


def _schema_name() -> str:
    names = [n.name for n in contract_dir().iterdir() if _SCHEMA_NAME.match(n.name)]
    if len(names) != 1:
        raise FileNotFoundError(f"expected one arcp-<version>.schema.json, found {names}")
    return names[0]


def schema() -> dict[str, Any]:
    """``arcp-<version>.schema.json``: JSON Schema 2020-12 for one message (§5)."""
    return _json(_schema_name())


def meta_schema() -> dict[str, Any]:
    """``arcp-<version>.meta-schema.json``: 2020-12 plus the ``x-*`` annotation vocabulary."""
    return _json(_schema_name().replace(".schema.json", ".meta-schema.json"))


def metamodel() -> dict[str, Any]:
    """``arcp-<version>.metamodel.json``: messages, event kinds, error codes and features."""
    return _json(_schema_name().replace(".schema.json", ".metamodel.json"))


def manifest() -> dict[str, Any]:
    """``fixtures/manifest.json``: every fixture with its direction, basis and outcome."""
    return _json("fixtures/manifest.json")


def fixture(file: str) -> bytes:
    """A fixture's bytes by its manifest ``file`` (relative to ``fixtures/``)."""
    return read_bytes(f"fixtures/{file}")


def version() -> ContractVersion:
    """The version and revision the shipped schema's ``$id`` names."""
    doc = schema()
    found = _SCHEMA_ID.match(str(doc.get("$id", "")))
    if found is None or found["version"] != doc.get("x-protocol-version"):
        raise ValueError(f"the schema's $id {doc.get('$id')!r} names no version and revision")
    return ContractVersion(found["version"], int(found["revision"]), found.group(0))


def sha256sums() -> dict[str, str]:
    """``SHA256SUMS`` as path -> hex digest (the files a vendored copy pins)."""
    text = read_bytes("SHA256SUMS").decode("utf-8")
    pairs = (line.split("  ", 1) for line in text.splitlines() if line)
    return {path: digest for digest, path in pairs}


def verify() -> list[str]:
    """The pinned paths whose bytes do not match ``SHA256SUMS`` (``[]``: the copy is intact)."""
    bad: list[str] = []
    for path, digest in sha256sums().items():
        try:
            ok = hashlib.sha256(read_bytes(path)).hexdigest() == digest
        except FileNotFoundError:
            ok = False
        if not ok:
            bad.append(path)
    return bad
