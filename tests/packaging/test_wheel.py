"""The built wheel, installed into a fresh venv, as an application sees it (issue 12, item 2;
issue 16, item 3: the contract files inside it, read through ``importlib.resources``).

One module-scoped build: ``uv build --wheel``, then ``uv venv`` + ``uv pip install`` of the
wheel (its dependencies constrained to ``uv.lock``). A small application is type-checked
with pyright in strict mode against the INSTALLED package (not ``src/``), then run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import arcp

REPO = Path(__file__).resolve().parents[2]

APP = '''\
"""A downstream application: a runtime and a client in one process, over memory."""

from __future__ import annotations

import asyncio

import arcp
from arcp import Client, JobContext, Runtime
from arcp.transport import memory_pair
from arcp.types import JobStatus, ProgressBody, ProgressEvent
from arcp_gen.errors import ARCPError


async def count(input: dict[str, object], ctx: JobContext) -> dict[str, object]:
    await ctx.log("counting")
    return {"n": input.get("n", 0)}


async def main() -> str:
    runtime = Runtime(tokens={"dev": "alice"})
    runtime.agent("count", version="1.0.0", default=True)(count)
    ours, theirs = memory_pair()
    served = asyncio.ensure_future(runtime.serve(theirs))
    try:
        async with Client.connect(ours, token="dev", reconnect=False) as client:
            job = await client.submit("count", {"n": 3})
            result = await job.result()
    finally:
        await runtime.aclose()
        served.cancel()
    status: JobStatus = "success"
    event = ProgressEvent(kind="progress", ts="2026-01-01T00:00:00.000Z", body=ProgressBody(current=1))
    assert isinstance(ARCPError("x"), Exception)
    return f"{arcp.__version__} {status} {event.body.current} {result!r}"


if __name__ == "__main__":
    print(asyncio.run(main()))
'''

PYRIGHT_CONFIG = {
    "typeCheckingMode": "strict",
    "reportMissingTypeStubs": "error",
    "reportMissingModuleSource": "error",
    "pythonVersion": "3.11",
}


def _uv() -> str:
    found = shutil.which("uv") or shutil.which("uv", path=str(Path.home() / ".local" / "bin"))
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("uv is needed to build the wheel and is missing under CI")
        pytest.skip("uv is not installed")
    return found


def _run(*cmd: str | Path, cwd: Path = REPO, timeout: float = 300) -> str:
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


class Installed:
    def __init__(self, wheel: Path, python: Path, app: Path) -> None:
        self.wheel, self.python, self.app = wheel, python, app


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    uv = _uv()
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    _run(uv, "build", "--wheel", "--out-dir", dist, "--quiet")
    (wheel,) = dist.glob("*.whl")
    constraints = root / "constraints.txt"
    _run(uv, "export", "--frozen", "--no-dev", "--all-extras", "--no-hashes", "--no-emit-project",
         "--quiet", "--output-file", constraints)  # fmt: skip
    venv = root / "venv"
    _run(uv, "venv", "--quiet", "--python", sys.executable, venv)
    python = venv / "bin" / "python"
    _run(uv, "pip", "install", "--quiet", "--python", python, "-c", constraints, wheel)
    app = root / "app"
    app.mkdir()
    (app / "main.py").write_text(APP)
    (app / "pyrightconfig.json").write_text(json.dumps(PYRIGHT_CONFIG))
    yield Installed(wheel, python, app)


def test_wheel_is_named_arcp_sdk_and_carries_both_typed_packages(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as whl:
        names = set(whl.namelist())
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        fields = whl.read(metadata).decode()
    assert "arcp/py.typed" in names
    assert "arcp_gen/py.typed" in names
    assert "Name: arcp-sdk\n" in fields
    assert f"Version: {arcp.__version__}\n" in fields
    assert not any(n.startswith(("tests/", "codegen/", "bench/")) for n in names)


def test_application_type_checks_strictly_against_the_installed_wheel(
    installed: Installed,
) -> None:
    pyright = Path(sys.executable).parent / "pyright"
    where = _run(installed.python, "-c", "import arcp; print(arcp.__file__)", cwd=installed.app)
    assert str(installed.python.parent.parent) in where, "the app must see the installed wheel"
    out = subprocess.run(
        [str(pyright), "--pythonpath", str(installed.python), "--outputjson", "main.py"],
        cwd=installed.app,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(out.stdout)
    problems = [
        f"{d['range']['start']['line'] + 1}: {d.get('rule', '')} {d['message']}"
        for d in report["generalDiagnostics"]
    ]
    assert problems == [], "\n".join(problems)
    assert report["summary"]["filesAnalyzed"] == 1


def test_application_runs_against_the_installed_wheel(installed: Installed) -> None:
    out = _run(installed.python, "main.py", cwd=installed.app, timeout=120)
    assert out.strip() == f"{arcp.__version__} success 1 {{'n': 3}}"


CONTRACT_PROBE = """\
import hashlib, json
from importlib.resources import files

from arcp import contract

folder = contract.contract_dir()
packaged = files("arcp").joinpath("_contract")
version = contract.version()
sums = contract.sha256sums()
print(json.dumps({
    "folder": str(folder),
    "packaged": packaged.is_dir() and str(packaged) == str(folder),
    "version": [version.protocol_version, version.revision, version.npm_version],
    "sums": sums,
    "bad": contract.verify(),
    "fixtures": len(contract.manifest()["fixtures"]),
    "schema_sha256": hashlib.sha256(contract.read_bytes(f"arcp-{version.protocol_version}.schema.json")).hexdigest(),
    "metamodel_id": contract.metamodel()["$id"],
}))
"""


def test_the_wheel_carries_the_contract_files(installed: Installed) -> None:
    """Every file SHA256SUMS pins, its changelog and the npm manifest are in the wheel under
    ``arcp/_contract/``, byte for byte as in ``spec/``."""
    spec = REPO / "spec"
    pinned = [line.split("  ", 1)[1] for line in (spec / "SHA256SUMS").read_text().splitlines()]
    with zipfile.ZipFile(installed.wheel) as whl:
        names = set(whl.namelist())
        for rel in [*pinned, "SHA256SUMS", "CHANGELOG.md", "README.md", "package.json"]:
            assert f"arcp/_contract/{rel}" in names, rel
            assert whl.read(f"arcp/_contract/{rel}") == (spec / rel).read_bytes(), rel


def test_the_installed_contract_reads_through_importlib_resources(installed: Installed) -> None:
    from arcp import contract
    from arcp_gen import SCHEMA_SHA256

    out = _run(installed.python, "-c", CONTRACT_PROBE, cwd=installed.app, timeout=120)
    report = json.loads(out)
    assert str(installed.python.parent.parent) in report["folder"]
    assert report["packaged"] is True
    here = contract.version()
    assert report["version"] == [here.protocol_version, here.revision, here.npm_version]
    assert report["sums"] == contract.sha256sums()
    assert report["bad"] == []
    assert report["fixtures"] == len(contract.manifest()["fixtures"])
    assert report["schema_sha256"] == SCHEMA_SHA256
    assert report["metamodel_id"] == contract.metamodel()["$id"]
