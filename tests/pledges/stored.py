"""Stored needs and pledges for tests that touch the database, made through the services."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from potluck.people.models import Peer
from potluck.pledges.models import Need, Pledge
from potluck.pledges.payments import methods
from potluck.pledges.rules.schedule import PaydayCadence
from potluck.pledges.service import needs, pledges
from potluck.projects import service as projects
from potluck.projects.models import Project
from tests.people.factories import DEFAULT_NOW, make_peer
from tests.projects.factories import make_project

MONTH = PaydayCadence.MONTH
SUCCEEDS = "4242424242424242"
DECLINED = "4000000000000002"


def stored_need(
    session: Session,
    project: Project | None = None,
    *,
    title: str = "Hosting",
    commodity: str = "EUR",
    amount: int = 4000,
    per: str | None = "month",
    deadline: datetime | None = None,
    funding: str = "open",
    steward: Peer | None = None,
    now: datetime = DEFAULT_NOW,
) -> Need:
    """A need made by a steward of ``project`` (a new project when not given): by default a
    recurring 40.00 EUR a month, open to gifts and crowdmatch."""
    if project is None:
        project = make_project(session, now=now)
    if steward is None:
        steward = projects.active_stewards(session, project)[0].peer
    return needs.create_need(
        session,
        project,
        steward=steward,
        terms=needs.NeedTerms(
            title=title,
            commodity=commodity,
            amount=amount,
            per=per,
            deadline=deadline,
            funding=funding,
        ),
        now=now,
        cadence=MONTH,
    )


def stored_goal(
    session: Session,
    project: Project | None = None,
    *,
    amount: int = 120_000,
    deadline: datetime | None = None,
    funding: str = "all-or-nothing",
    now: datetime = DEFAULT_NOW,
) -> Need:
    """A one-off goal, all-or-nothing by default, due 40 days after ``now``."""
    return stored_need(
        session,
        project,
        title="New server",
        amount=amount,
        per=None,
        deadline=deadline or now + timedelta(days=40),
        funding=funding,
        now=now,
    )


def stored_pledge(
    session: Session,
    need: Need,
    *,
    donor: Peer | None = None,
    kind: str = "gift",
    amount: int | None = None,
    per: str | None = "month",
    rate: int | None = None,
    cap: int | None = None,
    anonymous: bool = False,
    now: datetime = DEFAULT_NOW,
) -> Pledge:
    """A pledge by ``donor`` (a new peer when not given): a 5.00 a month gift by default."""
    if kind == "gift" and amount is None:
        amount = 500
    if kind != "gift":
        per = None
    return pledges.make_pledge(
        session,
        need,
        donor=donor or make_peer(session),
        terms=pledges.PledgeTerms(
            kind=kind, amount=amount, per=per, rate=rate, cap=cap, anonymous=anonymous
        ),
        now=now,
        cadence=MONTH,
    )


def save_card(session: Session, peer: Peer, number: str = SUCCEEDS) -> None:
    """Give ``peer`` a simulated test card, so payday charges them through it."""
    methods.save_simulated_card(session, peer, card_number=number, now=DEFAULT_NOW)
