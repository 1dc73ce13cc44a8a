"""Operations on peers: sign up, sign in and out, API tokens. Each runs inside the caller's
transaction and only flushes; the boundary (request or command) commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from potluck.errors import Conflict, InvalidInput, NotFound, NotSignedIn, TooManyAttempts
from potluck.people import rules
from potluck.people.models import ApiToken, Peer, SignInFailure, WebSession

_hasher = PasswordHasher()
# Verified against when the email is unknown, so that a miss costs as much time as a hit.
_DUMMY_HASH = _hasher.hash("not a real password, only spent time")

WRONG_CREDENTIALS = "That email and password do not match an account."


class WrongCredentials(NotSignedIn):
    """The same answer whether the email is unknown or the password wrong.

    The failure it records must stay, so the boundary commits instead of rolling back.
    """

    keeps_writes = True


@dataclass(frozen=True)
class Throttle:
    attempts: int
    window: timedelta


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def get_peer(session: Session, peer_id: int) -> Peer:
    peer = session.get(Peer, peer_id)
    if peer is None:
        raise NotFound(f"Peer {peer_id} does not exist.")
    return peer


def find_peer_by_email(session: Session, email: str) -> Peer | None:
    return session.scalar(select(Peer).where(Peer.email == rules.normalise_email(email)))


def sign_up(
    session: Session, *, email: str, display_name: str, password: str, now: datetime
) -> Peer:
    clean_email = rules.check_email(email)
    clean_name = rules.check_display_name(display_name)
    rules.check_password(password, email=clean_email, display_name=clean_name)
    if find_peer_by_email(session, clean_email) is not None:
        raise Conflict(f"An account with the email {clean_email} already exists.", field="email")
    peer = Peer(
        email=clean_email,
        display_name=clean_name,
        password_hash=hash_password(password),
        created_at=now,
    )
    session.add(peer)
    session.flush()
    return peer


def _recent_failures(session: Session, column: object, value: str, since: datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(SignInFailure)
            .where(column == value, SignInFailure.at >= since)  # type: ignore[operator]
        )
        or 0
    )


def authenticate(
    session: Session,
    *,
    email: str,
    password: str,
    address: str,
    now: datetime,
    throttle: Throttle,
) -> Peer:
    """The peer with these credentials, or ``WrongCredentials`` (same for unknown email).

    After ``throttle.attempts`` failures for one email or one address within the window,
    every attempt is refused with ``TooManyAttempts`` until the window passes.
    """
    normal = rules.normalise_email(email)
    since = now - throttle.window
    if (
        _recent_failures(session, SignInFailure.email, normal, since) >= throttle.attempts
        or _recent_failures(session, SignInFailure.address, address, since) >= throttle.attempts
    ):
        minutes = int(throttle.window.total_seconds() // 60)
        raise TooManyAttempts(
            f"Too many failed sign-ins; try again in {minutes} minutes.", field="password"
        )
    peer = find_peer_by_email(session, normal)
    try:
        _hasher.verify(peer.password_hash if peer else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        peer = None
    if peer is None:
        session.add(SignInFailure(email=normal, address=address[:64], at=now))
        session.flush()
        raise WrongCredentials(WRONG_CREDENTIALS)
    if _hasher.check_needs_rehash(peer.password_hash):
        peer.password_hash = hash_password(password)
    return peer


def start_session(session: Session, peer: Peer, *, now: datetime, lifetime: timedelta) -> str:
    """Open a browser session for ``peer``; returns the cookie's secret (stored hashed)."""
    secret = rules.new_session_secret()
    session.add(
        WebSession(
            secret_hash=rules.secret_hash(secret),
            peer_id=peer.id,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return secret


def peer_for_session(session: Session, secret: str, *, now: datetime) -> Peer | None:
    web_session = session.scalar(
        select(WebSession).where(WebSession.secret_hash == rules.secret_hash(secret))
    )
    if web_session is None or web_session.ended_at is not None or web_session.expires_at <= now:
        return None
    return web_session.peer


def end_session(session: Session, secret: str, *, now: datetime) -> None:
    web_session = session.scalar(
        select(WebSession).where(WebSession.secret_hash == rules.secret_hash(secret))
    )
    if web_session is not None and web_session.ended_at is None:
        web_session.ended_at = now
        session.flush()


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str
    """The whole token; shown once and never again."""


def create_token(
    session: Session, peer: Peer, *, name: str, scope: str, now: datetime
) -> NewToken:
    clean_name = " ".join(name.split())
    if not clean_name:
        raise InvalidInput("A token needs a name to tell it apart.", field="name")
    if len(clean_name) > 80:
        raise InvalidInput("A token name is at most 80 characters.", field="name")
    secret = rules.new_api_token()
    token = ApiToken(
        peer_id=peer.id,
        name=clean_name,
        prefix=secret[:10],
        secret_hash=rules.secret_hash(secret),
        scope=rules.check_scope(scope),
        created_at=now,
    )
    session.add(token)
    session.flush()
    return NewToken(token=token, secret=secret)


def list_tokens(session: Session, peer: Peer) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.peer_id == peer.id).order_by(ApiToken.id.desc())
        )
    )


def revoke_token(session: Session, peer: Peer, token_id: int, *, now: datetime) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or token.peer_id != peer.id:
        raise NotFound(f"API token {token_id} does not exist among your tokens.")
    if token.revoked_at is None:
        token.revoked_at = now
        session.flush()
    return token


def live_token(session: Session, secret: str) -> ApiToken | None:
    """The API token with this secret, unless it is unknown or revoked. Reads only."""
    token = session.scalar(
        select(ApiToken).where(ApiToken.secret_hash == rules.secret_hash(secret))
    )
    if token is None or token.revoked_at is not None:
        return None
    return token


def mark_token_used(session: Session, token_id: int, *, now: datetime) -> None:
    token = session.get(ApiToken, token_id)
    if token is not None:
        token.last_used_at = now
        session.flush()
