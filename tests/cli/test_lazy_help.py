"""`arcp --help` imports no subcommand, and nothing beyond what `import arcp` does
(issue 12 item 2: `arcp --help` within 0.5 s)."""

from __future__ import annotations

import json
import subprocess
import sys

_PROBE = """
import json, sys
{body}
print(json.dumps(sorted(sys.modules)))
"""


def _modules(body: str) -> set[str]:
    code = _PROBE.format(body=body)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_help_loads_no_subcommand_nor_client_or_runtime_stack() -> None:
    base = _modules("import arcp")
    helped = _modules(
        "from arcp.cli.main import cli\n"
        "try:\n    cli(['--help'], prog_name='arcp')\nexcept SystemExit:\n    pass"
    )
    extra = helped - base
    heavy = ("arcp.client", "arcp.runtime", "arcp.transport", "arcp.store", "rich", "websockets")
    assert not [m for m in extra if m.startswith(heavy)], sorted(extra)
    assert not [m for m in helped if m.startswith("arcp.cli.") and m != "arcp.cli.main"]


def _help(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "arcp", *args, "--help"], capture_output=True, text=True, check=True
    ).stdout


def test_help_lists_every_command_untruncated() -> None:
    commands = _help().split("Commands:", 1)[1]
    for name in ("serve", "submit", "jobs", "watch", "cancel", "tail", "demo", "conformance"):
        assert f"  {name} " in commands
    assert "..." not in commands


def test_subcommand_help_has_units_and_no_literal_markup() -> None:
    serve = _help("serve")
    for option in ("--port", "--resume-window", "--heartbeat-interval"):
        line = serve.split(option, 1)[1].split("\n  -", 1)[0]
        assert len(line.split()) > 3, (option, line)
    assert "seconds" in serve.split("--resume-window", 1)[1].split("--heartbeat", 1)[0]
    for name in ("serve", "submit", "jobs", "watch", "cancel", "tail", "demo", "conformance"):
        assert "``" not in _help(name), name
