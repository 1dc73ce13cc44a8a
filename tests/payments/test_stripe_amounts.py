"""Stripe's units for amounts, against ISO 4217's (potluck.pledges.payments.stripe_amounts)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from potluck.money import BUILTIN_COMMODITIES, CommodityKind
from potluck.pledges.payments.stripe_amounts import (
    THREE_DECIMAL,
    ZERO_DECIMAL,
    NotChargeable,
    charge_step,
    from_stripe,
    to_stripe,
)

CURRENCIES = sorted(
    (c.code, c.exponent) for c in BUILTIN_COMMODITIES.values() if c.kind is CommodityKind.CURRENCY
)
currencies = st.sampled_from(CURRENCIES)
amounts = st.integers(min_value=0, max_value=10**12)


@pytest.mark.parametrize(
    ("currency", "exponent", "ours", "stripes"),
    [
        ("EUR", 2, 2000, 2000),
        ("JPY", 0, 500, 500),
        ("ISK", 0, 5, 500),
        ("MGA", 2, 12300, 123),
        ("KWD", 3, 5120, 5120),
        ("UGX", 0, 1000, 1000),
        ("HUF", 2, 1050, 1050),
    ],
)
def test_known_amounts(currency: str, exponent: int, ours: int, stripes: int) -> None:
    assert to_stripe(ours, currency, exponent) == stripes
    assert from_stripe(stripes, currency, exponent) == ours


@given(currencies, amounts)
def test_what_can_be_charged_comes_back_unchanged(currency: tuple[str, int], amount: int) -> None:
    code, exponent = currency
    step = charge_step(code, exponent)
    if amount % step:
        with pytest.raises(NotChargeable, match=f"steps of {step}"):
            to_stripe(amount, code, exponent)
        return
    sent = to_stripe(amount, code, exponent)
    assert from_stripe(sent, code, exponent) == amount


@given(currencies, amounts)
def test_what_is_sent_keeps_stripes_rules(currency: tuple[str, int], amount: int) -> None:
    code, exponent = currency
    amount -= amount % charge_step(code, exponent)
    sent = to_stripe(amount, code, exponent)
    if code == "ISK":
        assert sent % 100 == 0
        assert sent == amount * 100
    elif code in ZERO_DECIMAL:
        # Whole units of the currency, whatever ISO's decimals.
        assert sent * 10**exponent == amount
    else:
        assert sent == amount
    if code in THREE_DECIMAL:
        assert sent % 10 == 0


@given(currencies, amounts, amounts)
def test_larger_amounts_are_never_sent_as_smaller(
    currency: tuple[str, int], first: int, second: int
) -> None:
    code, exponent = currency
    step = charge_step(code, exponent)
    low, high = sorted((first - first % step, second - second % step))
    assert to_stripe(low, code, exponent) <= to_stripe(high, code, exponent)


@given(st.integers(min_value=0, max_value=10**9))
def test_a_fraction_of_a_krona_from_stripe_rounds_half_up(hundredths: int) -> None:
    assert from_stripe(hundredths, "ISK", 0) == (hundredths + 50) // 100
