"""Apportioning recurring amounts to payday periods."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from potluck.errors import InvalidInput
from potluck.pledges.rules import Cadence, Period, amount_for_period
from potluck.pledges.rules.periods import Apportionment

amounts = st.integers(min_value=1, max_value=10**12)
cadences = st.sampled_from(list(Cadence))


def months_of(year: int) -> list[Period]:
    return [Period.month(year, month) for month in range(1, 13)]


class TestPeriod:
    def test_month_runs_to_the_first_of_the_next(self) -> None:
        assert Period.month(2026, 2) == Period(date(2026, 2, 1), date(2026, 3, 1))

    def test_december_runs_into_the_next_year(self) -> None:
        assert Period.month(2026, 12).end == date(2027, 1, 1)

    def test_bounds_are_midnight_utc(self) -> None:
        march = Period.month(2026, 3)
        assert march.starts_at == datetime(2026, 3, 1, tzinfo=UTC)
        assert march.ends_at == datetime(2026, 4, 1, tzinfo=UTC)

    def test_following_month(self) -> None:
        assert Period.month(2026, 12).following() == Period.month(2027, 1)

    def test_following_week(self) -> None:
        week = Period.week(date(2026, 3, 2))
        assert week.following() == Period.week(date(2026, 3, 9))

    def test_empty_period_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="must end after it starts"):
            Period(date(2026, 3, 1), date(2026, 3, 1))

    def test_month_thirteen_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="no month 13"):
            Period.month(2026, 13)


class TestAmountForPeriod:
    def test_monthly_amount_is_due_in_full_each_month(self) -> None:
        assert {amount_for_period(4000, Cadence.MONTH, p) for p in months_of(2026)} == {4000}

    def test_yearly_amount_spreads_its_remainder_through_the_year(self) -> None:
        # 100.00 EUR a year: 10000 = 12·833 + 4, the four spare cents in March, June,
        # September and December.
        monthly = [amount_for_period(10000, Cadence.YEAR, p) for p in months_of(2026)]
        assert monthly == [833, 833, 834] * 4
        assert sum(monthly) == 10000

    def test_weekly_amount_counts_the_thursdays_of_the_month(self) -> None:
        # January 2026 has five Thursdays (1, 8, 15, 22, 29); February four.
        assert amount_for_period(500, Cadence.WEEK, Period.month(2026, 1)) == 2500
        assert amount_for_period(500, Cadence.WEEK, Period.month(2026, 2)) == 2000

    def test_week_straddling_months_falls_where_its_thursday_is(self) -> None:
        # The week of Monday 30 March 2026 has its Thursday on 2 April: March has four weeks
        # (Thursdays 5 to 26), April five (2 to 30).
        assert amount_for_period(500, Cadence.WEEK, Period.month(2026, 3)) == 4 * 500
        assert amount_for_period(500, Cadence.WEEK, Period.month(2026, 4)) == 5 * 500

    def test_weekly_amount_once_per_weekly_period(self) -> None:
        for start in (date(2026, 3, 2), date(2026, 3, 4), date(2026, 3, 8)):
            assert amount_for_period(700, Cadence.WEEK, Period.week(start)) == 700

    def test_monthly_amount_is_apportioned_by_days_to_weekly_paydays(self) -> None:
        # 31.00 EUR in a 31-day month is 1.00 EUR a day.
        week = Period.week(date(2026, 3, 2))
        assert amount_for_period(3100, Cadence.MONTH, week) == 700

    @given(amount=amounts, year=st.integers(min_value=1900, max_value=2300))
    def test_twelve_months_add_up_to_the_yearly_amount(self, amount: int, year: int) -> None:
        assert sum(amount_for_period(amount, Cadence.YEAR, p) for p in months_of(year)) == amount

    @given(amount=amounts, year=st.integers(min_value=1900, max_value=2300))
    def test_yearly_months_differ_by_at_most_one_unit(self, amount: int, year: int) -> None:
        monthly = [amount_for_period(amount, Cadence.YEAR, p) for p in months_of(year)]
        assert max(monthly) - min(monthly) <= 1

    @given(
        amount=amounts,
        per=cadences,
        start=st.dates(min_value=date(1900, 1, 1), max_value=date(2300, 1, 1)),
        cuts=st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=8),
    )
    def test_consecutive_periods_add_up_to_their_union(
        self, amount: int, per: Cadence, start: date, cuts: list[int]
    ) -> None:
        bounds = [start]
        for days in cuts:
            bounds.append(bounds[-1] + timedelta(days=days))
        parts = [amount_for_period(amount, per, Period(a, b)) for a, b in pairwise(bounds)]
        assert all(part >= 0 for part in parts)
        assert sum(parts) == amount_for_period(amount, per, Period(bounds[0], bounds[-1]))

    @given(amount=amounts, per=cadences, year=st.integers(min_value=1900, max_value=2300))
    def test_a_year_of_months_holds_the_cadences_whole_count(
        self, amount: int, per: Cadence, year: int
    ) -> None:
        total = sum(amount_for_period(amount, per, p) for p in months_of(year))
        whole = {Cadence.YEAR: 1, Cadence.MONTH: 12}
        if per is Cadence.WEEK:
            # ISO years have 52 or 53 weeks, each counted in the year holding its Thursday.
            assert total == amount * date(year, 12, 28).isocalendar().week
        else:
            assert total == amount * whole[per]

    @given(per=cadences, start=st.dates(), days=st.integers(1, 100), amount=amounts)
    def test_whole_units_agree_with_the_function(
        self, per: Cadence, start: date, days: int, amount: int
    ) -> None:
        if start > date.max - timedelta(days=days + 1):
            start = date(2026, 1, 1)
        period = Period(start, start + timedelta(days=days))
        units = Apportionment(period).whole.get(per)
        if units is not None:
            assert amount * units == amount_for_period(amount, per, period)

    def test_monthly_period_holds_whole_weeks_and_months(self) -> None:
        assert Apportionment(Period.month(2026, 3)).whole == {Cadence.WEEK: 4, Cadence.MONTH: 1}

    @given(amount=amounts, per=cadences, start=st.dates(), days=st.integers(1, 100))
    def test_apportionment_agrees_with_the_function(
        self, amount: int, per: Cadence, start: date, days: int
    ) -> None:
        if start > date.max - timedelta(days=days + 1):
            start = date(2026, 1, 1)
        period = Period(start, start + timedelta(days=days))
        assert Apportionment(period)(amount, per) == amount_for_period(amount, per, period)
