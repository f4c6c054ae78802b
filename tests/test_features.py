"""The generated feature flags (`arcp_gen.features`) against spec §6.2 and the schema.

Expected values come from the schema file and from the §6.2 example lists as written in the
spec, never from the module under test.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arcp_gen.features import FEATURE_SECTIONS, Feature, intersect
from tests.spec_text import spec_markdown

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DOC: dict[str, Any] = json.loads(
    (REPO_ROOT / "spec" / "arcp-1.1.schema.json").read_text(encoding="utf-8")
)
FEATURE_FLAG_DEF: dict[str, Any] = SCHEMA_DOC["$defs"]["FeatureFlag"]

# The `features` list of the §6.2 `session.hello` example, transcribed from the spec text.
SPEC_6_2_FLAGS = [
    "heartbeat",
    "ack",
    "list_jobs",
    "subscribe",
    "lease_expires_at",
    "cost.budget",
    "model.use",
    "provisioned_credentials",
    "progress",
    "result_chunk",
    "agent_versions",
]
# Headings of the spec sections that define a flag, as "§N.N" -> a word the heading contains.
SECTION_HEADINGS = {
    "§6.4": "Heartbeats",
    "§6.5": "Acknowledgement",
    "§6.6": "Listing",
    "§7.5": "Versioning",
    "§7.6": "Subscription",
    "§8.2.1": "progress",
    "§8.4": "Result Streaming",
    "§9.5": "Lease Expiration",
    "§9.6": "Budget",
    "§9.7": "Model",
    "§9.8": "Credentials",
}


def test_exactly_the_eleven_flags_of_the_schema_and_spec() -> None:
    """§6.2: there are exactly 11 feature flags; `Feature` values are their wire spellings."""
    values = [f.value for f in Feature]
    assert len(values) == 11
    assert values == FEATURE_FLAG_DEF["enum"]
    assert values == SPEC_6_2_FLAGS
    assert all(isinstance(f, str) and f == f.value for f in Feature)


def test_transcribed_list_matches_the_spec_text() -> None:
    """§6.2: both the hello and the welcome example list exactly the transcribed flags."""
    text = spec_markdown()
    section = text.split("### 6.2. Hello / Welcome", 1)[1].split("\n### ", 1)[0]
    lists = re.findall(r'"features":\s*\[(.*?)\]', section, flags=re.DOTALL)
    assert len(lists) == 2  # hello and welcome
    for body in lists:
        assert re.findall(r'"([^"]+)"', body) == SPEC_6_2_FLAGS


@pytest.mark.parametrize("flag", SPEC_6_2_FLAGS)
def test_every_flag_names_its_section(flag: str) -> None:
    """§6.2: each flag is defined by a spec section; the mapping follows the schema."""
    feature = Feature(flag)
    section = FEATURE_SECTIONS[feature]
    assert section == FEATURE_FLAG_DEF["x-feature-sections"][flag]
    assert re.fullmatch(r"§\d+(\.\d+)+", section)
    assert section in SECTION_HEADINGS


def test_sections_exist_in_the_spec_text() -> None:
    """§6.2: every section a flag points at is a real heading of the spec."""
    text = spec_markdown()
    for feature in Feature:
        section = FEATURE_SECTIONS[feature]
        number = re.escape(section.removeprefix("§"))
        heading = re.search(rf"^#+ {number}\. (.+)$", text, flags=re.MULTILINE)
        assert heading is not None, section
        assert SECTION_HEADINGS[section] in heading.group(1), (section, heading.group(1))


def test_feature_sections_cover_every_flag() -> None:
    """§6.2: no flag without a section, no section for a non-flag."""
    assert set(FEATURE_SECTIONS) == set(Feature)


def test_intersect_of_the_spec_examples_is_every_flag() -> None:
    """§6.2: the hello and welcome examples list the same flags, so all 11 are effective."""
    assert intersect(SPEC_6_2_FLAGS, SPEC_6_2_FLAGS) == frozenset(Feature)


def test_intersect_ignores_unknown_strings() -> None:
    """§6.2: an unknown flag (a newer peer's, or a typo) is not part of the effective set,
    even when both peers list it."""
    ours = ["heartbeat", "x-vendor.fancy", "ack", "HEARTBEAT", "progress "]
    theirs = ["x-vendor.fancy", "ack", "heartbeat", "HEARTBEAT", "progress "]
    assert intersect(ours, theirs) == frozenset({Feature.HEARTBEAT, Feature.ACK})


def test_intersect_with_nothing_is_empty() -> None:
    """§6.2: a peer that lists no features gets none."""
    assert intersect(SPEC_6_2_FLAGS, []) == frozenset()
    assert intersect([], SPEC_6_2_FLAGS) == frozenset()


flag_lists = st.lists(
    st.sampled_from(SPEC_6_2_FLAGS) | st.text(max_size=20),
    max_size=15,
)


@given(ours=flag_lists, theirs=flag_lists)
def test_intersect_is_symmetric_and_exact(ours: list[str], theirs: list[str]) -> None:
    """§6.2: the effective set is hello ∩ welcome, the same whichever side computes it, and
    holds exactly the known flags both sides list."""
    result = intersect(ours, theirs)
    assert result == intersect(theirs, ours)
    expected = {f for f in SPEC_6_2_FLAGS if f in ours and f in theirs}
    assert {f.value for f in result} == expected
    assert all(isinstance(f, Feature) for f in result)


@given(ours=flag_lists, theirs=flag_lists)
def test_intersect_accepts_any_iterable_once(ours: list[str], theirs: list[str]) -> None:
    """§6.2: the capability lists may arrive as any iterable (e.g. a generator over a payload)."""
    assert intersect(iter(ours), (f for f in theirs)) == intersect(ours, theirs)
