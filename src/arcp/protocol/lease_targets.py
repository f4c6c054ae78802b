"""What a capability pattern is matched against, per namespace (§9.2, wire-decisions: Leases).

- ``fs.read`` / ``fs.write``: absolute POSIX paths, normalised before matching: repeated
  slashes collapse, ``.`` segments vanish, ``..`` removes the previous segment but never climbs
  above ``/``, and a trailing slash is dropped. Relative paths are never allowed.
- ``net.fetch``: URLs split into scheme, host and path; each part is matched by its own glob.
  Scheme and host are lower-cased, a default port (80 for http/ws, 443 for https/wss) is
  dropped and any other port stays as ``host:port``. Paths get the filesystem normalisation
  after decoding percent-escaped unreserved characters. Query strings and fragments are
  ignored: a pattern constrains the path only, and ``?`` in a pattern is always a wildcard.
  Targets with user info, backslashes, whitespace or control characters in the URL are denied.
- everything else: plain-string globs over the whole name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final
from urllib.parse import urlsplit

from arcp.protocol.lease_glob import PATH_DOMAIN, Glob, compile_glob, glob_includes

__all__ = [
    "FS_NAMESPACES",
    "URL_NAMESPACES",
    "PatternError",
    "TargetMatcher",
    "compile_target_pattern",
    "normalize_path",
    "normalize_url",
    "pattern_covers",
    "prepare_target",
    "redact_target",
    "target_kind",
]

FS_NAMESPACES: Final = frozenset({"fs.read", "fs.write"})
URL_NAMESPACES: Final = frozenset({"net.fetch"})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_UNSAFE_URL = re.compile(r"[\x00-\x20\x7f\\]")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class PatternError(ValueError):
    """A pattern that cannot name any target of its namespace; the message says why."""


def _collapse(path: str) -> str:
    out: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if out:
                out.pop()
            continue
        out.append(segment)
    return "/" + "/".join(out)


def normalize_path(path: str) -> str:
    """The canonical form of an absolute POSIX path; ValueError when relative or has NUL."""
    if not path.startswith("/"):
        raise ValueError("path is not absolute")
    if "\x00" in path:
        raise ValueError("path contains NUL")
    return _collapse(path)


def _decode_unreserved(path: str) -> str:
    def fix(m: re.Match[str]) -> str:
        ch = chr(int(m.group(1), 16))
        return ch if ch in _UNRESERVED else "%" + m.group(1).upper()

    return _ESCAPE.sub(fix, path)


def _host_key(scheme: str, host: str, port: int | None) -> str:
    if port is None or _DEFAULT_PORTS.get(scheme) == port:
        return host
    return f"{host}:{port}"


def normalize_url(url: str) -> tuple[str, str, str]:
    """``(scheme, host[:port], path)`` of an absolute URL; ValueError when unusable."""
    if _UNSAFE_URL.search(url):
        raise ValueError("URL contains whitespace, control characters or a backslash")
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise ValueError("URL is not absolute")
    if "@" in parts.netloc:
        raise ValueError("URL carries user info")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError("URL has no host")
    if ":" in host:
        host = f"[{host}]"
    port = parts.port  # raises ValueError when not a valid port
    path = _collapse(_decode_unreserved(parts.path)) if parts.path else "/"
    return parts.scheme.lower(), _host_key(parts.scheme.lower(), host, port), path


def _normalize_path_pattern(pattern: str) -> str:
    collapsed = re.sub("/{2,}", "/", pattern)
    segments = collapsed.split("/")
    if any(segment in (".", "..") for segment in segments):
        raise PatternError("path patterns may not contain '.' or '..' segments")
    if len(collapsed) > 1 and collapsed.endswith("/"):
        collapsed = collapsed[:-1]
    return collapsed


@dataclass(frozen=True, slots=True)
class TargetMatcher:
    """A compiled pattern of one namespace: a single glob, or three for a URL."""

    kind: str  # "fs" | "url" | "name"
    pattern: str
    globs: tuple[Glob, ...]

    def matches(self, target: str) -> bool:
        """True when ``target`` (raw, as the agent named it) is covered (§9.3)."""
        prepared = prepare_target(self.kind, target)
        return prepared is not None and self.matches_prepared(prepared)

    def matches_prepared(self, prepared: tuple[str, ...]) -> bool:
        """Like :meth:`matches` for a target already passed through :func:`prepare_target`."""
        if self.kind == "url":
            s, h, p = self.globs
            return s.matches(prepared[0]) and h.matches(prepared[1]) and p.matches(prepared[2])
        return self.globs[0].matches(prepared[0])


def prepare_target(kind: str, target: str) -> tuple[str, ...] | None:
    """Normalise ``target`` once for every pattern of a ``kind``; None when it is unusable."""
    try:
        if kind == "fs":
            return (normalize_path(target),)
        if kind == "url":
            return normalize_url(target)
    except ValueError:
        return None
    return (target,)


def target_kind(namespace: str) -> str:
    """``"fs"``, ``"url"`` or ``"name"``: how targets of ``namespace`` are read."""
    if namespace in FS_NAMESPACES:
        return "fs"
    if namespace in URL_NAMESPACES:
        return "url"
    return "name"


def _compile_url_pattern(pattern: str) -> tuple[Glob, ...]:
    scheme, sep, rest = pattern.partition("://")
    if not sep or not scheme or "/" in scheme:
        raise PatternError("URL patterns must start with 'scheme://'")
    authority, slash, path = rest.partition("/")
    if not authority:
        raise PatternError("URL patterns must name a host")
    if "@" in authority or _UNSAFE_URL.search(authority):
        raise PatternError("URL pattern hosts may not carry user info or unsafe characters")
    scheme, authority = scheme.lower(), authority.lower()
    default = _DEFAULT_PORTS.get(scheme)
    if default is not None and authority.endswith(f":{default}"):
        authority = authority[: -len(f":{default}")]
    path_pattern = _normalize_path_pattern(_decode_unreserved(slash + path) or "/")
    return compile_glob(scheme), compile_glob(authority), compile_glob(path_pattern)


@lru_cache(maxsize=8192)
def compile_target_pattern(namespace: str, pattern: str) -> TargetMatcher:
    """Compile ``pattern`` for ``namespace`` (cached); PatternError when it is unusable."""
    kind = target_kind(namespace)
    if kind == "fs":
        if not (pattern.startswith("/") or pattern.startswith("**")):
            raise PatternError("filesystem patterns must be absolute (start with '/' or '**')")
        return TargetMatcher(kind, pattern, (compile_glob(_normalize_path_pattern(pattern)),))
    if kind == "url":
        return TargetMatcher(kind, pattern, _compile_url_pattern(pattern))
    return TargetMatcher(kind, pattern, (compile_glob(pattern),))


def pattern_covers(parent: TargetMatcher, child: TargetMatcher) -> bool:
    """True only when every target ``child`` admits is admitted by ``parent`` (§9.4).

    Exact for names and filesystem paths (over normalised paths); URLs are compared part by
    part, each part exactly, paths over normalised paths, scheme and host over all strings.
    False whenever the inclusion search exceeds its state budget.
    """
    if parent.kind != child.kind:
        return False
    if parent.pattern == child.pattern:
        return True
    if child.kind == "name":
        return glob_includes(parent.globs[0], child.globs[0])
    if child.kind == "fs":
        return glob_includes(parent.globs[0], child.globs[0], domain=PATH_DOMAIN)
    ps, ph, pp = parent.globs
    cs, ch, cp = child.globs
    return (
        glob_includes(ps, cs)
        and glob_includes(ph, ch)
        and glob_includes(pp, cp, domain=PATH_DOMAIN)
    )


def redact_target(namespace: str, target: str, limit: int = 200) -> str | None:
    """A form of ``target`` safe to put in an error: URLs lose user info, query and fragment."""
    if target_kind(namespace) == "url":
        try:
            scheme, host, path = normalize_url(target)
        except ValueError:
            return None
        target = f"{scheme}://{host}{path}"
    return target if len(target) <= limit else target[: limit - 3] + "..."
