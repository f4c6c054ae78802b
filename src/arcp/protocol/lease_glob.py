"""Capability globs (§9.2) and glob-in-glob inclusion (§9.4), as this SDK reads them.

Grammar (wire-decisions: Leases): ``*`` is any run of characters without ``/``, ``**`` (two or
more stars in a row) any run at all, ``?`` exactly one character other than ``/``; every other
character is literal and there is no escape. A pattern matches a target only as a whole.

Matching compiles each pattern once. Patterns whose wildcards cannot make a regular expression
backtrack badly use ``re``; the others run a bit-parallel NFA that is linear in the target, so a
hostile pattern cannot stall the authority gate.

Inclusion (``L(child) ⊆ L(parent)``) is decided exactly by walking the product of both
determinised automata (and optionally a domain automaton) over a finite alphabet of
representative characters, within a state budget; past the budget the answer is "not covered".
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Final

__all__ = [
    "INCLUSION_STATE_LIMIT",
    "PATH_DOMAIN",
    "Domain",
    "Glob",
    "compile_glob",
    "glob_includes",
    "separating_string",
]

INCLUSION_STATE_LIMIT: Final = 10_000
"""Product states explored by :func:`glob_includes` before it answers "not covered"."""


class _Kind(Enum):
    LITERAL = 0
    ONE = 1  # ?
    STAR = 2  # *
    DSTAR = 3  # **


def _tokenize(pattern: str) -> list[tuple[_Kind, str]]:
    tokens: list[tuple[_Kind, str]] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            j = i
            while j < n and pattern[j] == "*":
                j += 1
            tokens.append((_Kind.STAR if j - i == 1 else _Kind.DSTAR, ""))
            i = j
            continue
        tokens.append((_Kind.ONE, "") if ch == "?" else (_Kind.LITERAL, ch))
        i += 1
    return tokens


@dataclass(frozen=True, slots=True, eq=False)
class Glob:
    """One compiled capability glob (§9.2). Build through :func:`compile_glob` (cached)."""

    pattern: str
    _literals: dict[str, int] = field(init=False, repr=False)
    _one: int = field(init=False, repr=False)
    _star: int = field(init=False, repr=False)
    _dstar: int = field(init=False, repr=False)
    _accept: int = field(init=False, repr=False)
    initial: int = field(init=False, repr=False)
    """The NFA state set before any character (see :meth:`step`)."""
    _regex: re.Pattern[str] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        tokens = _tokenize(self.pattern)
        literals: dict[str, int] = {}
        one = star = dstar = 0
        parts: list[str] = []
        ambiguous = 0
        for i, (kind, ch) in enumerate(tokens):
            bit = 1 << i
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            # A star followed by "/" or by the end can only stop at one place: no backtracking.
            settled = nxt is None or (kind is _Kind.STAR and nxt == (_Kind.LITERAL, "/"))
            if kind is _Kind.LITERAL:
                literals[ch] = literals.get(ch, 0) | bit
                parts.append(re.escape(ch))
            elif kind is _Kind.ONE:
                one |= bit
                parts.append("[^/]")
            elif kind is _Kind.STAR:
                star |= bit
                parts.append("[^/]*+" if settled else "[^/]*")
            else:
                dstar |= bit
                parts.append(".*+" if settled else ".*")
            if kind in (_Kind.STAR, _Kind.DSTAR) and not settled:
                ambiguous += 1
        set_ = object.__setattr__
        set_(self, "_literals", literals)
        set_(self, "_one", one)
        set_(self, "_star", star)
        set_(self, "_dstar", dstar)
        set_(self, "_accept", 1 << len(tokens))
        set_(self, "initial", self._close(1))
        regex = re.compile("".join(parts), re.DOTALL) if ambiguous <= 1 else None
        set_(self, "_regex", regex)

    @property
    def has_wildcards(self) -> bool:
        """True when the pattern contains ``*``, ``**`` or ``?``."""
        return bool(self._one | self._star | self._dstar)

    @property
    def literal_chars(self) -> frozenset[str]:
        """The characters the pattern names literally."""
        return frozenset(self._literals)

    def _close(self, states: int) -> int:
        # Stars may match nothing; after tokenising, no two stars are adjacent, so one pass.
        return states | ((states & (self._star | self._dstar)) << 1)

    def step(self, states: int, ch: str) -> int:
        """NFA states after reading ``ch`` (a bit set; bit i = first i tokens matched)."""
        if ch == "/":
            moved = states & self._literals.get(ch, 0)
            stay = states & self._dstar
        else:
            moved = states & (self._literals.get(ch, 0) | self._one)
            stay = states & (self._star | self._dstar)
        return self._close((moved << 1) | stay)

    def accepts(self, states: int) -> bool:
        """True when the NFA state set has matched the whole pattern."""
        return bool(states & self._accept)

    def matches_nfa(self, text: str) -> bool:
        """Match with the linear-time NFA only (exposed for tests)."""
        states = self.initial
        for ch in text:
            states = self.step(states, ch)
            if not states:
                return False
        return self.accepts(states)

    def matches(self, text: str) -> bool:
        """True when the whole of ``text`` matches the pattern (§9.2)."""
        if self._regex is not None:
            return self._regex.fullmatch(text) is not None
        return self.matches_nfa(text)


@lru_cache(maxsize=8192)
def compile_glob(pattern: str) -> Glob:
    """The compiled :class:`Glob` for ``pattern``, cached across leases."""
    return Glob(pattern)


@dataclass(frozen=True, slots=True)
class Domain:
    """A small DFA restricting which strings can ever be targets (for exact inclusion).

    ``moves[state]`` maps a character to the next state; ``other[state]`` is the state for any
    character not listed; state ``-1`` is dead. ``alphabet`` lists the characters with their
    own transitions.
    """

    start: int
    accepting: frozenset[int]
    moves: tuple[dict[str, int], ...]
    other: tuple[int, ...]
    alphabet: frozenset[str]

    def step(self, state: int, ch: str) -> int:
        """The state after reading ``ch`` (``-1`` is dead)."""
        return self.moves[state].get(ch, self.other[state])


_DEAD = -1
# Normalised absolute POSIX paths: "/" or ("/" segment)+ where no segment is "", "." or "..".
# States: 0 start, 1 root "/", 2 after an inner "/", 3 segment ".", 4 segment "..", 5 segment.
PATH_DOMAIN: Final = Domain(
    start=0,
    accepting=frozenset({1, 5}),
    moves=(
        {"/": 1},
        {"/": _DEAD, ".": 3},
        {"/": _DEAD, ".": 3},
        {"/": _DEAD, ".": 4},
        {"/": _DEAD},
        {"/": 2},
    ),
    other=(_DEAD, 5, 5, 5, 5, 5),
    alphabet=frozenset("/."),
)
"""Targets of ``fs.*`` and URL paths after normalisation (§9.2, wire-decisions: Leases)."""


def _representative(used: set[str]) -> str:
    code = 0xE000
    while chr(code) in used:
        code += 1
    return chr(code)


def separating_string(
    parent: Glob,
    child: Glob,
    *,
    domain: Domain | None = None,
    limit: int = INCLUSION_STATE_LIMIT,
) -> str | None:
    """A shortest string (in ``domain``) that ``child`` matches and ``parent`` does not.

    None when there is none, or when the search gave up after ``limit`` product states.
    """
    found = _search(parent, child, domain, limit)
    return found if isinstance(found, str) else None


def glob_includes(
    parent: Glob,
    child: Glob,
    *,
    domain: Domain | None = None,
    limit: int = INCLUSION_STATE_LIMIT,
) -> bool:
    """True when every string (in ``domain``, if given) matched by ``child`` matches ``parent``.

    Exact, except that it answers False once more than ``limit`` product states were explored
    (§9.4: never claim coverage that was not proven).
    """
    if parent.pattern == child.pattern:
        return True
    if domain is None and not child.has_wildcards:
        return parent.matches(child.pattern)
    return _search(parent, child, domain, limit) is True


_State = tuple[int, int, int]


def _witness(came_from: dict[_State, tuple[_State, str] | None], state: _State) -> str:
    chars: list[str] = []
    link = came_from[state]
    while link is not None:
        state, ch = link
        chars.append(ch)
        link = came_from[state]
    return "".join(reversed(chars))


def _search(parent: Glob, child: Glob, domain: Domain | None, limit: int) -> bool | str:
    """Breadth-first walk of the product automaton: True (included), a witness, or False
    (state budget exhausted)."""
    used = set(parent.literal_chars | child.literal_chars | {"/"})
    if domain is not None:
        used |= domain.alphabet
    alphabet = (*sorted(used), _representative(used))
    start: _State = (child.initial, parent.initial, domain.start if domain else 0)
    came_from: dict[_State, tuple[_State, str] | None] = {start: None}
    queue = deque([start])
    while queue:
        current = queue.popleft()
        c_states, p_states, d_state = current
        in_domain = domain is None or d_state in domain.accepting
        if in_domain and child.accepts(c_states) and not parent.accepts(p_states):
            return _witness(came_from, current)
        for ch in alphabet:
            nc = child.step(c_states, ch)
            if not nc:
                continue
            nd = domain.step(d_state, ch) if domain else 0
            if nd == _DEAD:
                continue
            state = (nc, parent.step(p_states, ch), nd)
            if state not in came_from:
                if len(came_from) >= limit:
                    return False
                came_from[state] = (current, ch)
                queue.append(state)
    return True
