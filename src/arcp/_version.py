"""The package version, in a leaf module: code inside the package reads it from here, never
from ``arcp/__init__`` (whose lazy imports sit above every layer)."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
