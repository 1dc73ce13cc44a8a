"""Demo needs, pledges of every kind, and a few paydays of history, on the demo projects.

Idempotent: a need is found by its project and title before it is made, pledges are made only
with their need, and a payday that already ran is not run again. Demo donors pay with the
simulated processor's test cards (one card is declined, so its donor sees what a failure
does), except one who pays by bank transfer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from potluck.clock import FrozenClock, SystemClock
from potluck.db import Database
from potluck.money import CURRENCIES, Amount, amount_from_decimal
from potluck.people.models import Peer
from potluck.pledges.models import Need
from potluck.pledges.payday import gateway
from potluck.pledges.payday.run import run_due_paydays
from potluck.pledges.payments import methods
from potluck.pledges.rules.schedule import period_containing
from potluck.pledges.service import needs, pledges
from potluck.pledges.settings import PledgeSettings
from potluck.projects import service as projects
from potluck.projects.models import Project

DEMO_DOMAIN = "demo.potluck.example"
WORKING_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
# How each demo donor pays: a working test card unless listed here.
PAYS_WITH = {"night-owl-ops": DECLINED_CARD, "libre-librarian": None}


@dataclass(frozen=True)
class DemoPledge:
    handle: str
    kind: str
    amount: str = ""
    per: str | None = None
    rate: str = ""
    cap: str = ""
    anonymous: bool = False


@dataclass(frozen=True)
class DemoNeed:
    project: str
    title: str
    amount: str
    funding: str
    description: str
    per: str | None = None
    deadline_days: int | None = None
    """Days after the demo's start when a goal's deadline falls."""
    pledges: tuple[DemoPledge, ...] = ()


NEEDS = (
    DemoNeed(
        project="open-river-tiles",
        title="Tile server hosting",
        amount="40.00",
        per="month",
        funding="open",
        description="A dedicated server at a small hosting cooperative, paid monthly.",
        pledges=(
            DemoPledge("tilesmith", "gift", "10.00", per="month"),
            DemoPledge("rustacean-42", "crowdmatch", rate="0.50", cap="5.00"),
            DemoPledge("translator-de", "crowdmatch", rate="0.50", cap="3.00"),
            DemoPledge("kiln-collective", "crowdmatch", rate="0.25", cap="2.00"),
            DemoPledge("night-owl-ops", "gift", "5.00", per="month"),
            DemoPledge("spare-cycles", "gift", "2.50", per="week", anonymous=True),
        ),
    ),
    DemoNeed(
        project="open-river-tiles",
        title="A second disk for the tile cache",
        amount="180.00",
        funding="all-or-nothing",
        deadline_days=50,
        description="Bought only if the whole price is pledged by the deadline.",
        pledges=(
            DemoPledge("wiki-gardener", "all-or-nothing", "60.00"),
            DemoPledge("spare-cycles", "all-or-nothing", "70.00"),
            DemoPledge("libre-librarian", "all-or-nothing", "50.00"),
        ),
    ),
    DemoNeed(
        project="commons-wiki",
        title="Wiki hosting",
        amount="30.00",
        per="month",
        funding="shared",
        description="Split equally among those who share it: each pays less as more join.",
        pledges=(
            DemoPledge("wiki-gardener", "share", cap="30.00"),
            DemoPledge("libre-librarian", "share", cap="15.00"),
            DemoPledge("translator-de", "share", cap="12.00"),
            DemoPledge("tilesmith", "gift", "5.00", per="month"),
        ),
    ),
    DemoNeed(
        project="tinyparse",
        title="Continuous integration runners",
        amount="15.00",
        per="month",
        funding="open",
        description="Build minutes for every pull request, on three operating systems.",
        pledges=(
            DemoPledge("rustacean-42", "gift", "1.50", per="month"),
            DemoPledge("night-owl-ops", "crowdmatch", rate="0.20", cap="2.00"),
            DemoPledge("kiln-collective", "gift", "25.00"),
        ),
    ),
    DemoNeed(
        project="kiln-room-commons",
        title="Kiln element replacement",
        amount="450.00",
        funding="all-or-nothing",
        deadline_days=105,
        description="The old heating elements are failing; new ones only if fully funded.",
        pledges=(
            DemoPledge("kiln-collective", "all-or-nothing", "150.00"),
            DemoPledge("wiki-gardener", "all-or-nothing", "40.00", anonymous=True),
        ),
    ),
    DemoNeed(
        project="shelf-catalogue",
        title="Domain and mail",
        amount="60.00",
        per="year",
        funding="open",
        description="The catalogue's domain name and its mailing list, renewed each year.",
        pledges=(DemoPledge("libre-librarian", "gift", "5.00", per="month"),),
    ),
    DemoNeed(
        project="shelf-catalogue",
        title="A card scanner",
        amount="200.00",
        funding="open",
        deadline_days=80,
        description="For the card catalogues of libraries that never went digital.",
        pledges=(
            DemoPledge("libre-librarian", "gift", "40.00"),
            DemoPledge("translator-de", "gift", "25.00"),
        ),
    ),
)


def _peer(session: Session, handle: str) -> Peer | None:
    return session.scalar(select(Peer).where(Peer.email == f"{handle}@{DEMO_DOMAIN}"))


def _units(text: str, code: str) -> int | None:
    return amount_from_decimal(text, CURRENCIES[code]).units if text else None


def _ensure_need(
    session: Session, demo: DemoNeed, *, start: datetime, settings: PledgeSettings
) -> list[str]:
    project = session.scalar(select(Project).where(Project.slug == demo.project))
    if project is None:
        return []
    exists = session.scalar(
        select(Need.id).where(Need.project_id == project.id, Need.title == demo.title)
    )
    if exists is not None:
        return []
    steward = projects.active_stewards(session, project)[0].peer
    moment = max(start, project.created_at) + timedelta(hours=2)
    need = needs.create_need(
        session,
        project,
        steward=steward,
        terms=needs.NeedTerms(
            title=demo.title,
            commodity="EUR",
            amount=_units(demo.amount, "EUR") or 0,
            per=demo.per,
            deadline=start + timedelta(days=demo.deadline_days) if demo.deadline_days else None,
            funding=demo.funding,
            description=demo.description,
        ),
        now=moment,
        cadence=settings.payday_cadence,
    )
    made = [f"need “{need.title}” of {project.name} at /needs/{need.id}"]
    for offset, demo_pledge in enumerate(demo.pledges, 1):
        donor = _peer(session, demo_pledge.handle)
        if donor is None:
            continue
        pledges.make_pledge(
            session,
            need,
            donor=donor,
            terms=pledges.PledgeTerms(
                kind=demo_pledge.kind,
                amount=_units(demo_pledge.amount, "EUR"),
                per=demo_pledge.per,
                rate=_units(demo_pledge.rate, "EUR"),
                cap=_units(demo_pledge.cap, "EUR"),
                anonymous=demo_pledge.anonymous,
            ),
            now=moment + timedelta(hours=6 * offset),
            cadence=settings.payday_cadence,
        )
    if demo.pledges:
        count = len(demo.pledges)
        made.append(f"  {count} pledge{'' if count == 1 else 's'} toward it")
    return made


def _save_cards(session: Session, *, now: datetime) -> None:
    for peer in session.scalars(select(Peer).where(Peer.email.like(f"%@{DEMO_DOMAIN}"))):
        handle = peer.email.split("@", 1)[0]
        card = PAYS_WITH.get(handle, WORKING_CARD)
        if card is not None and methods.active_method(session, peer.id, "simulated") is None:
            methods.save_simulated_card(session, peer, card_number=card, now=now)


def fill_pledges(database: Database, clock_start: datetime) -> list[str]:
    """Add the demo needs and pledges, then run the paydays of every month from
    ``clock_start`` that has ended (by the real clock). Returns lines saying what was done."""
    settings = PledgeSettings()
    report: list[str] = []
    with database.transaction() as session:
        _save_cards(session, now=clock_start)
        for demo in NEEDS:
            report.extend(_ensure_need(session, demo, start=clock_start, settings=settings))
        demo_needs = session.scalar(
            select(Need.id).where(Need.title.in_([demo.title for demo in NEEDS])).limit(1)
        )
    if demo_needs is None:
        return report
    clock = FrozenClock(clock_start)
    registry = gateway.ProviderRegistry.from_settings()
    boundary = period_containing(clock_start, settings.payday_cadence).ends_at
    real_now = SystemClock().now()
    while boundary + timedelta(hours=1) <= real_now and boundary <= clock_start + timedelta(
        days=75
    ):
        clock.set(boundary + timedelta(minutes=30))
        for outcome in run_due_paydays(database, clock=clock, settings=settings, registry=registry):
            charged = ", ".join(
                Amount(entry["charged"], CURRENCIES[code]).display()
                for code, entry in outcome.summary.get("currencies", {}).items()
            )
            report.append(
                f"payday of {outcome.period}: {charged or 'nothing'} charged, self-check "
                f"{'passed' if outcome.check_ok else 'FAILED'}"
            )
        boundary = period_containing(boundary, settings.payday_cadence).ends_at
    return report
