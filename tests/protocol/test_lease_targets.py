"""Per-namespace targets (§9.2, §9.3, wire-decisions: Leases): paths, URLs, names."""

from __future__ import annotations

import pytest

from arcp.protocol.lease import Lease, normalize_path, normalize_url
from arcp.protocol.lease_targets import compile_target_pattern, pattern_covers, redact_target

PATHS = [
    ("/", "/"),
    ("/a/b", "/a/b"),
    ("/a//b", "/a/b"),
    ("//a///b//", "/a/b"),
    ("/a/./b/.", "/a/b"),
    ("/a/b/../c", "/a/c"),
    ("/workspace/../etc/passwd", "/etc/passwd"),
    ("/../../etc", "/etc"),
    ("/..", "/"),
    ("/a/b/", "/a/b"),
    ("/a/...", "/a/..."),
    ("/a/.hidden", "/a/.hidden"),
    ("/dätä/ファイル", "/dätä/ファイル"),
]


@pytest.mark.parametrize(("raw", "expected"), PATHS)
def test_normalize_path(raw: str, expected: str) -> None:
    """Filesystem targets are normalised before matching; `..` never climbs above `/`."""
    assert normalize_path(raw) == expected


@pytest.mark.parametrize("raw", ["", "a/b", "./a", "../etc", "~/x", "/a\x00b"])
def test_normalize_path_rejects(raw: str) -> None:
    with pytest.raises(ValueError):
        normalize_path(raw)


FS_TABLE = [
    # (pattern, target, allowed)
    ("/workspace/**", "/workspace/a.txt", True),
    ("/workspace/**", "/workspace/sub/dir/a.txt", True),
    ("/workspace/**", "/workspace/../etc/passwd", False),
    ("/workspace/**", "/workspace/sub/../../etc/passwd", False),
    ("/workspace/**", "/workspace/sub/../a.txt", True),
    ("/workspace/**", "/workspace", False),
    ("/workspace/**", "/workspace/", False),
    ("/workspace/**", "/workspaces/x", False),
    ("/workspace/**", "workspace/a.txt", False),
    ("/workspace/**", "/workspace//a.txt", True),
    ("/workspace/*", "/workspace/a.txt", True),
    ("/workspace/*", "/workspace/sub/a.txt", False),
    ("/workspace/*.txt", "/workspace/./a.txt", True),
    ("/workspace/?.txt", "/workspace/a.txt", True),
    ("/workspace/?.txt", "/workspace/ab.txt", False),
    ("/workspace/", "/workspace", True),  # trailing slash in a pattern is dropped
    ("/workspace//data/**", "/workspace/data/x", True),
    ("**/*.py", "/src/app/main.py", True),
    ("**", "/", True),
    ("/**/secrets", "/a/b/secrets", True),
    ("/a/**/b", "/a/b", False),
    ("/home/ü*/**", "/home/über/x", True),
]


@pytest.mark.parametrize(("pattern", "target", "allowed"), FS_TABLE)
def test_fs_matching(pattern: str, target: str, allowed: bool) -> None:
    """§9.2 path globs over normalised absolute paths (fs.read and fs.write alike)."""
    for namespace in ("fs.read", "fs.write"):
        lease = Lease.from_request({namespace: [pattern]})
        assert lease.allows(namespace, target) is allowed
        other = "fs.write" if namespace == "fs.read" else "fs.read"
        assert not lease.allows(other, target)


URLS = [
    ("https://Example.COM/a", ("https", "example.com", "/a")),
    ("HTTPS://example.com:443/a", ("https", "example.com", "/a")),
    ("http://example.com:80", ("http", "example.com", "/")),
    ("http://example.com:8080/", ("http", "example.com:8080", "/")),
    ("https://example.com:80/", ("https", "example.com:80", "/")),
    ("https://example.com./a", ("https", "example.com", "/a")),
    ("https://example.com/a/../../b?x=1#f", ("https", "example.com", "/b")),
    ("https://example.com/a/%2e%2e/b", ("https", "example.com", "/b")),
    ("https://example.com/%7euser/%2fx", ("https", "example.com", "/~user/%2Fx")),
    ("https://example.com//a//", ("https", "example.com", "/a")),
    ("http://[::1]:8080/x", ("http", "[::1]:8080", "/x")),
]


@pytest.mark.parametrize(("raw", "expected"), URLS)
def test_normalize_url(raw: str, expected: tuple[str, str, str]) -> None:
    """URL targets split into scheme, host (default port dropped) and normalised path."""
    assert normalize_url(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "/relative",
        "example.com/a",
        "https://user:pw@example.com/",
        "https://evil.com\\@good.com/",
        "https://exa mple.com/",
        "https://example.com:99999/",
        "https:///path",
        "https://[::1/",
    ],
)
def test_normalize_url_rejects(raw: str) -> None:
    with pytest.raises(ValueError):
        normalize_url(raw)


