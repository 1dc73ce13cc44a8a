"""When paydays happen: periods, the period due, and how long an all-or-nothing hold lasts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from potluck.errors import InvalidInput
from potluck.pledges.rules import Period
from potluck.pledges.rules.schedule import (
    HOLD_GRACE,
    MAX_HOLD,
    PaydayCadence,
    due_period,
    hold_timeout,
    latest_deadline,
    period_before,
    period_containing,
)

moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC)
)
cadences = st.sampled_from(list(PaydayCadence))


class TestPeriodContaining:
    def test_a_month(self) -> None:
        assert period_containing(
            datetime(2026, 3, 31, 23, 59, tzinfo=UTC), PaydayCadence.MONTH
        ) == Period.month(2026, 3)

    def test_a_week_starts_on_monday(self) -> None:
        period = period_containing(datetime(2026, 3, 5, tzinfo=UTC), PaydayCadence.WEEK)
        assert period == Period(date(2026, 3, 2), date(2026, 3, 9))

    def test_counts_in_utc(self) -> None:
        tokyo = datetime(2026, 4, 1, 8, 0, tzinfo=UTC).astimezone()
        assert period_containing(tokyo, PaydayCadence.MONTH) == Period.month(2026, 4)

    def test_refuses_a_naive_moment(self) -> None:
        with pytest.raises(InvalidInput, match="time zone"):
            period_containing(datetime(2026, 3, 5), PaydayCadence.MONTH)

    @given(moments, cadences)
    def test_the_moment_is_inside(self, moment: datetime, cadence: PaydayCadence) -> None:
        period = period_containing(moment, cadence)
        assert period.starts_at <= moment < period.ends_at

    @given(moments, cadences)
    def test_periods_tile_time(self, moment: datetime, cadence: PaydayCadence) -> None:
        period = period_containing(moment, cadence)
        assert period.following() == period_containing(period.ends_at, cadence)
        assert period_before(period.following(), cadence) == period


class TestDuePeriod:
    def test_the_first_payday_clears_the_period_that_just_ended(self) -> None:
        now = datetime(2026, 4, 1, 0, 5, tzinfo=UTC)
        assert due_period(None, now, PaydayCadence.MONTH) == Period.month(2026, 3)

    def test_nothing_is_due_before_the_next_period_ends(self) -> None:
        now = datetime(2026, 4, 30, 23, 59, tzinfo=UTC)
        assert due_period(Period.month(2026, 3), now, PaydayCadence.MONTH) is None

    def test_missed_paydays_are_cleared_in_order(self) -> None:
        now = datetime(2026, 7, 15, tzinfo=UTC)
        assert due_period(Period.month(2026, 3), now, PaydayCadence.MONTH) == Period.month(2026, 4)

    @given(moments, cadences)
    def test_a_due_period_has_ended(self, moment: datetime, cadence: PaydayCadence) -> None:
        last = period_containing(moment - timedelta(days=40), cadence)
        found = due_period(last, moment, cadence)
        if found is None:
            assert last.following().ends_at > moment
        else:
            assert found == last.following()
            assert found.ends_at <= moment


class TestHoldTimeout:
    def test_lasts_past_the_payday_of_the_deadline(self) -> None:
        deadline = datetime(2026, 3, 15, 12, tzinfo=UTC)
        assert (
            hold_timeout(deadline, PaydayCadence.MONTH)
            == datetime(2026, 4, 1, tzinfo=UTC) + HOLD_GRACE
        )

    @given(moments, cadences, st.integers(min_value=1, max_value=10**7))
    def test_a_goal_set_in_time_fits_the_longest_hold(
        self, now: datetime, cadence: PaydayCadence, seconds: int
    ) -> None:
        latest = latest_deadline(now, cadence)
        deadline = min(latest, now + timedelta(seconds=seconds))
        timeout = hold_timeout(deadline, cadence)
        assert timeout > deadline
        assert timeout - now <= MAX_HOLD
