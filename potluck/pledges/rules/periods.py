"""Payday periods, and how a recurring amount is apportioned to one of them exactly."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from potluck.errors import InvalidInput


class Cadence(StrEnum):
    """How often a recurring amount (a need's cost or a gift) falls due."""

    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """The days one payday clears: from ``start`` (included) to ``end`` (excluded).

    Periods are whole days in UTC, so every instance agrees on which period a moment falls in.
    """

    start: date
    end: date

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise InvalidInput(
                f"A payday period must end after it starts; {self.start} to {self.end} does not.",
                field="period",
            )

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        """The calendar month ``month`` (1–12) of ``year``: the default payday period."""
        if not 1 <= month <= 12:
            raise InvalidInput(f"There is no month {month}; use 1 to 12.", field="period")
        start = date(year, month, 1)
        end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        return cls(start, end)

    @classmethod
    def week(cls, start: date) -> Period:
        """The seven days from ``start``, for instances with a weekly payday."""
        return cls(start, start + timedelta(days=7))

    @property
    def starts_at(self) -> datetime:
        """The first moment of the period, midnight UTC."""
        return datetime.combine(self.start, time(), tzinfo=UTC)

    @property
    def ends_at(self) -> datetime:
        """The first moment after the period, midnight UTC."""
        return datetime.combine(self.end, time(), tzinfo=UTC)

    def following(self) -> Period:
        """The next period of the same shape: the next calendar month, or the next span of the
        same number of days."""
        if (
            self.start.day == 1
            and self.end.day == 1
            and _months(self.end) - _months(self.start) == 1
        ):
            return Period.month(self.end.year, self.end.month)
        return Period(self.end, self.end + (self.end - self.start))

    def __str__(self) -> str:
        return f"{self.start.isoformat()}/{self.end.isoformat()}"


def amount_for_period(amount: int, per: Cadence, period: Period) -> int:
    """The part of a recurring ``amount`` that falls due within ``period``, exactly.

    Args:
        amount: what is due every ``per``, in the commodity's smallest unit (positive).
        per: the cadence the amount recurs at.
        period: the payday period being cleared.

    Every cadence is turned into a running total due since the start of the calendar, and a
    period receives the difference of that total between its end and its start. Consecutive
    periods therefore add up exactly: no unit is created or lost by rounding, however the
    paydays are laid out.

    - ``WEEK``: each week is due in the period that holds its Thursday — as in ISO 8601, a week
      belongs to whichever side of a boundary has four or more of its days. A monthly payday
      therefore charges four or five weeks, according to the calendar.
    - ``MONTH``: a calendar month is due in full in a monthly period. Shorter periods receive
      the month pro rata by days, the remainder going to the later days of the month.
    - ``YEAR``: month ``m`` of a year receives ``⌊amount·m/12⌋ − ⌊amount·(m−1)/12⌋``, so the
      twelve months of a year add up to ``amount`` and the remainder is spread evenly through
      the year rather than piled onto one month. Periods that are not whole months are
      apportioned by days within each month in the same way.
    """
    return Apportionment(period)(amount, per)


class Apportionment:
    """:func:`amount_for_period` for one period, with the calendar work done once.

    The running total before a day is ``amount·whole + ⌊amount·part / parts⌋`` for constants
    that depend only on the cadence and the day, so each cadence keeps those constants for the
    period's two ends and apportioning an amount is a few integer operations.
    """

    __slots__ = ("_constants", "whole")

    def __init__(self, period: Period) -> None:
        self._constants = {
            per: (*_running_total(per, period.end), *_running_total(per, period.start))
            for per in Cadence
        }
        self.whole: dict[Cadence, int] = {}
        """For each cadence whose units the period holds whole — weeks always, months in a
        monthly period — how many: the apportioned amount is then ``amount·whole[per]``."""
        for per, (whole_end, part_end, _, whole_start, part_start, _) in self._constants.items():
            if part_end == 0 and part_start == 0:
                self.whole[per] = whole_end - whole_start

    def __call__(self, amount: int, per: Cadence) -> int:
        """The part of ``amount`` per ``per`` due within the period."""
        whole_end, part_end, parts_end, whole_start, part_start, parts_start = self._constants[per]
        return (
            amount * (whole_end - whole_start)
            + amount * part_end // parts_end
            - amount * part_start // parts_start
        )


def _months(day: date) -> int:
    return day.year * 12 + day.month - 1


def _running_total(per: Cadence, day: date) -> tuple[int, int, int]:
    """``(whole, part, parts)``: over the days before ``day`` since 1 January of year 1, an
    amount recurring every ``per`` totals ``amount·whole + ⌊amount·part / parts⌋``."""
    if per is Cadence.WEEK:
        # 1 January of year 1 is a Monday (ordinal 1); its Thursday is ordinal 4, and the
        # Thursdays before ordinal d number ⌊(d + 2) / 7⌋.
        return (day.toordinal() + 2) // 7, 0, 1
    days_in_month = calendar.monthrange(day.year, day.month)[1]
    if per is Cadence.MONTH:
        return _months(day), day.day - 1, days_in_month
    return day.year, (day.month - 1) * days_in_month + day.day - 1, 12 * days_in_month
