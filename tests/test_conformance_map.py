"""docs/conformance.md's spec coverage map stays current (issue 12, item 9).

Every §4 to §14 heading of the spec text has a row, every row is a real section, and every test
a row names exists (file and test function).
"""

from __future__ import annotations

import ast
import re

from tests.spec_text import REPO_ROOT, spec_markdown

MAP_DOC = REPO_ROOT / "docs" / "conformance.md"
_ROW = re.compile(r"^\| §(\d+(?:\.\d+)?) \| ([^|]+) \| (.*) \|$", re.MULTILINE)
_TEST = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _spec_sections() -> dict[str, str]:
    headings = re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\. (.+)$", spec_markdown(), re.MULTILINE)
    return {num: title.strip() for num, title in headings if 4 <= int(num.split(".")[0]) <= 14}


def _map_rows() -> dict[str, tuple[str, str]]:
    section = MAP_DOC.read_text(encoding="utf-8").split("## Spec coverage map", 1)[1]
    return {num: (title.strip(), tests) for num, title, tests in _ROW.findall(section)}


def _test_names(path: str) -> set[str]:
    tree = ast.parse((REPO_ROOT / path).read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def test_every_spec_section_has_a_row_with_its_heading() -> None:
    sections, rows = _spec_sections(), _map_rows()
    assert len(sections) > 40  # §4 to §14 with their subsections
    assert sorted(set(sections) - set(rows)) == [], "sections missing from the map"
    assert sorted(set(rows) - set(sections)) == [], "rows naming no spec section"
    for num, title in sections.items():
        assert rows[num][0] == title, f"§{num}: heading is {title!r}"


def test_every_row_names_tests_that_exist() -> None:
    for num, (_, cell) in _map_rows().items():
        named = _TEST.findall(cell)
        assert named, f"§{num} names no test"
        for path, name in named:
            assert (REPO_ROOT / path).is_file(), f"§{num}: no file {path}"
            assert name in _test_names(path), f"§{num}: no test {name} in {path}"
