"""Pure rules about peers: email and name normalisation, password policy, token formats,
where a sign-in may send the browser next."""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from urllib.parse import urlsplit

from potluck.errors import InvalidInput

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
MAX_DISPLAY_NAME_LENGTH = 80
MAX_BIO_LENGTH = 2000
MAX_TOKEN_NAME_LENGTH = 80
TOKEN_PREFIX = "pl_"  # noqa: S105 - a marker for secret scanners, not a secret
TOKEN_SCOPES = ("read", "read-write")
# Enough of a token to tell tokens apart in a listing, far too little to guess the rest.
TOKEN_SHOWN_LENGTH = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Control characters and whitespace never belong in a path we redirect to; some browsers strip
# them, which can turn an innocent-looking value into another site's address.
_UNSAFE_IN_PATH = re.compile(r"[\x00-\x20\x7f\\]")
# Text peers write may hold line breaks and tabs but no other control characters: they are
# invisible on a page, and PostgreSQL refuses NUL outright.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_EMAIL_LENGTH = 254


def normalise_email(email: str) -> str:
    """The form an email is stored and compared in: stripped and lower-cased."""
    return email.strip().lower()


def check_email(email: str) -> str:
    """Return the normalised email, or raise naming what is wrong with it."""
    normal = normalise_email(email)
    if len(normal) > MAX_EMAIL_LENGTH or _CONTROL.search(normal) or not _EMAIL.match(normal):
        shown = email.strip()
        if len(shown) > 60 or _CONTROL.search(shown):
            raise InvalidInput("That is not an email address.", field="email")
        raise InvalidInput(f"'{shown}' is not an email address.", field="email")
    return normal


def failure_key(email: str) -> str:
    """What a failed sign-in is recorded under: the normalised email, made storable even when
    what was typed is not an email at all, so that typing junk cannot dodge the throttle."""
    return _CONTROL.sub("", normalise_email(email))[:MAX_EMAIL_LENGTH]


def check_display_name(name: str) -> str:
    """Return the display name with surrounding and repeated spaces removed."""
    clean = " ".join(name.split())
    if not clean:
        raise InvalidInput("A display name is required.", field="display_name")
    if _CONTROL.search(clean):
        raise InvalidInput(
            "A display name cannot contain control characters.", field="display_name"
        )
    if len(clean) > MAX_DISPLAY_NAME_LENGTH:
        raise InvalidInput(
            f"A display name is at most {MAX_DISPLAY_NAME_LENGTH} characters.",
            field="display_name",
        )
    return clean


def check_bio(bio: str) -> str:
    """Return the bio (Markdown) with line endings unified and outer blank space removed.

    Empty is allowed: a bio is optional.
    """
    # Trailing spaces inside lines stay: in Markdown two of them mean a line break.
    clean = bio.replace("\r\n", "\n").replace("\r", "\n").strip()
    if _CONTROL.search(clean):
        raise InvalidInput("A bio cannot contain control characters.", field="bio")
    if len(clean) > MAX_BIO_LENGTH:
        raise InvalidInput(
            f"A bio is at most {MAX_BIO_LENGTH} characters; this one has {len(clean)}.",
            field="bio",
        )
    return clean


def check_password(password: str, *, email: str = "", display_name: str = "") -> None:
    """Refuse passwords that are short, huge, or just the peer's own email or name."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"A password needs at least {MIN_PASSWORD_LENGTH} characters.", field="password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"A password is at most {MAX_PASSWORD_LENGTH} characters.", field="password"
        )
    lowered = password.strip().lower()
    if lowered and lowered in {normalise_email(email), display_name.strip().lower()}:
        raise InvalidInput("The password must not be your email or name.", field="password")


def secret_hash(secret: str) -> str:
    """How session cookies and API tokens are stored: a SHA-256 hex digest.

    They are long random strings, so a fast hash is enough (unlike passwords).
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_token() -> str:
    """A new random API token; the prefix lets secret scanners recognise a leaked one."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_shown_part(token: str) -> str:
    """The part of a token that listings show, so its owner can recognise it."""
    return token[:TOKEN_SHOWN_LENGTH]


def check_token_name(name: str) -> str:
    """Return the token's name with repeated spaces removed; a name is required."""
    clean = " ".join(name.split())
    if not clean:
        raise InvalidInput("A token needs a name to tell it apart.", field="name")
    if _CONTROL.search(clean):
        raise InvalidInput("A token name cannot contain control characters.", field="name")
    if len(clean) > MAX_TOKEN_NAME_LENGTH:
        raise InvalidInput(
            f"A token name is at most {MAX_TOKEN_NAME_LENGTH} characters.", field="name"
        )
    return clean


def new_session_secret() -> str:
    """A new random secret for a browser session's cookie."""
    return secrets.token_urlsafe(32)


def check_scope(scope: str) -> str:
    """Return ``scope`` if it is one a token may have, or raise naming the ones it may."""
    if scope not in TOKEN_SCOPES:
        raise InvalidInput(
            f"Unknown token scope '{scope}'; use one of {', '.join(TOKEN_SCOPES)}.",
            field="scope",
        )
    return scope


def safe_next(target: str | None, default: str) -> str:
    """Where to send the browser after signing in: ``target`` if it is a path on this site,
    otherwise ``default``.

    Refuses anything a browser could read as another site's address: absolute URLs,
    scheme-relative ``//host``, backslashes (``/\\host``), and control characters.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if _UNSAFE_IN_PATH.search(target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def wait_phrase(seconds: float) -> str:
    """How long to wait, in whole minutes rounded up, for a person to read ("in 3 minutes")."""
    minutes = max(1, math.ceil(seconds / 60))
    return "in 1 minute" if minutes == 1 else f"in {minutes} minutes"
