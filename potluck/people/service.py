"""Operations on peers: sign up, sign in and out, API tokens. Each runs inside the caller's
transaction and only flushes; the boundary (request or command) commits."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, joinedload

from potluck.config import Settings
from potluck.errors import Conflict, NotFound, NotSignedIn, TooManyAttempts
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


class SignInThrottled(TooManyAttempts):
    """Too many recent failures for this email or address; ``retry_at`` is when that ends."""

    def __init__(self, detail: str, *, retry_at: datetime) -> None:
        super().__init__(detail, field="password")
        self.retry_at = retry_at


@dataclass(frozen=True)
class Throttle:
    attempts: int
    """Failures allowed within the window; the next attempt is refused."""
    window: timedelta

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.window <= timedelta(0):
            msg = f"A sign-in throttle needs at least one attempt and a window, not {self}."
            raise ValueError(msg)

    @classmethod
    def from_settings(cls, settings: Settings) -> Throttle:
        return cls(settings.sign_in_attempts, timedelta(seconds=settings.sign_in_window_seconds))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def get_peer(session: Session, peer_id: int) -> Peer:
    peer = session.get(Peer, peer_id)
    if peer is None:
        raise NotFound(f"Peer {peer_id} does not exist.")
    return peer


def find_peer_by_email(session: Session, email: str) -> Peer | None:
    normal = rules.normalise_email(email)
    if rules.failure_key(normal) != normal:
        # Not storable (control characters, too long), so no account has it; asking the
        # database anyway would fail on PostgreSQL, which refuses NUL in text.
        return None
    return session.scalar(select(Peer).where(Peer.email == normal))


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
        bio="",
        created_at=now,
    )
    try:
        # Two sign-ups with one email can both pass the check above on PostgreSQL; the unique
        # index decides, and the savepoint keeps the loser's transaction usable.
        with session.begin_nested():
            session.add(peer)
    except IntegrityError:
        raise Conflict(
            f"An account with the email {clean_email} already exists.", field="email"
        ) from None
    return peer


def update_profile(
    session: Session, peer: Peer, *, display_name: str | None = None, bio: str | None = None
) -> Peer:
    """Change what others see of ``peer``; ``None`` leaves a field as it is. All or nothing."""
    clean_name = rules.check_display_name(display_name) if display_name is not None else None
    clean_bio = rules.check_bio(bio) if bio is not None else None
    if clean_name is not None:
        peer.display_name = clean_name
    if clean_bio is not None:
        peer.bio = clean_bio
    session.flush()
    return peer


def _throttled_until(
    session: Session,
    column: InstrumentedAttribute[str],
    value: str,
    *,
    now: datetime,
    throttle: Throttle,
) -> datetime | None:
    """When the failures recorded under ``value`` stop exceeding the throttle, or ``None`` if
    they already do not.

    A failure counts while it is younger than the window, so attempts are allowed again
    once the ``attempts``-th most recent one is a window old.
    """
    pivot = session.scalar(
        select(SignInFailure.at)
        .where(column == value, SignInFailure.at > now - throttle.window)
        .order_by(SignInFailure.at.desc())
        .offset(throttle.attempts - 1)
        .limit(1)
    )
    return None if pivot is None else pivot + throttle.window


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
    every attempt, even a right one, is refused with ``SignInThrottled`` until enough of
    those failures are a window old: guessing gets nothing more to learn from.
    """
    key = rules.failure_key(email)
    address = address[:64]
    waits = [
        until
        for column, value in ((SignInFailure.email, key), (SignInFailure.address, address))
        if (until := _throttled_until(session, column, value, now=now, throttle=throttle))
    ]
    if waits:
        retry_at = max(waits)
        wait = rules.wait_phrase((retry_at - now).total_seconds())
        raise SignInThrottled(
            f"Too many failed sign-ins; try again {wait} (after {retry_at:%H:%M} UTC).",
            retry_at=retry_at,
        )
    peer = find_peer_by_email(session, email)
    try:
        _hasher.verify(peer.password_hash if peer else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        peer = None
    if peer is None:
        session.add(SignInFailure(email=key, address=address, at=now))
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


def create_token(session: Session, peer: Peer, *, name: str, scope: str, now: datetime) -> NewToken:
    clean_name = rules.check_token_name(name)
    clean_scope = rules.check_scope(scope)
    secret = rules.new_api_token()
    token = ApiToken(
        peer_id=peer.id,
        name=clean_name,
        prefix=rules.token_shown_part(secret),
        secret_hash=rules.secret_hash(secret),
        scope=clean_scope,
        created_at=now,
    )
    session.add(token)
    session.flush()
    return NewToken(token=token, secret=secret)


def exchange_credentials(
    session: Session,
    *,
    email: str,
    password: str,
    name: str,
    scope: str,
    address: str,
    now: datetime,
    throttle: Throttle,
) -> NewToken:
    """A new API token for whoever these credentials belong to, for clients without a browser.

    The token's name and scope are checked first, so that a typo there costs no password
    check and no throttled attempt.
    """
    rules.check_token_name(name)
    rules.check_scope(scope)
    peer = authenticate(
        session, email=email, password=password, address=address, now=now, throttle=throttle
    )
    return create_token(session, peer, name=name, scope=scope, now=now)


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
    """The API token with this secret, unless it is unknown or revoked, with its peer loaded
    in the same query (every API request asks). Reads only."""
    token = session.scalar(
        select(ApiToken)
        .options(joinedload(ApiToken.peer))
        .where(ApiToken.secret_hash == rules.secret_hash(secret))
    )
    if token is None or token.revoked_at is not None:
        return None
    return token


class TokenInUse(NamedTuple):
    id: int
    peer_id: int
    scope: str
    revoked_at: datetime | None


def tokens_in_use(
    session: Session, hashes: Collection[str], *, now: datetime, touch_after: timedelta
) -> dict[str, TokenInUse]:
    """The API tokens with these secret hashes (revoked ones included, so the caller can say
    so), for many requests at once; each one's "last used" is set to ``now`` unless it was
    set less than ``touch_after`` ago."""
    found = session.execute(
        select(
            ApiToken.secret_hash,
            ApiToken.id,
            ApiToken.peer_id,
            ApiToken.scope,
            ApiToken.revoked_at,
            ApiToken.last_used_at,
        ).where(ApiToken.secret_hash.in_(sorted(hashes)))
    ).all()
    stale = sorted(
        row.id for row in found if row.last_used_at is None or now - row.last_used_at >= touch_after
    )
    if stale:
        session.execute(update(ApiToken).where(ApiToken.id.in_(stale)).values(last_used_at=now))
    return {
        row.secret_hash: TokenInUse(row.id, row.peer_id, row.scope, row.revoked_at) for row in found
    }


def mark_token_used(session: Session, token_id: int, *, now: datetime) -> None:
    token = session.get(ApiToken, token_id)
    if token is not None:
        token.last_used_at = now
        session.flush()
