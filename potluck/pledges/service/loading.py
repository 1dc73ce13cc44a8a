"""Stored needs and pledges as the pure rules' values.

The payday reads up to millions of pledges, so rows come through the database driver's own
cursor and become the rules' dataclasses directly, with no ORM object on the way.
"""

from __future__ import annotations

from collections.abc import Collection, Container, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from potluck.pledges import rules
from potluck.pledges.bulk import raw_batches
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
    return _rule_pledges([row], None)[0]


def _rule_pledges(
    rows: Iterable[tuple[Any, ...]], need_ids: Container[int] | None
) -> list[rules.Pledge]:
    """Rows of :data:`PLEDGE_COLUMNS` as the rules' pledges, those toward ``need_ids`` only
    when given. SQLite's timestamps arrive as naive UTC text and are parsed here."""
    found: list[rules.Pledge] = []
    add = found.append
    states, cadences, parse = _STATE, _CADENCE, datetime.fromisoformat
    gift, share, crowdmatch = rules.new_gift, rules.new_share, rules.new_crowdmatch
    all_or_nothing = rules.new_all_or_nothing
    for pledge_id, donor, need_id, kind, commodity, amount, per, rate, cap, state, made in rows:
        if need_ids is not None and need_id not in need_ids:
            continue
        # Parsed with its offset: much cheaper than replacing the tzinfo afterwards.
        created = parse(made + "+00:00") if made.__class__ is str else made
        if kind == "gift":
            add(gift(pledge_id, donor, need_id, commodity, created, states[state], amount,
                     cadences[per]))  # fmt: skip
        elif kind == "share":
            add(share(pledge_id, donor, need_id, commodity, created, states[state], cap))
        elif kind == "crowdmatch":
            add(crowdmatch(pledge_id, donor, need_id, commodity, created, states[state], rate,
                           cap))  # fmt: skip
        else:
            add(all_or_nothing(pledge_id, donor, need_id, commodity, created, states[state],
                               amount))  # fmt: skip
    return found


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


def stream_pledges(
    session: Session,
    statement: Select[*tuple[Any, ...]],
    *,
    need_ids: Container[int] | None = None,
) -> list[rules.Pledge]:
    """Run ``statement`` (selecting :data:`PLEDGE_COLUMNS`) and answer the rules' pledges,
    only those toward ``need_ids`` when given."""
    found: list[rules.Pledge] = []
    for rows in raw_batches(session, statement):
        found.extend(_rule_pledges(rows, need_ids))
    return found
