"""``cost.budget`` amounts and counters (§9.6) and carving for delegation (§9.4, §10)."""

from __future__ import annotations

import sys
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arcp.protocol.lease import Budget, parse_amount, parse_budget
from arcp_gen.errors import BudgetExhaustedError, InvalidRequestError, LeaseSubsetViolationError


@pytest.mark.parametrize(
    ("text", "currency", "amount"),
    [
        ("USD:5.00", "USD", Decimal("5.00")),
        ("credits:1000", "credits", Decimal(1000)),
        ("EUR:0", "EUR", Decimal(0)),
        ("USD:0.0000001", "USD", Decimal("0.0000001")),
        ("tokens_v2:12.5", "tokens_v2", Decimal("12.5")),
        (
            "USD:123456789012345678901234567890.1",
            "USD",
            Decimal("123456789012345678901234567890.1"),
        ),
    ],
)
def test_parse_amount(text: str, currency: str, amount: Decimal) -> None:
    """§9.6 amount ::= currency ":" decimal, parsed exactly."""
    assert parse_amount(text) == (currency, amount)


@pytest.mark.parametrize(
    "text",
    [
        "USD5",
        "USD:-1",
        "USD:1.",
        "USD:.5",
        "USD:",
        ":5",
        "USD:1e3",
        "USD:1,5",
        "USD: 5",
        "USD:5 ",
        "USD:NaN",
        "USD:Infinity",
        "USD:+5",
        "USD:٣",  # a non-ASCII digit
        "1USD:5",
        "U-SD:5",
        "USD:5:6",
    ],
)
def test_parse_amount_rejects(text: str) -> None:
    """§9.6: anything outside the grammar is INVALID_REQUEST naming cost.budget."""
    with pytest.raises(InvalidRequestError) as info:
        parse_amount(text)
    assert info.value.details["namespace"] == "cost.budget"
    assert info.value.details["pattern"] == text


def test_parse_budget_duplicates() -> None:
    """wire-decisions: a currency named twice in one request is INVALID_REQUEST."""
    assert parse_budget(["USD:5", "credits:10"]) == {"USD": Decimal(5), "credits": Decimal(10)}
    with pytest.raises(InvalidRequestError) as info:
        parse_budget(["USD:5", "USD:6"])
    assert info.value.details["currency"] == "USD"
    # currencies are case-sensitive names
    assert set(parse_budget(["usd:1", "USD:1"])) == {"usd", "USD"}


def test_exact_decimal_arithmetic() -> None:
    """§9.6 counters use exact decimals: 0.1 + 0.2 style sums leave no residue."""
    budget = Budget({"USD": Decimal("0.3")})
    assert budget.charge("USD", 0.1)
    assert budget.charge("USD", 0.2)
    assert budget.remaining["USD"] == Decimal(0)
    assert budget.exhausted() == "USD"
    budget = Budget({"USD": Decimal("1")})
    for _ in range(10):
        budget.charge("USD", Decimal("0.1"))
    assert budget.remaining["USD"] == 0
    budget = Budget({"USD": Decimal("5.00")})
    budget.charge("USD", 0.0234)
    assert budget.remaining["USD"] == Decimal("4.9766")


def test_charge_rules() -> None:
    """§9.6: negative values are rejected without decrement; unbudgeted currencies ignored."""
    budget = Budget({"USD": Decimal("1.00"), "credits": Decimal(10)})
    for bad in (-0.01, Decimal("-1"), float("nan"), float("inf"), Decimal("NaN"), True):
        with pytest.raises(InvalidRequestError):
            budget.charge("USD", bad)
    assert budget.remaining["USD"] == Decimal("1.00")
    assert budget.charge("EUR", 5) is False
    assert "EUR" not in budget.remaining
    assert budget.charge("USD", 0) is True
    assert budget.exhausted() is None
    budget.check()
    assert budget.charge("credits", 10)
    assert budget.exhausted() == "credits"
    with pytest.raises(BudgetExhaustedError) as info:
        budget.check()
    assert info.value.retryable is False
    assert info.value.details == {"currency": "credits"}


def test_overrun_and_wire() -> None:
    """Counters keep exact overruns; the wire form is JSON numbers per currency."""
    budget = Budget({"USD": Decimal("1.00")})
    budget.charge("USD", Decimal("1.50"))
    assert budget.remaining["USD"] == Decimal("-0.50")
    assert budget.to_wire() == {"USD": -0.5}
    assert Budget({"USD": Decimal("1.42"), "credits": Decimal(7)}).to_wire() == {
        "USD": 1.42,
        "credits": 7.0,
    }
    assert Budget({}).exhausted() is None


