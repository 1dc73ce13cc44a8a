"""Projects, custodians and accounts for tests of the books."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from potluck.ledger.models import Account, Custodian
from potluck.ledger.service import accounts
from potluck.people import service as people
from potluck.people.models import Peer
from potluck.projects.models import Project, Steward
from tests.people.factories import make_peer

DEFAULT_NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_numbers = itertools.count(1)


def make_project(
    session: Session, *, slug: str | None = None, now: datetime = DEFAULT_NOW
) -> Project:
    number = next(_numbers)
    project = Project(
        slug=slug or f"project-{number}",
        name=f"Project {number}",
        summary="A project for tests.",
        description="",
        licence="MIT",
        created_at=now,
        updated_at=now,
    )
    session.add(project)
    session.flush()
    return project


def make_steward(
    session: Session, project: Project, peer: Peer, *, now: datetime = DEFAULT_NOW
) -> Steward:
    steward = Steward(project_id=project.id, peer_id=peer.id, started_at=now, handover_note="")
    session.add(steward)
    session.flush()
    return steward


def make_custodian(
    session: Session,
    *,
    name: str | None = None,
    kind: str = "fiscal-host",
    now: datetime = DEFAULT_NOW,
) -> Custodian:
    return accounts.create_custodian(
        session, name=name or f"Custodian {next(_numbers)}", kind=kind, now=now
    )


@dataclass
class Books:
    """A project with funds at one custodian, a donor, and the outside world, in one commodity."""

    project: Project
    custodian: Custodian
    donor: Peer
    funds: Account
    given: Account
    world: Account
    in_kind: Account | None = None


def make_books(session: Session, *, commodity: str = "EUR", now: datetime = DEFAULT_NOW) -> Books:
    project = make_project(session, now=now)
    custodian = make_custodian(session, now=now)
    donor = make_peer(session, now=now)
    funds = accounts.open_account(
        session,
        owner="project",
        purpose="funds",
        project_id=project.id,
        custodian_id=custodian.id,
        commodity=commodity,
        now=now,
    )
    given = accounts.open_account(
        session, owner="peer", purpose="given", peer_id=donor.id, commodity=commodity, now=now
    )
    world = accounts.world_account(session, commodity, now=now)
    return Books(project, custodian, donor, funds, given, world)


def make_token(session: Session, peer: Peer, *, scope: str = "read-write") -> dict[str, str]:
    """Headers that make an API call as ``peer``."""
    made = people.create_token(session, peer, name="books", scope=scope, now=DEFAULT_NOW)
    return {"Authorization": f"Bearer {made.secret}"}
