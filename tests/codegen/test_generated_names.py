"""The generated package reads like a hand-written one (issue 15 item 6)."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import BaseModel

from arcp_gen import errors, messages, models
from codegen.polish import polish_models

_ARTEFACT = re.compile(r"^[A-Za-z_]+[0-9]+$")
GENERATED = Path(models.__file__).parent


@pytest.mark.parametrize("module", [models, messages, errors])
def test_explicit_all_without_codegen_artefacts(module: ModuleType) -> None:
    """Every public name is listed in ``__all__``; none is a numbered artefact (``Current1``)
    or the root alias ``Model``."""
    public: list[str] = list(module.__all__)
    assert public
    assert not [n for n in public if _ARTEFACT.match(n)]
    assert "Model" not in public and not hasattr(module, "Model")
    for name in public:
        assert hasattr(module, name), name


def test_one_error_code_type() -> None:
    """§12: ``ErrorCode`` is the StrEnum of ``arcp_gen.errors`` only; models do not define a
    Literal of the same name."""
    assert not hasattr(models, "ErrorCode")
    assert not hasattr(models, "FeatureFlag")


def test_secrets_hidden_through_field_options() -> None:
    """§9.8, §14: x-secret fields use ``Field(repr=False)``; no model overrides repr."""
    for name in models.__all__:
        cls = getattr(models, name)
        if isinstance(cls, type) and issubclass(cls, BaseModel):
            assert "__repr_args__" not in vars(cls), name
    assert models.Credential.model_fields["value"].repr is False
    assert models.StatusBody.model_fields["credential_value"].repr is False


def test_messages_need_no_type_checker_silencing() -> None:
    """The typed envelopes are plain models: no ``pyright: ignore`` in generated code."""
    for path in GENERATED.glob("*.py"):
        assert "pyright: ignore" not in path.read_text(encoding="utf-8"), path.name


def test_polish_refuses_a_new_artefact() -> None:
    """A numbered name datamodel-codegen may invent later fails the render, not the user."""
    source = 'from typing_extensions import TypeAliasType\nOdd2 = TypeAliasType("Odd2", int)\n'
    with pytest.raises(ValueError, match="Odd2"):
        polish_models(source)


def test_polish_merges_number_pairs() -> None:
    """``X``/``X1`` (integer and number branches) become one ``X`` alias."""
    source = (
        "from typing import Annotated\n"
        "from typing_extensions import TypeAliasType\n"
        'Total = TypeAliasType("Total", Annotated[int, 0])\n'
        '"""doc"""\n'
        'Total1 = TypeAliasType("Total1", Annotated[float, 0])\n'
        '"""doc"""\n'
        "x: Total | Total1\n"
    )
    out = polish_models(source)
    assert "Total1" not in out
    assert 'Total = TypeAliasType("Total", Annotated[int, 0] | Annotated[float, 0])' in out
    assert "x: Total\n" in out
