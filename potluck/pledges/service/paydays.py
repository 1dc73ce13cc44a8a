"""Reading paydays: the list, one payday's results, and what the next one would do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from potluck.errors import NotFound
from potluck.pledges.models import Need, Payday, PaydayCoverage
from potluck.pledges.payday import clearing
from potluck.pledges.payday.run import due
from potluck.pledges.rules.periods import Period
from potluck.pledges.service import forecast
from potluck.pledges.settings import PledgeSettings
from potluck.projects.models import Project

PER_PAGE = 24


def list_paydays(session: Session, *, limit: int = PER_PAGE) -> list[Payday]:
    """The latest paydays, newest first."""
    return list(session.scalars(select(Payday).order_by(Payday.period_start.desc()).limit(limit)))


def get_payday(session: Session, payday_id: int) -> Payday:
    payday = session.get(Payday, payday_id)
    if payday is None:
        raise NotFound(f"Payday {payday_id} does not exist.")
    return payday


@dataclass(frozen=True, slots=True)
class NeedResult:
    need: Need
    project: Project
    coverage: PaydayCoverage


def uncovered_needs(session: Session, payday: Payday, *, limit: int = 50) -> list[NeedResult]:
    """The needs this payday left most short, most missing first."""
    rows = session.execute(
        select(Need, Project, PaydayCoverage)
        .join(PaydayCoverage, PaydayCoverage.need_id == Need.id)
        .join(Project, Project.id == Need.project_id)
        .where(PaydayCoverage.payday_id == payday.id, PaydayCoverage.missing > 0)
        .order_by(PaydayCoverage.missing.desc(), Need.id)
        .limit(limit)
    ).all()
    return [NeedResult(need, project, coverage) for need, project, coverage in rows]


@dataclass(frozen=True)
class PaydayPreview:
    period: Period
    due: bool
    """Whether the period has ended, so that a payday run now would clear it."""
    plan: clearing.PaydayPlan


def preview_payday(session: Session, *, now: datetime, settings: PledgeSettings) -> PaydayPreview:
    """What the next payday would decide if it ran now: the due period's, or else the current
    period's as if it ended now. Writes nothing."""
    period = due(session, now, settings)
    is_due = period is not None
    if period is None:
        period = forecast.next_period(session, now, settings.payday_cadence)
    return PaydayPreview(period, is_due, clearing.plan_payday(session, period, settings.minimum))
