"""Small builders of needs and pledges for the pure clearing tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from potluck.pledges.rules import (
    AllOrNothing,
    Cadence,
    Crowdmatch,
    FundingRule,
    Gift,
    Need,
    Period,
    Share,
)

MARCH = Period.month(2026, 3)
# Pledges are made during February unless a test says otherwise; by default one second apart
# in id order, so creation order and id order agree.
FEBRUARY = datetime(2026, 2, 1, tzinfo=UTC)


def made(seconds: int) -> datetime:
    return FEBRUARY + timedelta(seconds=seconds)


def make_need(**overrides: Any) -> Need:
    """A recurring 40.00 EUR a month need, open to gifts and crowdmatch."""
    fields: dict[str, Any] = {
        "id": 1,
        "project_id": 1,
        "commodity": "EUR",
        "amount": 4000,
        "per": Cadence.MONTH,
        "funding": FundingRule.OPEN,
    }
    fields.update(overrides)
    return Need(**fields)


def make_goal(**overrides: Any) -> Need:
    """A one-off 1,200.00 EUR goal due on 15 March, all-or-nothing."""
    fields: dict[str, Any] = {
        "per": None,
        "amount": 120_000,
        "deadline": datetime(2026, 3, 15, 12, tzinfo=UTC),
        "funding": FundingRule.ALL_OR_NOTHING,
    }
    fields.update(overrides)
    return make_need(**fields)


def _common(pledge_id: int, overrides: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": pledge_id,
        "donor_id": pledge_id,
        "need_id": 1,
        "commodity": "EUR",
        "created_at": made(pledge_id),
    }
    fields.update(overrides)
    return fields


def make_gift(pledge_id: int, amount: int, **overrides: Any) -> Gift:
    """A monthly gift unless ``per`` is given (``per=None`` is a one-off gift)."""
    overrides.setdefault("per", Cadence.MONTH)
    return Gift(amount=amount, **_common(pledge_id, overrides))


def make_share(pledge_id: int, cap: int, **overrides: Any) -> Share:
    return Share(cap=cap, **_common(pledge_id, overrides))


def make_crowdmatch(pledge_id: int, rate: int, limit: int, **overrides: Any) -> Crowdmatch:
    return Crowdmatch(rate=rate, limit=limit, **_common(pledge_id, overrides))


def make_all_or_nothing(pledge_id: int, amount: int, **overrides: Any) -> AllOrNothing:
    return AllOrNothing(amount=amount, **_common(pledge_id, overrides))
