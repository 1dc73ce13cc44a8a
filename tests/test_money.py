"""Commodities and exact amounts: the ISO list, arithmetic, parsing and formatting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from potluck.money import (
    BUILTIN_COMMODITIES,
    CURRENCIES,
    MAX_UNITS,
    RESOURCE_UNITS,
    Amount,
    Commodity,
    CommodityKind,
    MoneyError,
    amount_from_decimal,
    commodity,
    parse_amount,
)

EUR = CURRENCIES["EUR"]
JPY = CURRENCIES["JPY"]
BHD = CURRENCIES["BHD"]
CPU = RESOURCE_UNITS["cpu-hour"]

commodities = st.sampled_from(sorted(BUILTIN_COMMODITIES.values(), key=lambda c: c.code))
units = st.integers(min_value=-(10**15), max_value=10**15)


@st.composite
def amounts(draw: st.DrawFn, of: Commodity | None = None) -> Amount:
    return Amount(draw(units), of or draw(commodities))


class TestCurrencyTable:
    @pytest.mark.parametrize(
        ("code", "exponent"),
        [("EUR", 2), ("USD", 2), ("JPY", 0), ("KRW", 0), ("BHD", 3), ("KWD", 3), ("TND", 3),
         ("CLF", 4), ("UYW", 4), ("ISK", 0), ("XOF", 0), ("CHF", 2), ("GBP", 2)],
    )  # fmt: skip
    def test_minor_units_follow_iso_4217(self, code: str, exponent: int) -> None:
        assert CURRENCIES[code].exponent == exponent

    def test_every_active_currency_is_listed(self) -> None:
        assert len(CURRENCIES) >= 150
        assert all(c.kind is CommodityKind.CURRENCY for c in CURRENCIES.values())

    def test_codes_without_a_minor_unit_are_not_currencies(self) -> None:
        for code in ("XAU", "XDR", "XTS", "XXX"):
            assert code not in CURRENCIES

    def test_resource_units_have_fixed_precision(self) -> None:
        assert {code: unit.exponent for code, unit in RESOURCE_UNITS.items()} == {
            "cpu-hour": 3,
            "gb-month": 3,
            "room-hour": 2,
            "seat-month": 2,
        }


class TestCommodity:
    def test_unknown_code_is_named(self) -> None:
        with pytest.raises(MoneyError, match="'ZZZ' is not a known commodity"):
            commodity("ZZZ")

    @pytest.mark.parametrize("code", ["eur", "EURO", "E1R"])
    def test_currency_code_is_three_capitals(self, code: str) -> None:
        with pytest.raises(MoneyError, match="three capital letters"):
            Commodity(code, 2, CommodityKind.CURRENCY, "x")

    @pytest.mark.parametrize("code", ["cpu", "CPU-HOUR", "cpu hour", "-hour", "a-" + "b" * 30])
    def test_resource_code_is_hyphenated_lower_case(self, code: str) -> None:
        with pytest.raises(MoneyError, match="not a resource unit"):
            Commodity(code, 2, CommodityKind.RESOURCE, "x")

    def test_precision_is_bounded(self) -> None:
        with pytest.raises(MoneyError, match="precision"):
            Commodity("gpu-hour", 19, CommodityKind.RESOURCE, "x")


class TestArithmetic:
    def test_adds_and_subtracts_exactly(self) -> None:
        assert Amount(10, EUR) + Amount(20, EUR) == Amount(30, EUR)
        assert Amount(10, EUR) - Amount(20, EUR) == Amount(-10, EUR)

    def test_refuses_mixing_commodities(self) -> None:
        with pytest.raises(MoneyError, match="Cannot combine EUR with USD"):
            _ = Amount(1, EUR) + Amount(1, CURRENCIES["USD"])

    def test_refuses_comparing_commodities(self) -> None:
        with pytest.raises(MoneyError, match="Cannot combine"):
            _ = Amount(1, EUR) < Amount(1, JPY)

    def test_refuses_fractions_of_a_unit(self) -> None:
        with pytest.raises(MoneyError, match="whole number"):
            Amount(1.5, EUR)  # type: ignore[arg-type]

    def test_refuses_more_than_the_books_hold(self) -> None:
        with pytest.raises(MoneyError, match="beyond"):
            Amount(MAX_UNITS + 1, EUR)

    def test_multiplies_by_whole_numbers_only(self) -> None:
        assert Amount(250, EUR) * 3 == Amount(750, EUR)
        assert 3 * Amount(250, EUR) == Amount(750, EUR)
        with pytest.raises(TypeError):
            _ = Amount(250, EUR) * 1.5  # type: ignore[operator]

    @given(amounts(of=EUR), amounts(of=EUR), amounts(of=EUR))
    def test_addition_is_associative_and_commutative(self, a: Amount, b: Amount, c: Amount) -> None:
        assert (a + b) + c == a + (b + c)
        assert a + b == b + a
        assert a - a == Amount.zero(EUR)

    @given(amounts(of=EUR), st.integers(min_value=1, max_value=1000))
    def test_split_sums_exactly_and_differs_by_at_most_one_unit(
        self, total: Amount, parts: int
    ) -> None:
        shares = total.split(parts)
        assert len(shares) == parts
        assert sum((s.units for s in shares), 0) == total.units
        assert max(s.units for s in shares) - min(s.units for s in shares) <= 1

    def test_split_needs_a_part(self) -> None:
        with pytest.raises(MoneyError, match="one or more"):
            Amount(1, EUR).split(0)


class TestFormatting:
    @pytest.mark.parametrize(
        ("amount", "text"),
        [(Amount(1234, EUR), "12.34 EUR"), (Amount(-5, EUR), "-0.05 EUR"),
         (Amount(1234, JPY), "1234 JPY"), (Amount(1500, BHD), "1.500 BHD"),
         (Amount(2500, CPU), "2.500 cpu-hour"), (Amount(0, EUR), "0.00 EUR")],
    )  # fmt: skip
    def test_writes_exactly_the_commodity_decimals(self, amount: Amount, text: str) -> None:
        assert str(amount) == text

    def test_display_groups_thousands(self) -> None:
        assert Amount(123456789, EUR).display() == "1,234,567.89 EUR"


class TestParsing:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [("12.34 EUR", Amount(1234, EUR)), ("EUR 12.34", Amount(1234, EUR)),
         ("12 EUR", Amount(1200, EUR)), ("12.3 EUR", Amount(1230, EUR)),
         ("-0.5 BHD", Amount(-500, BHD)), ("1,000 JPY", Amount(1000, JPY)),
         ("0.125 cpu-hour", Amount(125, CPU)), ("12.340 EUR", Amount(1234, EUR))],
    )  # fmt: skip
    def test_reads_amounts(self, text: str, expected: Amount) -> None:
        assert parse_amount(text) == expected

    def test_refuses_more_decimals_than_the_commodity_has(self) -> None:
        with pytest.raises(MoneyError, match="more decimal places than JPY allows"):
            parse_amount("1.5 JPY")
        with pytest.raises(MoneyError, match="more decimal places than EUR allows"):
            parse_amount("0.001 EUR")

    @pytest.mark.parametrize("text", ["EUR", "12.34", "12.34 EUR extra", "1e3 EUR", "abc EUR"])
    def test_refuses_what_is_not_an_amount(self, text: str) -> None:
        with pytest.raises(MoneyError):
            parse_amount(text)

    def test_reads_a_bare_number_for_a_known_commodity(self) -> None:
        assert amount_from_decimal("7.25", EUR) == Amount(725, EUR)

    @given(amounts())
    def test_formatting_round_trips(self, amount: Amount) -> None:
        assert parse_amount(str(amount)) == amount
        assert parse_amount(amount.display()) == amount
