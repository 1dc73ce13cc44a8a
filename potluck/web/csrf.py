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


# Where a new cookie waits in the request's state for the response middleware to set it.
NEW_COOKIE_STATE = "new_csrf_cookie"


def cookie_value(request: Request) -> str:
    """The request's CSRF cookie, or a new one that the response middleware will set."""
    value = request.cookies.get(COOKIE) or getattr(request.state, NEW_COOKIE_STATE, None)
    if value is None:
        value = secrets.token_urlsafe(24)
        setattr(request.state, NEW_COOKIE_STATE, value)
    return value


def form_token(request: Request, secret_key: str) -> str:
    return _token_for(cookie_value(request), secret_key)


def is_valid(request: Request, submitted: str | None, secret_key: str) -> bool:
    cookie = request.cookies.get(COOKIE)
    if not cookie or not submitted:
        return False
    return hmac.compare_digest(_token_for(cookie, secret_key), submitted)


def cookie_header(value: str, secure: bool) -> str:
    """The Set-Cookie header value for a new CSRF cookie."""
    response = Response()
    response.set_cookie(COOKIE, value, httponly=True, samesite="lax", secure=secure)
    return response.headers["set-cookie"]
