"""Stored needs and pledges as the pure rules' values.

The payday reads up to millions of pledges, so rows come through the database driver's own
cursor and become the rules' dataclasses directly, with no ORM object on the way.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from potluck.pledges import rules
from potluck.pledges.bulk import raw_rows
from potluck.pledges.models import Need, Payday, PaydayCharge, Pledge
from potluck.pledges.rules.periods import Cadence, Period

_CADENCE: dict[str | None, Cadence | None] = {None: None, **{c.value: c for c in Cadence}}
_FUNDING = {rule.value: rule for rule in rules.FundingRule}
_STATE = {state.value: state for state in rules.PledgeState}

PLEDGE_COLUMNS = (
    Pledge.id,
    Pledge.donor_id,
    Pledge.need_id,
    Pledge.kind,
    Pledge.commodity,
    Pledge.amount,
    Pledge.per,
    Pledge.rate,
    Pledge.cap,
    Pledge.state,
    Pledge.created_at,
)


def rule_need(need: Need, raised: int = 0) -> rules.Need:
    return rules.Need(
        id=need.id,
        project_id=need.project_id,
        commodity=need.commodity,
        amount=need.amount,
        per=_CADENCE[need.per],
        deadline=need.deadline,
        funding=_FUNDING[need.funding],
        raised=raised,
    )


def rule_pledge(pledge: Pledge) -> rules.Pledge:
    return _pledge(
        (
            pledge.id,
            pledge.donor_id,
            pledge.need_id,
            pledge.kind,
            pledge.commodity,
            pledge.amount,
            pledge.per,
            pledge.rate,
            pledge.cap,
            pledge.state,
            pledge.created_at,
        )
    )


def _pledge(row: tuple[Any, ...]) -> rules.Pledge:
    (pledge_id, donor_id, need_id, kind, commodity, amount, per, rate, cap, state, created) = row
    common = {
        "id": pledge_id,
        "donor_id": donor_id,
        "need_id": need_id,
        "commodity": commodity,
        "created_at": created,
        "state": _STATE[state],
    }
    if kind == "gift":
        return rules.Gift(amount=amount, per=_CADENCE[per], **common)
    if kind == "share":
        return rules.Share(cap=cap, **common)
    if kind == "crowdmatch":
        return rules.Crowdmatch(rate=rate, limit=cap, **common)
    return rules.AllOrNothing(amount=amount, **common)


def raised_before(
    session: Session, need_ids: Collection[int], *, before_period: Period
) -> dict[int, int]:
    """What each goal received at paydays of periods before ``before_period``."""
    if not need_ids:
        return {}
    found: dict[int, int] = {}
    ids = sorted(need_ids)
    for start in range(0, len(ids), 1000):
        rows = session.execute(
            select(PaydayCharge.need_id, func.sum(PaydayCharge.amount))
            .join(Payday, Payday.id == PaydayCharge.payday_id)
            .where(
                PaydayCharge.need_id.in_(ids[start : start + 1000]),
                Payday.period_start < before_period.start,
            )
            .group_by(PaydayCharge.need_id)
        )
        found.update({int(need_id): int(total or 0) for need_id, total in rows})
    return found


def rule_needs(session: Session, needs: Collection[Need], period: Period) -> dict[int, rules.Need]:
    """``needs`` as the rules see them for ``period``, goals with what they raised before."""
    goals = [need.id for need in needs if need.per is None]
    raised = raised_before(session, goals, before_period=period)
    return {need.id: rule_need(need, raised.get(need.id, 0)) for need in needs}


def pledges_of(session: Session, need_ids: Collection[int]) -> list[rules.Pledge]:
    """Every active pledge toward ``need_ids``, as the rules' values."""
    if not need_ids:
        return []
    ids = sorted(need_ids)
    found: list[rules.Pledge] = []
    for start in range(0, len(ids), 1000):
        statement = select(*PLEDGE_COLUMNS).where(
            Pledge.need_id.in_(ids[start : start + 1000]), Pledge.state == "active"
        )
        found.extend(stream_pledges(session, statement))
    return found


def stream_pledges(session: Session, statement: Select[*tuple[Any, ...]]) -> Iterator[rules.Pledge]:
    """Run ``statement`` (selecting :data:`PLEDGE_COLUMNS`) and yield the rules' pledges.

    SQLite's timestamps arrive as text and are parsed here, each distinct one once.
    """
    times: dict[str, datetime] = {}
    for row in raw_rows(session, statement):
        created = row[10]
        if isinstance(created, str):
            parsed = times.get(created)
            if parsed is None:
                parsed = times[created] = datetime.fromisoformat(created).replace(tzinfo=UTC)
            created = parsed
        yield _pledge((*row[:10], created))
