"""``--agents MODULE:ATTR``: register your own agents on the runtime ``arcp serve`` starts.

``ATTR`` is one of:

* a :class:`~arcp.runtime.Runtime` the module built with ``@runtime.agent`` (the README's
  style): its agents are offered by the runtime ``arcp serve`` runs (its other settings are
  not used; the command line decides them);
* a function that takes the :class:`~arcp.runtime.Runtime` and registers agents on it (like
  :func:`arcp.demo.register_demo_agents`);
* a sequence of ``(name, version, agent, is_default)`` tuples (like
  :data:`arcp.demo.agents.DEMO_AGENTS`).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

import click

from arcp.runtime import Runtime

__all__ = ["agents_option", "load_agents"]

F = TypeVar("F", bound=Callable[..., Any])


def agents_option(fn: F) -> F:
    """The repeatable ``--agents MODULE:ATTR`` option (parameter ``agent_specs``)."""
    return click.option(
        "--agents",
        "agent_specs",
        multiple=True,
        metavar="MODULE:ATTR",
        help="Offer the agents of MODULE:ATTR: a Runtime built with @runtime.agent, a "
        "register(runtime) function, or (name, version, agent, is_default) tuples. Repeatable; "
        "modules in the current directory are importable. See docs/agents.md.",
    )(fn)


def _resolve(spec: str) -> Any:
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise click.BadParameter(f"{spec!r}: expected MODULE:ATTR", param_hint="--agents")
    if "" not in sys.path:
        sys.path.insert(0, "")  # like `python -m`: modules next to the user are importable
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError) as exc:
        raise click.BadParameter(f"cannot load {spec!r}: {exc}", param_hint="--agents") from None
    return target


def load_agents(runtime: Runtime, specs: Iterable[str]) -> None:
    """Register the agents every ``MODULE:ATTR`` in ``specs`` names (usage error if bad)."""
    for spec in specs:
        target = _resolve(spec)
        if isinstance(target, Runtime):
            target = target.registered()
        if callable(target) and len(inspect.signature(target).parameters) == 1:
            cast(Callable[[Runtime], object], target)(runtime)
            continue
        try:
            entries = [tuple(entry) for entry in cast(Iterable[Iterable[Any]], target)]
            for name, version, agent, default in entries:
                runtime.register(str(name), agent, version=str(version), default=bool(default))
        except (TypeError, ValueError):
            raise click.BadParameter(
                f"{spec!r}: not a register(runtime) function nor (name, version, agent, "
                "is_default) tuples",
                param_hint="--agents",
            ) from None
