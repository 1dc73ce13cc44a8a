"""What the next payday would decide if nothing changed: a need's coverage, each pledge's
cost, and the "what would I pay" preview of a share or crowdmatch pledge.

Everything here reads and runs the pure clearing over one need at a time; nothing is written.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from potluck.errors import InvalidInput
from potluck.pledges import bulk, rules
from potluck.pledges.models import Need, Payday, PaydayCoverage, Pledge
from potluck.pledges.rules.periods import Period
from potluck.pledges.rules.schedule import PaydayCadence, period_containing
from potluck.pledges.service import loading


def latest_payday(session: Session) -> Payday | None:
    return session.scalar(select(Payday).order_by(Payday.period_start.desc()).limit(1))


def period_of(payday: Payday) -> Period:
    return Period(payday.period_start, payday.period_end)


def next_period(session: Session, now: datetime, cadence: PaydayCadence) -> Period:
    """The period the next payday will clear: the one after the latest payday's, or, before
    the first payday, the period ``now`` is in."""
    last = latest_payday(session)
    if last is None:
        return period_containing(now, cadence)
    return period_of(last).following()


def clear_needs(session: Session, needs: Collection[Need], period: Period) -> rules.Clearing:
    """The clearing of ``needs`` alone, with every active pledge toward them, for ``period``."""
    rule_needs = loading.rule_needs(session, needs, period)
    return rules.clear(
        rule_needs.values(), loading.pledges_of(session, [need.id for need in needs]), period
    )


@dataclass(frozen=True, slots=True)
class NeedOutlook:
    """A need as the next payday sees it, and as the last payday left it."""

    need: Need
    period: Period
    coverage: rules.Coverage
    """What the next payday would report, were nothing to change before it."""
    charges: dict[int, int]
    """Pledge id → what it would be charged at the next payday."""
    suspended: frozenset[int]
    last: PaydayCoverage | None
    """The coverage the latest payday that cleared this need recorded."""
    last_period: Period | None


def outlook(session: Session, need: Need, *, now: datetime, cadence: PaydayCadence) -> NeedOutlook:
    period = next_period(session, now, cadence)
    clearing = clear_needs(session, [need], period)
    (coverage,) = clearing.coverage
    last = last_coverage(session, need.id)
    return NeedOutlook(
        need=need,
        period=period,
        coverage=coverage,
        charges={charge.pledge_id: charge.amount for charge in clearing.charges},
        suspended=frozenset(clearing.suspended),
        last=last[1] if last else None,
        last_period=last[0] if last else None,
    )


def last_coverage(session: Session, need_id: int) -> tuple[Period, PaydayCoverage] | None:
    """The period and coverage of the latest payday that cleared the need."""
    row = session.execute(
        select(Payday, PaydayCoverage)
        .join(PaydayCoverage, PaydayCoverage.payday_id == Payday.id)
        .where(PaydayCoverage.need_id == need_id)
        .order_by(Payday.period_start.desc())
        .limit(1)
    ).one_or_none()
    return None if row is None else (period_of(row[0]), row[1])


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    period: Period
    payday_id: int
    coverage: PaydayCoverage


def coverage_history(session: Session, need_id: int, *, limit: int = 24) -> list[HistoryPoint]:
    """The need's coverage at each of the latest ``limit`` paydays that cleared it, oldest
    first."""
    rows = session.execute(
        select(Payday, PaydayCoverage)
        .join(PaydayCoverage, PaydayCoverage.payday_id == Payday.id)
        .where(PaydayCoverage.need_id == need_id)
        .order_by(Payday.period_start.desc())
        .limit(limit)
    ).all()
    return [
        HistoryPoint(period_of(payday), payday.id, coverage) for payday, coverage in reversed(rows)
    ]


def cost_left_to_share(
    session: Session, need: Need, period: Period, *, excluding: int | None = None
) -> int:
    """What the need's sharers split in ``period``: its cost less the gifts due toward it."""
    rule_need = loading.rule_needs(session, [need], period)[need.id]
    gifts = _pledges(session, need, "gift", excluding)
    (coverage,) = rules.clear([rule_need], gifts, period).coverage
    return coverage.cost - coverage.pledged


def _pledges(session: Session, need: Need, kind: str, excluding: int | None) -> list[rules.Pledge]:
    statement = select(*loading.PLEDGE_COLUMNS).where(
        Pledge.need_id == need.id, Pledge.state == "active", Pledge.kind == kind
    )
    if excluding is not None:
        statement = statement.where(Pledge.id != excluding)
    return list(loading.stream_pledges(session, statement))


def share_caps(session: Session, need: Need, *, excluding: int | None = None) -> list[int]:
    """The caps of the need's active share pledges."""
    statement = select(Pledge.cap).where(
        Pledge.need_id == need.id, Pledge.state == "active", Pledge.kind == "share"
    )
    if excluding is not None:
        statement = statement.where(Pledge.id != excluding)
    return [cap for (cap,) in bulk.raw_rows(session, statement)]


def crowdmatch_terms(
    session: Session, need: Need, *, excluding: int | None = None
) -> list[tuple[int, int]]:
    """The ``(rate, limit)`` of the need's active crowdmatch pledges."""
    statement = select(Pledge.rate, Pledge.cap).where(
        Pledge.need_id == need.id, Pledge.state == "active", Pledge.kind == "crowdmatch"
    )
    if excluding is not None:
        statement = statement.where(Pledge.id != excluding)
    return [(rate, limit) for rate, limit in bulk.raw_rows(session, statement)]


@dataclass(frozen=True, slots=True)
class PledgePreview:
    """What a share or crowdmatch pledge would pay at the next payday, and as others join."""

    need: Need
    kind: str
    period: Period
    preview: rules.Preview
    least_cap: int | None
    """For a share: the smallest cap that would pay today (the current share)."""


def preview(
    session: Session,
    need: Need,
    *,
    kind: str,
    now: datetime,
    cadence: PaydayCadence,
    cap: int | None = None,
    rate: int | None = None,
    joining: Iterable[int] | None = None,
    excluding: int | None = None,
) -> PledgePreview:
    """What a new (or, with ``excluding``, a changed) pledge of ``kind`` toward ``need`` would
    pay. ``cap`` is a share's cap or a crowdmatch pledge's limit."""
    period = next_period(session, now, cadence)
    if kind == "share":
        if cap is None:
            raise InvalidInput("A share pledge's preview needs its cap.", field="cap")
        cost = cost_left_to_share(session, need, period, excluding=excluding)
        caps = share_caps(session, need, excluding=excluding)
        return PledgePreview(
            need=need,
            kind=kind,
            period=period,
            preview=rules.preview_share(cost, caps, cap, joining=joining),
            least_cap=rules.least_share_cap(cost, caps),
        )
    if kind == "crowdmatch":
        if rate is None or cap is None:
            raise InvalidInput(
                "A crowdmatch pledge's preview needs its rate and its limit.", field="rate"
            )
        terms = crowdmatch_terms(session, need, excluding=excluding)
        return PledgePreview(
            need=need,
            kind=kind,
            period=period,
            preview=rules.preview_crowdmatch(terms, rate, cap, joining=joining),
            least_cap=None,
        )
    raise InvalidInput(
        f"Only share and crowdmatch pledges depend on who else pledges; a {kind} pledge "
        "pays what it says.",
        field="kind",
    )
