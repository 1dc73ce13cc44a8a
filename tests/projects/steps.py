"""Single operations, each in a transaction of its own as a request would run it."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from potluck.db import Database
from potluck.people.models import Peer
from potluck.projects import service
from potluck.projects.models import ActivityEntry
from tests.projects.factories import browser_session, make_project


def start(database: Database, creator: Peer, **fields: Any) -> str:
    """Start a project with ``make_project``; returns its slug."""
    with database.transaction() as session:
        return make_project(session, creator=creator, **fields).slug


def edit(database: Database, address: str, editor: Peer, **changes: Any) -> None:
    with database.transaction() as session:
        project = service.get_project(session, address)
        service.update_project(session, project, editor=editor, now=editor.created_at, **changes)


def invite(database: Database, slug: str, inviter: Peer, invitee: Peer | str) -> int:
    """Invite by email (a peer's, or one given as text); returns the invitation's id."""
    email = invitee if isinstance(invitee, str) else invitee.email
    with database.transaction() as session:
        project = service.get_project(session, slug)
        return service.invite_steward(
            session, project, inviter=inviter, email=email, now=project.created_at
        ).id


def accept(database: Database, invitation_id: int, peer: Peer) -> None:
    with database.transaction() as session:
        service.accept_invitation(session, invitation_id, peer=peer, now=peer.created_at)


def decline(database: Database, invitation_id: int, peer: Peer) -> None:
    with database.transaction() as session:
        service.decline_invitation(session, invitation_id, peer=peer, now=peer.created_at)


def withdraw(database: Database, invitation_id: int, steward: Peer) -> None:
    with database.transaction() as session:
        service.withdraw_invitation(session, invitation_id, steward=steward, now=steward.created_at)


def step_down(database: Database, slug: str, peer: Peer) -> None:
    with database.transaction() as session:
        project = service.get_project(session, slug)
        service.step_down(session, project, peer=peer, now=peer.created_at)


def log_of(database: Database, slug: str) -> list[ActivityEntry]:
    """The project's whole activity log, newest first."""
    with database.transaction(write=False) as session:
        project = service.get_project(session, slug)
        return service.activity(session, project, per_page=100).items


def sign_in(database: Database, client: TestClient, peer: Peer) -> None:
    """Give ``client`` a browser session of ``peer``."""
    with database.transaction() as session:
        browser_session(session, client, peer)
