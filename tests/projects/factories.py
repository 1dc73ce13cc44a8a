"""Projects for tests, and ways to act as a peer through the API or a browser session."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from potluck import deps
from potluck.people import service as people
from potluck.people.models import Peer
from potluck.projects import service
from potluck.projects.models import Project
from potluck.web import csrf
from tests.people.factories import DEFAULT_NOW, make_peer

_numbers = itertools.count(1)
_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_project(
    session: Session,
    *,
    creator: Peer | None = None,
    name: str | None = None,
    slug: str | None = None,
    summary: str = "Keeps a small commons running.",
    licence: str = "MIT",
    description: str = "",
    links: Iterable[tuple[str, str]] = (),
    now: datetime | None = None,
) -> Project:
    """A project started by ``creator`` (a new peer when not given), who is its steward."""
    number = next(_numbers)
    return service.create_project(
        session,
        creator=creator or make_peer(session),
        name=name or f"Project {number}",
        slug=slug or f"project-{number}",
        summary=summary,
        licence=licence,
        description=description,
        links=links,
        now=now or DEFAULT_NOW,
    )


def add_steward(session: Session, project: Project, peer: Peer | None = None) -> Peer:
    """Make ``peer`` (a new peer when not given) a steward the way it really happens."""
    stewards = service.active_stewards(session, project)
    invitee = peer or make_peer(session)
    invitation = service.invite_steward(
        session, project, inviter=stewards[0].peer, peer_id=invitee.id, now=DEFAULT_NOW
    )
    service.accept_invitation(session, invitation.id, peer=invitee, now=DEFAULT_NOW)
    return invitee


def api_token(session: Session, peer: Peer, *, scope: str = "read-write") -> dict[str, str]:
    """Headers that send a new API token of ``peer``."""
    created = people.create_token(session, peer, name="tests", scope=scope, now=DEFAULT_NOW)
    return {"Authorization": f"Bearer {created.secret}"}


def browser_session(session: Session, client: TestClient, peer: Peer) -> None:
    """Sign ``client`` in as ``peer`` by giving it a session cookie."""
    secret = people.start_session(session, peer, now=DEFAULT_NOW, lifetime=timedelta(days=30))
    client.cookies.set(deps.SESSION_COOKIE, secret)


def form_token(client: TestClient, path: str) -> str:
    """The CSRF field of the form on ``path``; the client keeps the matching cookie."""
    page = client.get(path, headers={"accept": "text/html"})
    found = _CSRF_INPUT.search(page.text)
    if found is None or csrf.COOKIE not in client.cookies:
        msg = f"{path} answered {page.status_code} without a CSRF field and cookie."
        raise AssertionError(msg)
    return found.group(1)
