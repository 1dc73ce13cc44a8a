"""Request dependencies shared by every capability: the transaction, the clock, who is asking.

The request owns the transaction (CONVENTIONS.md, "The boundary owns the transaction"):
it commits when the route returns and rolls back when it raises, before the answer is sent,
so nothing is acknowledged that was not committed.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from potluck.clock import Clock
from potluck.config import Settings
from potluck.db import Database, after_commit
from potluck.errors import CsrfFailed, Forbidden, NotSignedIn, PotluckError
from potluck.people import service as people
from potluck.people.models import Peer
from potluck.web import csrf

SESSION_COOKIE = "potluck_session"
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Writing "last used" on every request would make reads write; once a minute is enough.
# Dependencies that do no I/O are async: a sync one costs a thread hop on every request.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]
DatabaseDep = Annotated[Database, Depends(get_database)]


async def get_session(request: Request, database: DatabaseDep) -> AsyncIterator[Session]:
    # Async so that opening costs no thread hop: a session connects on its first statement,
    # which runs in the route's thread. Ending it does I/O, so it runs in a thread of its own
    # that never waits for a free worker (as FastAPI ends sync dependencies): the transaction
    # holds a connection and, on SQLite, the write lock, which routes queued for a worker may
    # be waiting for.
    session = database.session(write=request.method not in READ_ONLY_METHODS)
    try:
        yield session
    except BaseException as error:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_end_after_error, session, error, limiter=_enders())
        raise
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(_commit, session, limiter=_enders())


_ENDERS: RunVar[anyio.CapacityLimiter] = RunVar("potluck_session_enders")


def _enders() -> anyio.CapacityLimiter:
    """Threads that end transactions: as many as there are transactions to end."""
    try:
        return _ENDERS.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(math.inf)
        _ENDERS.set(limiter)
        return limiter


def _commit(session: Session) -> None:
    try:
        session.commit()
    except BaseException:
        _end_after_error(session, None)
        raise
    _run_after_commit(session, committed=True)
    session.close()


def _end_after_error(session: Session, error: BaseException | None) -> None:
    if isinstance(error, PotluckError) and error.keeps_writes:
        session.commit()
        _run_after_commit(session, committed=True)
    else:
        # Keep what was loaded (the signed-in peer the error page shows) readable after
        # the rollback, instead of expiring it in a session that is about to close.
        session.expunge_all()
        session.rollback()
        _run_after_commit(session, committed=False)
    session.close()


def _run_after_commit(session: Session, *, committed: bool) -> None:
    actions = session.info.pop("after_commit", [])
    if committed:
        for action in actions:
            action()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


class Caller:
    """Who is asking: a peer by browser session or API token, or nobody."""

    def __init__(self, peer: Peer | None, *, via_token: bool, can_write: bool) -> None:
        self.peer = peer
        self.via_token = via_token
        self.can_write = can_write


def get_caller(
    request: Request, session: SessionDep, clock: ClockDep, database: DatabaseDep
) -> Caller:
    now = clock.now()
    authorization = request.headers.get("authorization", "")
    if authorization:
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise NotSignedIn("The Authorization header must be 'Bearer <API token>'.")
        token = people.live_token(session, secret.strip())
        if token is None:
            raise NotSignedIn("That API token is unknown or has been revoked.")
        if token.last_used_at is None or now - token.last_used_at >= TOKEN_TOUCH_INTERVAL:
            token_id = token.id

            def touch() -> None:
                with database.transaction() as touching:
                    people.mark_token_used(touching, token_id, now=now)

            after_commit(session, touch)
        request.state.peer = token.peer
        return Caller(token.peer, via_token=True, can_write=token.scope == "read-write")
    cookie = request.cookies.get(SESSION_COOKIE)
    peer = people.peer_for_session(session, cookie, now=now) if cookie else None
    request.state.peer = peer
    return Caller(peer, via_token=False, can_write=peer is not None)


CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_optional_peer(caller: CallerDep) -> Peer | None:
    return caller.peer


async def get_current_peer(caller: CallerDep) -> Peer:
    if caller.peer is None:
        raise NotSignedIn("Sign in first.")
    return caller.peer


OptionalPeer = Annotated[Peer | None, Depends(get_optional_peer)]
CurrentPeer = Annotated[Peer, Depends(get_current_peer)]


async def get_api_writer(request: Request, caller: CallerDep, settings: SettingsDep) -> Peer:
    """The peer making a changing API call: a read-write token, or a browser session that
    proves itself with the CSRF header."""
    if caller.peer is None:
        raise NotSignedIn("Sign in or send an API token ('Authorization: Bearer ...').")
    if caller.via_token:
        if not caller.can_write:
            raise Forbidden("This API token is read-only; create a read-write token to change.")
        return caller.peer
    if not csrf.is_valid(request, request.headers.get(csrf.HEADER), settings.resolved_secret_key):
        raise CsrfFailed("A signed-in browser must send the X-CSRF-Token header.")
    return caller.peer


ApiWriter = Annotated[Peer, Depends(get_api_writer)]


async def check_form_csrf(request: Request, settings: SettingsDep) -> None:
    """Every HTML form that changes something must carry the CSRF field."""
    form = await request.form()
    submitted = form.get(csrf.FIELD)
    if not isinstance(submitted, str) or not csrf.is_valid(
        request, submitted, settings.resolved_secret_key
    ):
        raise CsrfFailed(
            "This form has expired or did not come from Potluck; reload the page and try again."
        )


CsrfChecked = Depends(check_form_csrf)
