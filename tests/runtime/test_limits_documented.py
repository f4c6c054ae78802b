"""Every runtime limit is documented with its default and reachable from `arcp serve`
(#13: "docs/deployment.md documents every limit, its default and how to change it")."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from arcp.cli.serve import serve
from arcp.protocol.limits import Limits
from arcp.runtime.policy import policy_from_mapping

DEPLOYMENT = (Path(__file__).parents[2] / "docs" / "deployment.md").read_text()


def test_every_limits_field_is_in_the_table_and_the_policy_example() -> None:
    for f in fields(Limits):
        assert f"| `{f.name}` |" in DEPLOYMENT, f.name
        assert f"\n{f.name} = " in DEPLOYMENT, f.name  # the [limits] example
        # ...and a policy file can set it
        assert getattr(policy_from_mapping({"limits": {f.name: 7}}).limits, f.name) == 7


def test_flow_control_and_buffers_are_serve_options() -> None:
    names = {opt for param in serve.params for opt in getattr(param, "opts", ())}
    for option in ("--high-water", "--buffer-limit", "--resume-window", "--policy"):
        assert option in names, option
        assert f"`{option}`" in DEPLOYMENT, option
