"""§9.6: a cost value that is not a number is refused with INVALID_REQUEST, never a crash."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

import pytest

from arcp.protocol.lease import Budget
from arcp_gen.errors import InvalidRequestError


@pytest.mark.parametrize("value", ["0.5", None, [1], {"v": 1}])
def test_non_numeric_cost_is_invalid_request_and_charges_nothing(value: Any) -> None:
    budget = Budget({"USD": Decimal("1.00")})
    with pytest.raises(InvalidRequestError):
        budget.charge("USD", cast(Any, value))
    assert budget.to_wire() == {"USD": 1.0}
