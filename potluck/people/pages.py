"""HTML routes: sign up, sign in and out, one's own profile and API tokens, public profiles.

A form that fails is shown again with the message next to its field and what was typed kept
(never a password), with the error's status, so that a browser and a test both see it failed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from potluck import deps
from potluck.config import Settings
from potluck.deps import CallerDep, ClockDep, OptionalPeer, SessionDep, SettingsDep
from potluck.errors import Forbidden, NotFound, PotluckError
from potluck.people import rules, service
from potluck.people.api import client_address, retry_after_seconds
from potluck.people.models import Peer
from potluck.web.pages import redirect, render

router = APIRouter(include_in_schema=False)

# Where a browser lands when the sign-in or sign-up form names no (safe) destination.
AFTER_SIGN_IN = "/"
AFTER_SIGN_UP = "/me"

FormText = Annotated[str, Form()]
# ``next`` is what the parameter is called in addresses and forms; in Python it is a builtin.
NextInQuery = Annotated[str, Query(alias="next")]
NextInForm = Annotated[str, Form(alias="next")]


def _form_errors(error: PotluckError) -> dict[str, str]:
    return {error.field or "_form": error.detail}


def _sign_in_first(back_to: str) -> Response:
    """Send an anonymous browser to sign in, and back to ``back_to`` afterwards."""
    return redirect("/sign-in?" + urlencode({"next": back_to}))


def _page_writer(caller: CallerDep) -> Peer | None:
    """Who is submitting a form: a signed-in browser, or ``None`` for nobody.

    A page may also be called with an API token; a read-only one must not change anything
    through a form either.
    """
    if caller.peer is not None and not caller.can_write:
        raise Forbidden("This API token is read-only; create a read-write token to change.")
    return caller.peer


PageWriter = Annotated[Peer | None, Depends(_page_writer)]


def _start_browser_session(
    request: Request,
    response: Response,
    session: Session,
    peer: Peer,
    *,
    now: datetime,
    settings: Settings,
) -> None:
    previous = request.cookies.get(deps.SESSION_COOKIE)
    if previous:
        # Signing in again (perhaps as someone else) must not leave the old session alive.
        service.end_session(session, previous, now=now)
    lifetime = timedelta(days=settings.session_days)
    secret = service.start_session(session, peer, now=now, lifetime=lifetime)
    response.set_cookie(
        deps.SESSION_COOKIE,
        secret,
        max_age=int(lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )


@router.get("/sign-up")
def sign_up_form(
    request: Request, _peer: OptionalPeer, next_page: NextInQuery = ""
) -> HTMLResponse:
    return render(
        request,
        "people/sign_up.html",
        {"values": {}, "errors": {}, "next": rules.safe_next(next_page, "")},
    )


@router.post("/sign-up", dependencies=[deps.CsrfChecked])
def sign_up(
    request: Request,
    *,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    _peer: OptionalPeer,
    email: FormText = "",
    display_name: FormText = "",
    password: FormText = "",
    next_page: NextInForm = "",
) -> Response:
    now = clock.now()
    destination = rules.safe_next(next_page, "")
    try:
        peer = service.sign_up(
            session, email=email, display_name=display_name, password=password, now=now
        )
    except PotluckError as error:
        values = {"email": email, "display_name": display_name}
        return render(
            request,
            "people/sign_up.html",
            {"values": values, "errors": _form_errors(error), "next": destination},
            status_code=error.status,
        )
    response = redirect(destination or AFTER_SIGN_UP)
    _start_browser_session(request, response, session, peer, now=now, settings=settings)
    return response


@router.get("/sign-in")
def sign_in_form(
    request: Request, _peer: OptionalPeer, next_page: NextInQuery = ""
) -> HTMLResponse:
    return render(
        request,
        "people/sign_in.html",
        {"values": {}, "errors": {}, "next": rules.safe_next(next_page, "")},
    )


@router.post("/sign-in", dependencies=[deps.CsrfChecked])
def sign_in(
    request: Request,
    *,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    _peer: OptionalPeer,
    email: FormText = "",
    password: FormText = "",
    next_page: NextInForm = "",
) -> Response:
    now = clock.now()
    destination = rules.safe_next(next_page, "")
    try:
        peer = service.authenticate(
            session,
            email=email,
            password=password,
            address=client_address(request),
            now=now,
            throttle=service.Throttle.from_settings(settings),
        )
    except (service.WrongCredentials, service.SignInThrottled) as error:
        # Returning normally lets the request commit, which keeps the failure on record.
        page = render(
            request,
            "people/sign_in.html",
            {"values": {"email": email}, "errors": _form_errors(error), "next": destination},
            status_code=error.status,
        )
        if isinstance(error, service.SignInThrottled):
            page.headers["Retry-After"] = retry_after_seconds(error.retry_at, now)
        return page
    response = redirect(destination or AFTER_SIGN_IN)
    _start_browser_session(request, response, session, peer, now=now, settings=settings)
    return response


@router.post("/sign-out", dependencies=[deps.CsrfChecked])
def sign_out(
    request: Request, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    secret = request.cookies.get(deps.SESSION_COOKIE)
    if secret:
        service.end_session(session, secret, now=clock.now())
    response = redirect("/")
    response.delete_cookie(
        deps.SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    return response


def _own_profile_page(
    request: Request,
    peer: Peer,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    flash: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "people/me.html",
        {
            "values": values or {"display_name": peer.display_name, "bio": peer.bio},
            "errors": errors or {},
            "flash": flash,
        },
        status_code=status_code,
    )


@router.get("/me")
def own_profile(request: Request, peer: OptionalPeer, saved: bool = False) -> Response:
    if peer is None:
        return _sign_in_first("/me")
    return _own_profile_page(request, peer, flash="Your profile is saved." if saved else "")


@router.post("/me", dependencies=[deps.CsrfChecked])
def change_profile(
    request: Request,
    session: SessionDep,
    peer: PageWriter,
    display_name: FormText = "",
    bio: FormText = "",
) -> Response:
    if peer is None:
        return _sign_in_first("/me")
    try:
        service.update_profile(session, peer, display_name=display_name, bio=bio)
    except PotluckError as error:
        return _own_profile_page(
            request,
            peer,
            values={"display_name": display_name, "bio": bio},
            errors=_form_errors(error),
            status_code=error.status,
        )
    return redirect("/me?saved=1")


def _tokens_page(
    request: Request,
    session: Session,
    peer: Peer,
    *,
    context: dict[str, Any] | None = None,
    revoked: int | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    tokens = service.list_tokens(session, peer)
    revoked_names = [token.name for token in tokens if token.id == revoked]
    full: dict[str, Any] = {
        "tokens": tokens,
        "values": {"scope": "read"},
        "errors": {},
        "new_token": None,
        "list_error": "",
        "flash": f"The token “{revoked_names[0]}” is revoked." if revoked_names else "",
    }
    full.update(context or {})
    return render(request, "people/tokens.html", full, status_code=status_code)


@router.get("/me/tokens")
def tokens(
    request: Request, session: SessionDep, peer: OptionalPeer, revoked: int | None = None
) -> Response:
    if peer is None:
        return _sign_in_first("/me/tokens")
    return _tokens_page(request, session, peer, revoked=revoked)


@router.post("/me/tokens", dependencies=[deps.CsrfChecked])
def create_token(
    request: Request,
    *,
    session: SessionDep,
    clock: ClockDep,
    peer: PageWriter,
    name: FormText = "",
    scope: FormText = "read",
) -> Response:
    if peer is None:
        return _sign_in_first("/me/tokens")
    try:
        created = service.create_token(session, peer, name=name, scope=scope, now=clock.now())
    except PotluckError as error:
        return _tokens_page(
            request,
            session,
            peer,
            context={"values": {"name": name, "scope": scope}, "errors": _form_errors(error)},
            status_code=error.status,
        )
    page = _tokens_page(request, session, peer, context={"new_token": created}, status_code=201)
    # The secret is in this page only: keep it out of every cache, the back button's included.
    page.headers["Cache-Control"] = "no-store"
    return page


@router.post("/me/tokens/{token_id}/revoke", dependencies=[deps.CsrfChecked])
def revoke_token(
    request: Request, token_id: int, *, session: SessionDep, clock: ClockDep, peer: PageWriter
) -> Response:
    if peer is None:
        return _sign_in_first("/me/tokens")
    try:
        service.revoke_token(session, peer, token_id, now=clock.now())
    except NotFound as error:
        # Most likely a stale page; show the current list with the message above it.
        return _tokens_page(
            request, session, peer, context={"list_error": error.detail}, status_code=error.status
        )
    return redirect(f"/me/tokens?revoked={token_id}")


@router.get("/peers/{peer_id}")
def public_profile(
    request: Request, peer_id: int, session: SessionDep, _viewer: OptionalPeer
) -> HTMLResponse:
    return render(request, "people/profile.html", {"profile": service.get_peer(session, peer_id)})
