"""The demo agent contract used by ``arcp serve --demo``, the conformance kit and the docs."""

from arcp.demo.agents import DEMO_AGENTS, register_demo_agents

__all__ = ["DEMO_AGENTS", "register_demo_agents"]
