"""CSRF protection for forms: a random cookie and a form field that is its keyed hash.

A page on another site can make the browser send the cookie but can neither read it nor
compute the field, so a forged form fails. Works before and after signing in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "potluck_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"


def _token_for(cookie: str, secret_key: str) -> str:
    return hmac.new(secret_key.encode(), cookie.encode(), hashlib.sha256).hexdigest()


def cookie_value(request: Request) -> str:
    """The request's CSRF cookie, or a new one that the response middleware will set."""
    value = request.cookies.get(COOKIE) or getattr(request.state, "new_csrf_cookie", None)
    if value is None:
        value = secrets.token_urlsafe(24)
        request.state.new_csrf_cookie = value
    return value


def form_token(request: Request, secret_key: str) -> str:
    return _token_for(cookie_value(request), secret_key)


def is_valid(request: Request, submitted: str | None, secret_key: str) -> bool:
    cookie = request.cookies.get(COOKIE)
    if not cookie or not submitted:
        return False
    return hmac.compare_digest(_token_for(cookie, secret_key), submitted)


def set_cookie_if_new(request: Request, response: Response, *, secure: bool) -> None:
    value = getattr(request.state, "new_csrf_cookie", None)
    if value is not None:
        response.set_cookie(COOKIE, value, httponly=True, samesite="lax", secure=secure)
