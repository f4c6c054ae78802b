"""The typed wire models, under the main package: ``from arcp.types import ProgressEvent``.

Everything public that ``arcp_gen.models`` (payloads, event bodies and events, §5 to §12) and
``arcp_gen.messages`` (typed envelopes and the ``Message``/``EventPayload`` unions) define,
re-exported as they are generated: the list follows the generated modules, never a copy.
Importing this module defines the pydantic classes (their validators still compile on
first use).
"""

from __future__ import annotations

from arcp_gen import messages as _messages
from arcp_gen import models as _models
from arcp_gen.messages import *  # noqa: F403
from arcp_gen.models import *  # noqa: F403


def _public(module: object) -> list[str]:
    """The names a generated module defines itself (its ``__all__`` when it has one)."""
    names: list[str] | None = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    home = getattr(module, "__name__", "")
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == home
    ]


__all__ = sorted({*_public(_models), *_public(_messages)})  # pyright: ignore[reportUnsupportedDunderAll]
