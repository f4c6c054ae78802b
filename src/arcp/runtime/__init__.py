"""The ARCP reference runtime (§6-§8): host agents and serve them over any transport."""

from arcp.runtime.context import JobContext, ResultStream
from arcp.runtime.runtime import Agent, Runtime, TokenVerifier

__all__ = ["Agent", "JobContext", "ResultStream", "Runtime", "TokenVerifier"]
