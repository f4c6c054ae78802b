"""Literal starts of anchored regular expressions, for types that cannot hold a pattern.

A target whose string type can carry a prefix (TypeScript's `` `x-vendor.${string}` ``)
uses :func:`literal_starts` to type a ``pattern`` no narrower than the pattern itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["literal_starts"]

_META = re.compile(r"[.^$*+?()\[\]{}|\\]")
_QUANT = "*+?{"


def _literal_prefix(alt: str) -> tuple[str, bool]:
    """The literal text ``alt`` must start with, and whether ``alt`` is only that text."""
    out: list[str] = []
    i = 0
    while i < len(alt):
        ch = alt[i]
        if ch == "\\" and i + 1 < len(alt) and not alt[i + 1].isalnum():
            lit, step = alt[i + 1], 2
        elif _META.match(ch):
            return "".join(out), False
        else:
            lit, step = ch, 1
        if alt[i + step : i + step + 1] and alt[i + step] in _QUANT:
            return "".join(out), False  # the literal is optional or repeated
        out.append(lit)
        i += step
    return "".join(out), True


def _skip_class(text: str, i: int) -> int:
    """Index just past the character class opening at ``text[i] == "["``."""
    i += 1
    if text[i : i + 1] == "]":
        i += 1
    while i < len(text) and text[i] != "]":
        i += 2 if text[i] == "\\" else 1
    return i + 1


def _structural(body: str) -> Iterator[tuple[int, str]]:
    """``(index, char)`` of each character of ``body`` outside escapes and classes."""
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            i = _skip_class(body, i)
            continue
        yield i, ch
        i += 1


def _split_top(body: str) -> list[str] | None:
    """``body`` split on its top-level bars; ``None`` if its groups do not balance."""
    parts: list[str] = []
    depth, start = 0, 0
    for i, ch in _structural(body):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return None
        elif ch == "|" and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    return parts if depth == 0 else None


def _group_body(body: str) -> str | None:
    """The inside of ``body`` when ``body`` is exactly one group (``(...)`` or ``(?:...)``)."""
    if not body.startswith("("):
        return None
    depth = 0
    for i, ch in _structural(body):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                if i != len(body) - 1:
                    return None
                inner = body[1:i]
                return inner[2:] if inner.startswith("?:") else inner
    return None
    depth, i = 0, 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            i = _skip_class(body, i)
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                if i != len(body) - 1:
                    return None
                inner = body[1:i]
                return inner[2:] if inner.startswith("?:") else inner
        i += 1
    return None


def literal_starts(pattern: str) -> list[tuple[str, bool]] | None:
    """Per top-level alternative of an anchored ``pattern``: the literal text it starts with,
    and whether it is only that text; ``None`` when some alternative has no literal start (or
    the pattern is not anchored at both ends)."""
    if not (pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith("\\$")):
        return None
    body = pattern[1:-1]
    inner = _group_body(body)
    alts = _split_top(inner) if inner is not None else _split_top(body)
    if alts is None or (inner is None and len(alts) > 1):
        return None  # `^a|b$` anchors each side once: leave it a string
    out: list[tuple[str, bool]] = []
    for alt in alts:
        prefix, whole = _literal_prefix(alt)
        if not prefix and not whole:
            return None
        out.append((prefix, whole))
    return out
