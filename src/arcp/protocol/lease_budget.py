"""``cost.budget`` amounts and counters (§9.6), with delegation carving (§9.4, §10).

All arithmetic is :class:`decimal.Decimal` under a context that never rounds a sum. Floats
appear only on the wire (``to_wire``) and when a metric value arrives as a JSON number, which
is read through its shortest decimal spelling (``0.1`` stays one tenth).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, localcontext
from types import MappingProxyType
from typing import Final

from arcp_gen.errors import BudgetExhaustedError, InvalidRequestError, LeaseSubsetViolationError

__all__ = [
    "BUDGET_NAMESPACE",
    "MAX_AMOUNT_DIGITS",
    "Budget",
    "format_amount",
    "parse_amount",
    "parse_budget",
    "wire_number",
]

BUDGET_NAMESPACE: Final = "cost.budget"
MAX_AMOUNT_DIGITS: Final = 30
"""Most digits an amount may have before, and after, its decimal point (§9.6).

Budgets travel as JSON numbers (``job.accepted.budget``, ``cost.budget.remaining``); an
amount a double cannot carry (``"USD:" + 400 nines`` overflows to infinity, which JSON cannot
write) is refused with ``INVALID_REQUEST`` rather than sent as ``null``."""
_AMOUNT = re.compile(r"([A-Za-z][A-Za-z0-9_]*):([0-9]+)(?:\.([0-9]+))?")
_FLOAT_MAX: Final = sys.float_info.max
# Additions and subtractions under this context never round (only as many digits as needed).
_EXACT: Final = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


def parse_amount(text: str) -> tuple[str, Decimal]:
    """``"USD:5.00"`` -> ``("USD", Decimal("5.00"))``; InvalidRequestError otherwise (§9.6)."""
    match = _AMOUNT.fullmatch(text)
    if match is None:
        raise InvalidRequestError(
            f"The budget amount {text[:64]!r} is not of the form currency:decimal.",
            details={"namespace": BUDGET_NAMESPACE, "pattern": text[:200]},
        )
    whole, fraction = match.group(2), match.group(3) or ""
    if len(whole.lstrip("0")) > MAX_AMOUNT_DIGITS or len(fraction) > MAX_AMOUNT_DIGITS:
        raise InvalidRequestError(
            f"The budget amount {text[:32]!r}... has more than {MAX_AMOUNT_DIGITS} digits "
            "before or after its decimal point.",
            details={"namespace": BUDGET_NAMESPACE, "pattern": text[:200]},
        )
    return match.group(1), Decimal(f"{whole}.{fraction}" if fraction else whole)


def parse_budget(entries: Iterable[str]) -> dict[str, Decimal]:
    """Budget caps by currency; a currency named twice is an InvalidRequestError (§9.6)."""
    caps: dict[str, Decimal] = {}
    for entry in entries:
        currency, amount = parse_amount(entry)
        if currency in caps:
            raise InvalidRequestError(
                f"The budget names the currency {currency} more than once.",
                details={"namespace": BUDGET_NAMESPACE, "pattern": entry, "currency": currency},
            )
        caps[currency] = amount
    return caps


def wire_number(amount: Decimal) -> float:
    """``amount`` as a finite JSON number: a counter overrun past what a double holds is
    sent as the largest double of its sign, never as ``null`` (§9.6)."""
    value = float(amount)
    if value in (float("inf"), float("-inf")):
        return _FLOAT_MAX if value > 0 else -_FLOAT_MAX
    return value


def format_amount(currency: str, amount: Decimal) -> str:
    """The wire spelling of an amount, ``currency:decimal`` without exponent (§9.6)."""
    return f"{currency}:{amount:f}"


def _to_decimal(amount: object) -> Decimal:
    if isinstance(amount, bool):
        raise InvalidRequestError("A cost value must be a number.", details={"value": amount})
    if isinstance(amount, float):
        # repr is the shortest spelling that round-trips, so 0.1 stays 0.1.
        value = Decimal(repr(amount))
    elif isinstance(amount, int):
        value = Decimal(amount)
    elif isinstance(amount, Decimal):
        value = amount
    else:  # a peer or agent passed something that is not a number
        raise InvalidRequestError("A cost value must be a number.", details={"value": str(amount)})
    if not value.is_finite():
        raise InvalidRequestError("A cost value must be finite.", details={"value": str(amount)})
    if value < 0:
        raise InvalidRequestError(
            "A cost value may not be negative.", details={"value": str(amount)}
        )
    return value


class Budget:
    """Remaining budget per currency, started at the caps at acceptance (§9.6).

    Not thread-safe; the runtime owns one per job and mutates it on its event loop.
    """

    __slots__ = ("_caps", "_remaining")

    def __init__(self, caps: Mapping[str, Decimal]) -> None:
        self._caps: Mapping[str, Decimal] = MappingProxyType(dict(caps))
        self._remaining: dict[str, Decimal] = dict(caps)

    @property
    def caps(self) -> Mapping[str, Decimal]:
        """The caps the counters started from."""
        return self._caps

    @property
    def remaining(self) -> Mapping[str, Decimal]:
        """A read-only view of the counters (may be negative after an overrun)."""
        return MappingProxyType(self._remaining)

    def __contains__(self, currency: object) -> bool:
        return currency in self._remaining

    def __repr__(self) -> str:
        inner = ", ".join(format_amount(c, v) for c, v in self._remaining.items())
        return f"Budget({inner})"

    def charge(self, currency: str, amount: Decimal | int | float) -> bool:
        """Decrement ``currency`` by ``amount``; False when the currency is not budgeted.

        Negative, non-finite or non-numeric amounts raise InvalidRequestError and change
        nothing (§9.6, wire-decisions: Leases).
        """
        value = _to_decimal(amount)
        if currency not in self._remaining:
            return False
        with localcontext(_EXACT):
            self._remaining[currency] = self._remaining[currency] - value
        return True

    def exhausted(self) -> str | None:
        """The first currency whose counter is at or below zero, else None (§9.6)."""
        for currency, left in self._remaining.items():
            if left <= 0:
                return currency
        return None

    def check(self) -> None:
        """Raise BudgetExhaustedError when any counter is at or below zero (§9.6)."""
        currency = self.exhausted()
        if currency is not None:
            raise BudgetExhaustedError(
                f"The {currency} budget is exhausted.", details={"currency": currency}
            )

    def to_wire(self) -> dict[str, float]:
        """``{currency: remaining}`` as JSON numbers, e.g. for ``cost.budget.remaining``."""
        return {currency: wire_number(left) for currency, left in self._remaining.items()}

    def check_carve(self, child_caps: Mapping[str, Decimal]) -> None:
        """Raise LeaseSubsetViolationError unless ``child_caps`` fit the counters (§9.4).

        Every currency this budget tracks must be capped by the child at most at what is
        left, and the child may not name a currency this budget does not track.
        """
        for currency, amount in child_caps.items():
            left = self._remaining.get(currency)
            if left is None:
                raise LeaseSubsetViolationError(
                    f"The delegated budget names {currency}, which the parent does not budget.",
                    details={
                        "namespace": BUDGET_NAMESPACE,
                        "pattern": format_amount(currency, amount),
                        "currency": currency,
                    },
                )
            if amount > left:
                raise LeaseSubsetViolationError(
                    f"The delegated {currency} budget exceeds what the parent has left.",
                    details={
                        "namespace": BUDGET_NAMESPACE,
                        "pattern": format_amount(currency, amount),
                        "currency": currency,
                        "remaining": f"{max(left, Decimal(0)):f}",
                    },
                )
        for currency in self._remaining:
            if currency not in child_caps:
                raise LeaseSubsetViolationError(
                    f"The delegated lease must cap {currency} spending, as its parent does.",
                    details={"namespace": BUDGET_NAMESPACE, "currency": currency},
                )

    def carve(self, child_caps: Mapping[str, Decimal]) -> Budget:
        """Reserve ``child_caps`` out of this budget and return the child's Budget (§10).

        The reserved amounts leave the parent's counters at once, so parent and children
        together can never spend more than the parent's cap.
        """
        self.check_carve(child_caps)
        with localcontext(_EXACT):
            for currency, amount in child_caps.items():
                self._remaining[currency] = self._remaining[currency] - amount
        return Budget(child_caps)

    def restore(self, child: Budget) -> None:
        """Give back what a finished child carved but did not spend (never its overrun)."""
        with localcontext(_EXACT):
            for currency, left in child.remaining.items():
                if currency in self._remaining and left > 0:
                    self._remaining[currency] = self._remaining[currency] + left
