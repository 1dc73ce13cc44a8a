"""When paydays happen: which period a moment falls in, which period is due to be cleared, and
how long an all-or-nothing hold must last for its goal's payday to decide it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from potluck.errors import InvalidInput
from potluck.pledges.rules.periods import Period

# A hold lives until the payday of its goal's deadline has had time to run: the end of the
# deadline's period, plus this much for a payday that runs late (a server down over a weekend).
HOLD_GRACE = timedelta(days=30)
# The books refuse holds longer than a year; a goal's hold must fit.
MAX_HOLD = timedelta(days=366)


class PaydayCadence(StrEnum):
    """How long one payday period is: a calendar month (the default) or a week from Monday."""

    MONTH = "month"
    WEEK = "week"


def period_containing(moment: datetime, cadence: PaydayCadence) -> Period:
    """The payday period that ``moment`` (timezone-aware) falls in, in UTC days."""
    if moment.tzinfo is None:
        raise InvalidInput("A moment must say its time zone.", field="moment")
    day = _utc_day(moment)
    if cadence is PaydayCadence.MONTH:
        return Period.month(day.year, day.month)
    return Period.week(day - timedelta(days=day.weekday()))


def period_before(period: Period, cadence: PaydayCadence) -> Period:
    """The payday period that ends where ``period`` starts."""
    return period_containing(period.starts_at - timedelta(microseconds=1), cadence)


def due_period(last: Period | None, now: datetime, cadence: PaydayCadence) -> Period | None:
    """The next period to clear, or None while it has not ended yet.

    Args:
        last: the period of the latest payday that exists, finished or not; None before the
            first payday.
        now: the current time.
        cadence: the instance's payday cadence.

    Paydays clear periods in order and never skip one, since what a payday carries forward and
    what a goal has raised feed the next. The first payday clears the latest period that has
    ended; nothing before it is cleared, because nobody could pledge before the instance ran.
    """
    if last is None:
        return period_before(period_containing(now, cadence), cadence)
    following = last.following()
    return following if following.ends_at <= now else None


def hold_timeout(deadline: datetime, cadence: PaydayCadence) -> datetime:
    """When an all-or-nothing hold toward a goal with ``deadline`` expires if no payday decided
    it: the end of the deadline's period plus :data:`HOLD_GRACE`."""
    return period_containing(deadline, cadence).ends_at + HOLD_GRACE


def latest_deadline(now: datetime, cadence: PaydayCadence) -> datetime:
    """The latest deadline a goal may have when set at ``now``: its holds must fit in the
    books' longest hold (:data:`MAX_HOLD`), grace and the deadline's period included."""
    longest_period = timedelta(days=31) if cadence is PaydayCadence.MONTH else timedelta(days=7)
    return now + MAX_HOLD - HOLD_GRACE - longest_period


def _utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()