URL_TABLE = [
    ("https://api.example.com/**", "https://api.example.com/v1/x", True),
    ("https://api.example.com/**", "https://API.Example.com:443/v1/x", True),
    ("https://api.example.com/**", "https://api.example.com:8443/v1/x", False),
    ("https://api.example.com/**", "http://api.example.com/v1/x", False),
    ("https://api.example.com:443/**", "https://api.example.com/v1", True),
    ("https://api.example.com/**", "https://api.example.com.evil.net/x", False),
    ("https://api.example.com/**", "https://api.example.com@evil.net/x", False),
    ("https://*.example.com/**", "https://a.example.com/x", True),
    ("https://*.example.com/**", "https://example.com/x", False),
    ("https://*.example.com/**", "https://a.b.example.com/x", True),  # * crosses '.'
    ("https://api.example.com/v1/*", "https://api.example.com/v1/items?page=2", True),
    ("https://api.example.com/v1/*", "https://api.example.com/v1/a/b", False),
    ("https://api.example.com/v1/**", "https://api.example.com/v1/../admin", False),
    ("https://api.example.com/v1/**", "https://api.example.com/v1/%2e%2e/admin", False),
    ("https://api.example.com", "https://api.example.com", True),
    ("https://api.example.com", "https://api.example.com/", True),
    ("https://api.example.com/", "https://api.example.com/x", False),
    ("http*://api.example.com/**", "http://api.example.com/x", True),
    ("http*://api.example.com/**", "https://api.example.com/x", True),
    ("https://api.example.com:*/**", "https://api.example.com:9000/x", True),
    ("*://*/**", "ftp://host/x", True),
    ("*://**", "ftp://host/", True),
    ("*://**", "ftp://host/x", False),  # the host part ends at the first "/"
    ("*://*/**", "not a url", False),
]


@pytest.mark.parametrize(("pattern", "target", "allowed"), URL_TABLE)
def test_url_matching(pattern: str, target: str, allowed: bool) -> None:
    """§9.2 net.fetch: scheme, host and path each matched; query strings ignored."""
    lease = Lease.from_request({"net.fetch": [pattern]})
    assert lease.allows("net.fetch", target) is allowed


NAME_TABLE = [
    ("tool.call", "search.*", "search.web", True),
    ("tool.call", "search.*", "search", False),
    ("tool.call", "fs_*", "fs_read", True),
    ("agent.delegate", "researcher", "researcher", True),
    ("agent.delegate", "researcher", "Researcher", False),
    ("model.use", "tier-fast/*", "tier-fast/small", True),
    ("model.use", "tier-fast/*", "tier-fast/a/b", False),
    ("model.use", "gpt-4o-*", "gpt-4o-2024-08-06", True),
    ("x-vendor.acme.queue", "jobs/**", "jobs/a/b", True),
    ("tool.call", "/x", "/abs/../x", False),  # names are never path-normalised
]


@pytest.mark.parametrize(("namespace", "pattern", "target", "allowed"), NAME_TABLE)
def test_name_matching(namespace: str, pattern: str, target: str, allowed: bool) -> None:
    """§9.2, §9.7: tool, agent, model and vendor names are plain-string globs."""
    assert Lease.from_request({namespace: [pattern]}).allows(namespace, target) is allowed


COVER_TABLE = [
    ("fs.read", "/workspace/**", "/workspace/src/**", True),
    ("fs.read", "/workspace/**", "/workspace/*.txt", True),
    ("fs.read", "/workspace/*", "/workspace/**", False),
    ("fs.read", "/workspace/**", "/**", False),
    ("fs.read", "/workspace/**", "/workspace/", False),  # "/workspace" itself
    ("fs.read", "/a/?*", "/a/*", True),  # equal over normalised paths
    ("net.fetch", "https://*.example.com/**", "https://api.example.com/v1/**", True),
    ("net.fetch", "https://api.example.com/**", "https://*.example.com/**", False),
    ("net.fetch", "https://api.example.com/**", "http://api.example.com/**", False),
    ("net.fetch", "http*://h/**", "https://h/x", True),
    ("net.fetch", "https://h:443/**", "https://h/x", True),
    ("net.fetch", "https://h/**", "https://h:*/x", False),
    ("tool.call", "*", "search", True),
    ("tool.call", "search.*", "search.**", False),
]


@pytest.mark.parametrize(("namespace", "parent", "child", "covered"), COVER_TABLE)
def test_pattern_covers(namespace: str, parent: str, child: str, covered: bool) -> None:
    """§9.4: a child pattern is covered only when every target it admits the parent admits."""
    p = compile_target_pattern(namespace, parent)
    c = compile_target_pattern(namespace, child)
    assert pattern_covers(p, c) is covered


def test_redact_target_drops_secrets() -> None:
    """Denials name the target without user info, query or fragment (§14)."""
    shown = redact_target("net.fetch", "https://api.example.com/x?token=SECRET#frag")
    assert shown == "https://api.example.com/x"
    assert redact_target("net.fetch", "https://u:SECRET@h/") is None
    assert redact_target("fs.read", "/a/b") == "/a/b"
    assert redact_target("tool.call", "x" * 500) == "x" * 197 + "..."
