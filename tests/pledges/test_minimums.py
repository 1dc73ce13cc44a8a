"""The instance's minimum charge per currency, read from its setting."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from potluck.errors import InvalidInput
from potluck.money import CURRENCIES
from potluck.pledges.rules.minimums import MinimumCharge, parse_minimum_charge

EUR, JPY, BHD = CURRENCIES["EUR"], CURRENCIES["JPY"], CURRENCIES["BHD"]


class TestParseMinimumCharge:
    def test_empty_means_two_of_each_currency(self) -> None:
        minimum = parse_minimum_charge("")
        assert minimum.units(EUR) == 200
        assert minimum.units(JPY) == 2
        assert minimum.units(BHD) == 2000

    def test_a_default_and_exceptions(self) -> None:
        minimum = parse_minimum_charge("5, JPY=300, eur=1.50")
        assert minimum.units(EUR) == 150
        assert minimum.units(JPY) == 300
        assert minimum.units(CURRENCIES["USD"]) == 500

    def test_zero_turns_the_minimum_off(self) -> None:
        assert parse_minimum_charge("0").units(EUR) == 0

    @pytest.mark.parametrize(
        ("text", "words"),
        [
            ("XYZ=1", "'XYZ' in the minimum charge is not a currency"),
            ("EUR=abc", "minimum charge for EUR"),
            ("EUR=1.234", "more decimal places than EUR"),
            ("EUR=-1", "cannot be negative"),
            ("EUR=1,EUR=2", "names EUR twice"),
            ("1,2", "two defaults"),
            ("two", "not a number"),
        ],
    )
    def test_refuses_what_it_cannot_read(self, text: str, words: str) -> None:
        with pytest.raises(InvalidInput, match=words):
            parse_minimum_charge(text)

    @given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=99))
    def test_the_default_is_exact_in_cents(self, whole: int, cents: int) -> None:
        minimum = parse_minimum_charge(f"{whole}.{cents:02d}")
        assert minimum.units(EUR) == whole * 100 + cents
        # A currency without minor units takes the whole part; one with three gets zeros.
        assert minimum.units(JPY) == whole
        assert minimum.units(BHD) == whole * 1000 + cents * 10

    @given(st.sampled_from(sorted(CURRENCIES)), st.integers(min_value=0, max_value=10**9))
    def test_an_exception_is_taken_in_smallest_units(self, code: str, units: int) -> None:
        currency = CURRENCIES[code]
        text = f"{units // 10**currency.exponent}" + (
            f".{units % 10**currency.exponent:0{currency.exponent}d}" if currency.exponent else ""
        )
        assert parse_minimum_charge(f"{code}={text}").units(currency) == units

    def test_table_lists_each_currency(self) -> None:
        assert MinimumCharge().table([EUR, JPY]) == {"EUR": 200, "JPY": 2}
