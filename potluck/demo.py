"""Believable demo data for a fresh instance: peers, projects, stewards and invitations.

Idempotent: every peer is found by email and every project by slug before anything is made,
so running ``potluck demo`` again changes nothing. The demo peers are handles, not people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from potluck.db import Database
from potluck.people import service as people
from potluck.people.models import Peer
from potluck.pledges.demo import fill_pledges
from potluck.projects import service as projects
from potluck.projects.models import Project

DEMO_PASSWORD = "potluck-demo-password"  # noqa: S105 - published in the README on purpose
DEMO_DOMAIN = "demo.potluck.example"
# Demo history is laid out from a fixed day, so two runs write the same rows. Needs and
# pledges start once every project exists, early enough for a few paydays of history.
DEMO_START = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
PLEDGES_START = DEMO_START + timedelta(days=40)


@dataclass(frozen=True)
class DemoPeer:
    handle: str
    display_name: str
    bio: str


@dataclass(frozen=True)
class DemoProject:
    slug: str
    name: str
    summary: str
    licence: str
    description: str
    stewards: tuple[str, ...]
    """Handles: the first starts the project, the others are invited and accept."""
    links: tuple[tuple[str, str], ...] = ()
    invited: tuple[str, ...] = field(default=())
    """Handles invited who have not answered yet."""


PEERS = (
    DemoPeer("tilesmith", "tilesmith", "Keeps map tile servers fed. Lives near a river delta."),
    DemoPeer("wiki-gardener", "wiki gardener", "Prunes stale pages and plants new ones."),
    DemoPeer("night-owl-ops", "night-owl ops", "On call when the backups are not."),
    DemoPeer("translator-de", "translator (de)", "Turns English docs into German ones."),
    DemoPeer("kiln-collective", "kiln collective", "A ceramics studio that lends its rooms."),
    DemoPeer("spare-cycles", "spare cycles", "Donates an idle workstation's nights."),
    DemoPeer("rustacean-42", "rustacean-42", "Writes parsers for fun, and for the commons."),
    DemoPeer("libre-librarian", "libre librarian", "Catalogues things nobody else will."),
)

PROJECTS = (
    DemoProject(
        slug="open-river-tiles",
        name="Open River Tiles",
        summary="Free map tiles of the world's rivers and wetlands, served to anyone.",
        licence="ODbL-1.0",
        description=(
            "## What we run\n\nA tile server with **40 GB** of pre-rendered river maps, "
            "refreshed weekly from open data.\n\n## What it costs\n\n- Hosting: about "
            "40 EUR a month\n- Rendering: around 500 cpu-hours a month, mostly from "
            "volunteers' spare cycles\n"
        ),
        stewards=("tilesmith", "night-owl-ops"),
        links=(("Source", "https://git.example.org/open-river-tiles"),),
        invited=("spare-cycles",),
    ),
    DemoProject(
        slug="commons-wiki",
        name="Commons Wiki",
        summary="A wiki about running shared spaces: tools, rooms, gardens and kitchens.",
        licence="CC-BY-SA-4.0",
        description=(
            "Written by the people who keep community spaces open. Every page is free to "
            "copy and adapt.\n\n> Pages are reviewed by two gardeners before they go live."
        ),
        stewards=("wiki-gardener",),
        links=(("Read the wiki", "https://wiki.example.org"),),
    ),
    DemoProject(
        slug="tinyparse",
        name="tinyparse",
        summary="A small, fast, dependency-free parser library for configuration files.",
        licence="MIT OR Apache-2.0",
        description="Parses TOML, INI and a safe subset of YAML in under 3,000 lines.",
        stewards=("rustacean-42", "translator-de"),
        links=(
            ("Source", "https://git.example.org/tinyparse"),
            ("Docs", "https://docs.example.org/tinyparse"),
        ),
    ),
    DemoProject(
        slug="kiln-room-commons",
        name="Kiln Room Commons",
        summary="A shared ceramics studio whose room-hours are lent to anyone who signs up.",
        licence="CC0-1.0",
        description="Open Tuesday to Saturday. Bring clay; the kiln is shared.",
        stewards=("kiln-collective",),
        invited=("libre-librarian",),
    ),
    DemoProject(
        slug="shelf-catalogue",
        name="Shelf Catalogue",
        summary="An open catalogue of small libraries' holdings, in one searchable index.",
        licence="AGPL-3.0-or-later",
        description="Imports MARC records and publishes them as open data every night.",
        stewards=("libre-librarian", "wiki-gardener"),
    ),
)


def _email(handle: str) -> str:
    return f"{handle}@{DEMO_DOMAIN}"


def _ensure_peer(session: Session, demo: DemoPeer, *, now: datetime) -> tuple[Peer, bool]:
    existing = people.find_peer_by_email(session, _email(demo.handle))
    if existing is not None:
        return existing, False
    peer = people.sign_up(
        session,
        email=_email(demo.handle),
        display_name=demo.display_name,
        password=DEMO_PASSWORD,
        now=now,
    )
    peer.bio = demo.bio
    return peer, True


def _ensure_project(
    session: Session, demo: DemoProject, peers: dict[str, Peer], *, now: datetime
) -> bool:
    if session.scalar(select(Project.id).where(Project.slug == demo.slug)) is not None:
        return False
    first, *others = demo.stewards
    project = projects.create_project(
        session,
        creator=peers[first],
        slug=demo.slug,
        name=demo.name,
        summary=demo.summary,
        licence=demo.licence,
        description=demo.description,
        links=demo.links,
        now=now,
    )
    moment = now
    for handle in others:
        moment += timedelta(hours=3)
        invitation = projects.invite_steward(
            session, project, inviter=peers[first], email=_email(handle), now=moment
        )
        moment += timedelta(hours=5)
        projects.accept_invitation(session, invitation.id, peer=peers[handle], now=moment)
    for handle in demo.invited:
        moment += timedelta(hours=2)
        projects.invite_steward(
            session,
            project,
            inviter=peers[first],
            email=_email(handle),
            message="Would you help keep this running?",
            now=moment,
        )
    return True


def fill(database: Database) -> list[str]:
    """Create whatever demo data is missing; returns lines saying what was done."""
    report: list[str] = []
    with database.transaction() as session:
        peers: dict[str, Peer] = {}
        for index, demo in enumerate(PEERS):
            peer, made = _ensure_peer(session, demo, now=DEMO_START + timedelta(days=index))
            peers[demo.handle] = peer
            if made:
                report.append(f"peer {peer.display_name} <{peer.email}>")
        for index, demo_project in enumerate(PROJECTS):
            started = DEMO_START + timedelta(days=10 + 7 * index)
            if _ensure_project(session, demo_project, peers, now=started):
                report.append(f"project {demo_project.name} at /projects/{demo_project.slug}")
    report.extend(fill_pledges(database, PLEDGES_START))
    if report:
        report.insert(0, "Demo data added:")
        report.append(f"Every demo peer signs in with the password '{DEMO_PASSWORD}'.")
    else:
        report.append("Demo data is already in place; nothing changed.")
    return report
