"""JSON routes: sign up, trade credentials for an API token, one's own profile and tokens,
other peers' public profiles."""

from __future__ import annotations

import math
from datetime import datetime

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse

from potluck import errors
from potluck.deps import ApiWriter, ClockDep, CurrentPeer, SessionDep, SettingsDep
from potluck.people import service
from potluck.people.schemas import (
    NewToken,
    OwnPeer,
    ProfileChange,
    PublicPeer,
    SignUp,
    Token,
    TokenExchange,
    TokenRequest,
)

router = APIRouter(tags=["peers"])

# Reading one's own things needs a signed-in caller; changing them also needs a read-write
# token, or a browser session that sends the CSRF header.
_READER_ERRORS = (errors.NotSignedIn,)
_WRITER_ERRORS = (errors.NotSignedIn, errors.Forbidden, errors.CsrfFailed)
NO_STORE = "no-store"


def client_address(request: Request) -> str:
    """The network address sign-in throttling counts failures against."""
    return request.client.host if request.client else "unknown"


def retry_after_seconds(retry_at: datetime, now: datetime) -> str:
    """The Retry-After header's value: whole seconds, rounded up so a client never comes early."""
    return str(max(1, math.ceil((retry_at - now).total_seconds())))


@router.post(
    "/peers",
    status_code=status.HTTP_201_CREATED,
    summary="Sign up",
    responses=errors.responses(errors.Conflict, errors.InvalidInput),
)
def sign_up(
    body: SignUp, request: Request, response: Response, session: SessionDep, clock: ClockDep
) -> OwnPeer:
    peer = service.sign_up(
        session,
        email=body.email,
        display_name=body.display_name,
        password=body.password,
        now=clock.now(),
    )
    response.headers["Location"] = str(request.url_for("public_profile", peer_id=str(peer.id)))
    return OwnPeer.of(peer)


@router.post(
    "/auth/tokens",
    status_code=status.HTTP_201_CREATED,
    summary="Trade an email and password for a new API token",
    response_model=NewToken,
    responses=errors.responses(
        service.WrongCredentials, service.SignInThrottled, errors.InvalidInput
    ),
)
def exchange_credentials(
    body: TokenExchange,
    request: Request,
    session: SessionDep,
    *,
    response: Response,
    clock: ClockDep,
    settings: SettingsDep,
) -> NewToken | JSONResponse:
    now = clock.now()
    try:
        created = service.exchange_credentials(
            session,
            email=body.email,
            password=body.password,
            name=body.name,
            scope=body.scope,
            address=client_address(request),
            now=now,
            throttle=service.Throttle.from_settings(settings),
        )
    except service.SignInThrottled as throttled:
        return JSONResponse(
            throttled.body().model_dump(exclude_none=True),
            status_code=throttled.status,
            headers={"Retry-After": retry_after_seconds(throttled.retry_at, now)},
        )
    response.headers["Cache-Control"] = NO_STORE
    return NewToken.created(created.token, created.secret)


@router.get("/me", summary="Your own profile", responses=errors.responses(*_READER_ERRORS))
def own_profile(peer: CurrentPeer) -> OwnPeer:
    return OwnPeer.of(peer)


@router.patch(
    "/me",
    summary="Change your display name or bio",
    responses=errors.responses(*_WRITER_ERRORS, errors.InvalidInput),
)
def change_profile(body: ProfileChange, peer: ApiWriter, session: SessionDep) -> OwnPeer:
    service.update_profile(session, peer, display_name=body.display_name, bio=body.bio)
    return OwnPeer.of(peer)


@router.get(
    "/me/tokens",
    summary="Your API tokens, newest first",
    responses=errors.responses(*_READER_ERRORS),
)
def list_tokens(peer: CurrentPeer, session: SessionDep) -> list[Token]:
    return [Token.of(token) for token in service.list_tokens(session, peer)]


@router.post(
    "/me/tokens",
    status_code=status.HTTP_201_CREATED,
    summary="Create an API token; its secret is in this answer only",
    responses=errors.responses(*_WRITER_ERRORS, errors.InvalidInput),
)
def create_token(
    body: TokenRequest, peer: ApiWriter, session: SessionDep, clock: ClockDep, response: Response
) -> NewToken:
    created = service.create_token(session, peer, name=body.name, scope=body.scope, now=clock.now())
    # The secret is in this answer only: no cache keeps it, nor does the Idempotency-Key.
    response.headers["Cache-Control"] = NO_STORE
    return NewToken.created(created.token, created.secret)


@router.delete(
    "/me/tokens/{token_id}",
    summary="Revoke an API token; it stops working at once",
    responses=errors.responses(*_WRITER_ERRORS, errors.NotFound),
)
def revoke_token(token_id: int, peer: ApiWriter, session: SessionDep, clock: ClockDep) -> Token:
    return Token.of(service.revoke_token(session, peer, token_id, now=clock.now()))


@router.get(
    "/peers/{peer_id}",
    summary="A peer's public profile",
    responses=errors.responses(errors.NotFound),
)
def public_profile(peer_id: int, session: SessionDep) -> PublicPeer:
    return PublicPeer.of(service.get_peer(session, peer_id))
