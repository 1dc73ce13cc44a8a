"""Peers for tests of any capability, and signing a test browser in through the real form."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from functools import cache

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from potluck.people import rules, service
from potluck.people.models import Peer

DEFAULT_PASSWORD = "correct horse battery"
# FrozenClock's default start, so peers made without a time joined "now" in a default test.
DEFAULT_NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

_numbers = itertools.count(1)
_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@cache
def _password_hash(password: str) -> str:
    # Argon2 is deliberately slow; most tests reuse one password, so hash it once per run.
    return service.hash_password(password)


def make_peer(
    session: Session,
    *,
    email: str | None = None,
    display_name: str | None = None,
    password: str = DEFAULT_PASSWORD,
    now: datetime | None = None,
) -> Peer:
    """A peer who can sign in with ``password``; flushed, so it has an id."""
    number = next(_numbers)
    peer = Peer(
        email=rules.check_email(email if email is not None else f"peer{number}@example.org"),
        display_name=rules.check_display_name(
            display_name if display_name is not None else f"Peer {number}"
        ),
        password_hash=_password_hash(password),
        bio="",
        created_at=now or DEFAULT_NOW,
    )
    session.add(peer)
    session.flush()
    return peer


def make_token(
    session: Session, peer: Peer, *, scope: str = "read-write", now: datetime | None = None
) -> str:
    """A live API token for ``peer``; returns the secret to send as a bearer token."""
    created = service.create_token(
        session, peer, name=f"test token {next(_numbers)}", scope=scope, now=now or DEFAULT_NOW
    )
    return created.secret


def bearer(secret: str) -> dict[str, str]:
    """Request headers that present ``secret`` as an API token."""
    return {"Authorization": f"Bearer {secret}"}


def csrf_token(client: TestClient, path: str = "/sign-in") -> str:
    """The form token a page hands out; the client keeps the matching cookie."""
    page = client.get(path)
    found = _CSRF_INPUT.search(page.text)
    if found is None:
        msg = f"{path} answered {page.status_code} without a CSRF field."
        raise AssertionError(msg)
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str = DEFAULT_PASSWORD) -> None:
    """Sign ``client`` in through the sign-in form, as a browser would."""
    answer = client.post(
        "/sign-in",
        data={"email": email, "password": password, "csrf_token": csrf_token(client)},
        follow_redirects=False,
    )
    if answer.status_code != 303:
        msg = f"Signing in as {email} failed with {answer.status_code}: {answer.text[:300]}"
        raise AssertionError(msg)
