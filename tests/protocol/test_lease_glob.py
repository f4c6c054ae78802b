"""Capability globs (§9.2, wire-decisions: Leases) and glob inclusion (§9.4).

Expected values are written out by hand or come from a brute-force reference matcher in this
file, never from the module under test.
"""

from __future__ import annotations

import itertools
import time
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arcp.protocol.lease_glob import (
    PATH_DOMAIN,
    Glob,
    compile_glob,
    glob_includes,
    separating_string,
)


def reference_match(pattern: str, text: str) -> bool:
    """Brute-force dynamic programme over the raw pattern text (independent of the module)."""

    @cache
    def go(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(text)
        if pattern[i] == "*":
            k = i
            while k < len(pattern) and pattern[k] == "*":
                k += 1
            crosses = k - i >= 2
            for end in range(j, len(text) + 1):
                if not crosses and "/" in text[j:end]:
                    break
                if go(k, end):
                    return True
            return False
        if j == len(text):
            return False
        if pattern[i] == "?":
            return text[j] != "/" and go(i + 1, j + 1)
        return pattern[i] == text[j] and go(i + 1, j + 1)

    return go(0, 0)


MATCH_TABLE = [
    # (pattern, text, expected)
    ("abc", "abc", True),
    ("abc", "abcd", False),
    ("abc", "ab", False),
    ("", "", True),
    ("", "a", False),
    ("*", "", True),
    ("*", "abc", True),
    ("*", "a/b", False),
    ("a/*", "a/b", True),
    ("a/*", "a/b/c", False),
    ("a/*", "a/", True),
    ("**", "", True),
    ("**", "a/b/c", True),
    ("**/c", "a/b/c", True),
    ("**/c", "/c", True),
    ("**/c", "c", False),
    ("a/**/c", "a/b/x/c", True),
    ("a/**/c", "a/c", False),
    ("a/**", "a/", True),
    ("a/**", "a", False),
    ("a/**", "a/b/c/d", True),
    ("***", "a/b", True),
    ("?", "a", True),
    ("?", "/", False),
    ("?", "", False),
    ("?", "ab", False),
    ("a?c", "abc", True),
    ("a?c", "a/c", False),
    ("*.py", "main.py", True),
    ("*.py", "src/main.py", False),
    ("**.py", "src/main.py", True),
    ("tier-fast/*", "tier-fast/m1", True),
    ("tier-fast/*", "tier-fast/m1/x", False),
    ("anthropic/claude-3-haiku-*", "anthropic/claude-3-haiku-20240307", True),
    ("[abc]", "[abc]", True),
    ("[abc]", "a", False),
    ("a.b", "axb", False),
    ("a+b", "a+b", True),
    ("\\*", "\\x", True),
    ("ü*", "über", True),
    ("日本/*", "日本/語", True),
    ("日?", "日本", True),
    ("*a*", "bab", True),
    ("*a*", "bbb", False),
    ("*a*b", "xaxb", True),
    ("*a*b", "xa/xb", False),
    ("**a**b", "xa/xb", True),
    ("*/*", "a/b", True),
    ("*/*", "a/b/c", False),
    ("a\nb", "a\nb", True),
    ("**", "line\nbreak", True),
]


@pytest.mark.parametrize(("pattern", "text", "expected"), MATCH_TABLE)
def test_match_table(pattern: str, text: str, expected: bool) -> None:
    """§9.2 glob grammar: `*` stays in a segment, `**` crosses, `?` is one non-slash char."""
    glob = compile_glob(pattern)
    assert reference_match(pattern, text) is expected  # the table itself is right
    assert glob.matches(text) is expected
    assert glob.matches_nfa(text) is expected


def test_compile_is_cached() -> None:
    """Patterns compile once and are shared (gate hot path)."""
    assert compile_glob("a/*/b") is compile_glob("a/*/b")


def test_has_wildcards() -> None:
    assert not compile_glob("plain/name").has_wildcards
    assert compile_glob("a?").has_wildcards
    assert compile_glob("a*").has_wildcards


def test_hostile_pattern_is_linear() -> None:
    """Many ambiguous stars use the NFA; a failing match on a long target stays fast."""
    glob = Glob("**a**a**a**a**a**a**a**b")
    text = "a" * 5000
    started = time.perf_counter()
    assert not glob.matches(text)
    assert not compile_glob("*a*a*a*a*a*a*a*b").matches(text)
    assert time.perf_counter() - started < 2.0


ALPHABET = ["a", "b", "/", "*", "**", "?", "."]
pattern_st = st.lists(st.sampled_from(ALPHABET), max_size=7).map("".join)
text_st = st.lists(st.sampled_from(["a", "b", "/", ".", "c"]), max_size=9).map("".join)


@settings(max_examples=300, deadline=None)
@given(pattern_st, text_st)
def test_matcher_agrees_with_reference(pattern: str, text: str) -> None:
    """Property (b): regex fast path and NFA both agree with the brute-force reference."""
    glob = Glob(pattern)
    expected = reference_match(pattern, text)
    assert glob.matches(text) is expected
    assert glob.matches_nfa(text) is expected


def _strings(alphabet: str, max_len: int) -> list[str]:
    out = [""]
    for n in range(1, max_len + 1):
        out.extend("".join(p) for p in itertools.product(alphabet, repeat=n))
    return out


SMALL_TEXTS = _strings("ab/.", 5)


@settings(max_examples=300, deadline=None)
@given(pattern_st, pattern_st)
def test_inclusion_is_sound(parent: str, child: str) -> None:
    """§9.4: when inclusion is claimed, no string (up to length 5) separates the patterns."""
    p, c = Glob(parent), Glob(child)
    if glob_includes(p, c):
        for text in SMALL_TEXTS:
            if c.matches(text):
                assert p.matches(text), (parent, child, text)


@settings(max_examples=300, deadline=None)
@given(pattern_st, pattern_st, st.booleans())
def test_inclusion_is_exact(parent: str, child: str, as_paths: bool) -> None:
    """§9.4: a refused inclusion comes with a real separating string (nothing refused for
    lack of trying, below the state budget); an accepted one has none."""
    if as_paths:
        parent, child = "/" + parent, "/" + child
    domain = PATH_DOMAIN if as_paths else None
    p, c = Glob(parent), Glob(child)
    witness = separating_string(p, c, domain=domain)
    assert glob_includes(p, c, domain=domain) is (witness is None)
    if witness is not None:
        assert c.matches(witness)
        assert not p.matches(witness)
        if as_paths:
            assert reference_is_normalised_path(witness)


def reference_is_normalised_path(text: str) -> bool:
    if text == "/":
        return True
    return text.startswith("/") and all(s not in ("", ".", "..") for s in text[1:].split("/"))


INCLUSION_TABLE = [
    # (parent, child, domain_is_path, expected)
    ("a*", "a*", False, True),
    ("**", "anything/at/all*", False, True),
    ("a*", "a?*", False, True),
    ("a?*", "a*", False, False),  # child admits "a"
    ("*", "**", False, False),
    ("**", "*", False, True),
    ("a/**", "a/b/**", False, True),
    ("a/b/**", "a/**", False, False),
    ("a/*", "a/b", False, True),
    ("a/*", "a/b/c", False, False),
    ("*.py", "test_*.py", False, True),
    ("test_*.py", "*.py", False, False),
    ("**/*.py", "src/**/*.py", False, True),
    ("*a*", "*aa*", False, True),
    ("*aa*", "*a*", False, False),
    ("?", "*", False, False),
    ("a**", "a*/**", False, True),
    # over normalised paths: "/a/" never occurs, so "/a/?*" covers "/a/*"
    ("/a/?*", "/a/*", True, True),
    ("/a/?*", "/a/*", False, False),
    ("/**", "/a/**", True, True),
    ("/a/**", "/**", True, False),
    ("/a/**", "/a/*/**", True, True),
]


@pytest.mark.parametrize(("parent", "child", "path", "expected"), INCLUSION_TABLE)
def test_inclusion_table(parent: str, child: str, path: bool, expected: bool) -> None:
    """§9.4 pattern covers pattern, decided exactly (optionally over normalised paths)."""
    domain = PATH_DOMAIN if path else None
    assert glob_includes(Glob(parent), Glob(child), domain=domain) is expected


def test_inclusion_state_limit_is_conservative() -> None:
    """Past the state budget the answer is 'not covered', even for a true inclusion."""
    parent, child = Glob("**a**b**"), Glob("**a**b**c")
    assert glob_includes(parent, child)
    assert not glob_includes(parent, child, limit=1)