def test_zero_cap_is_exhausted_at_once() -> None:
    """§9.6: any counter ≤ 0 blocks, including a cap of zero."""
    assert Budget({"USD": Decimal(0)}).exhausted() == "USD"


def test_carve_reserves_from_parent() -> None:
    """§9.4 example: USD:5.00 cap, 3.00 spent -> a child may take at most USD:2.00."""
    parent = Budget({"USD": Decimal("5.00")})
    parent.charge("USD", 3)
    with pytest.raises(LeaseSubsetViolationError) as info:
        parent.carve({"USD": Decimal("2.01")})
    assert info.value.details["namespace"] == "cost.budget"
    assert info.value.details["pattern"] == "USD:2.01"
    assert parent.remaining["USD"] == Decimal("2.00")
    child = parent.carve({"USD": Decimal("1.50")})
    assert parent.remaining["USD"] == Decimal("0.50")
    assert child.remaining["USD"] == Decimal("1.50")
    with pytest.raises(LeaseSubsetViolationError):
        parent.carve({"USD": Decimal("0.51")})
    child.charge("USD", Decimal("0.25"))
    parent.restore(child)
    assert parent.remaining["USD"] == Decimal("1.75")


def test_carve_currency_rules() -> None:
    """A child may not name an unbudgeted currency nor drop a budgeted one (§9.4)."""
    parent = Budget({"USD": Decimal(5)})
    with pytest.raises(LeaseSubsetViolationError) as info:
        parent.carve({"USD": Decimal(1), "EUR": Decimal(1)})
    assert info.value.details["currency"] == "EUR"
    with pytest.raises(LeaseSubsetViolationError) as info:
        parent.carve({})
    assert info.value.details["currency"] == "USD"
    assert parent.remaining["USD"] == 5
    assert Budget({}).carve({}).remaining == {}


amounts = st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False)


@settings(max_examples=100, deadline=None)
@given(
    amounts,
    st.lists(
        st.one_of(amounts, st.floats(0, 100, allow_nan=False, allow_subnormal=True)), max_size=30
    ),
)
def test_budget_matches_exact_arithmetic(cap: Decimal, charges: list[Decimal | float]) -> None:
    """Property (c): the counter equals cap minus the exact sum of what was charged."""
    budget = Budget({"USD": cap})
    expected = cap
    for value in charges:
        budget.charge("USD", value)
        with localcontext(Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)):
            expected -= Decimal(repr(value)) if isinstance(value, float) else value
        assert budget.remaining["USD"] == expected
        assert (budget.exhausted() == "USD") is (expected <= 0)


@settings(max_examples=100, deadline=None)
@given(amounts, st.lists(st.tuples(st.booleans(), amounts), max_size=20))
def test_family_never_exceeds_cap(cap: Decimal, ops: list[tuple[bool, Decimal]]) -> None:
    """§10: carving reserves, so parent spend plus children's caps never exceed the cap."""
    parent = Budget({"USD": cap})
    children: list[Budget] = []
    spent = Decimal(0)
    for carve, value in ops:
        if carve:
            try:
                children.append(parent.carve({"USD": value}))
            except LeaseSubsetViolationError:
                continue
        elif parent.exhausted() is None and value <= parent.remaining["USD"]:
            parent.charge("USD", value)
            spent += value
    assert spent + sum((c.caps["USD"] for c in children), Decimal(0)) <= cap


@pytest.mark.parametrize(
    "text", ["USD:" + "9" * 400, "USD:" + "1" * 31, "USD:1." + "0" * 31, "USD:" + "9" * 309]
)
def test_amounts_a_json_number_cannot_carry_are_refused(text: str) -> None:
    """§9.6 (#13.4): budgets travel as JSON numbers; at most 30 digits either side of the
    point, so no echo or counter can overflow to infinity (sent as null)."""
    with pytest.raises(InvalidRequestError) as info:
        parse_amount(text)
    assert "digits" in str(info.value)


def test_the_longest_amounts_are_exact_and_finite_on_the_wire() -> None:
    """30 digits either side are kept exactly (Decimal); leading zeros do not count."""
    assert parse_amount("USD:" + "9" * 30)[1] == Decimal("9" * 30)
    assert parse_amount("USD:000" + "1" * 30 + "." + "5" * 30)[1] == Decimal(
        "1" * 30 + "." + "5" * 30
    )
    budget = Budget({"USD": Decimal("9" * 30)})
    for _ in range(3):  # overrun far past what a double holds: the wire stays finite
        budget.charge("USD", 1.7e308)
    assert budget.to_wire()["USD"] == -sys.float_info.max
