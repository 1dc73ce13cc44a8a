"""Pure rules about peers: email and name normalisation, password policy, token formats."""

from __future__ import annotations

import hashlib
import re
import secrets

from potluck.errors import InvalidInput

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
TOKEN_PREFIX = "pl_"
TOKEN_SCOPES = ("read", "read-write")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    """The form an email is stored and compared in: stripped and lower-cased."""
    return email.strip().lower()


def check_email(email: str) -> str:
    """Return the normalised email, or raise naming what is wrong with it."""
    normal = normalise_email(email)
    if len(normal) > 254 or not _EMAIL.match(normal):
        raise InvalidInput(f"'{email.strip()}' is not an email address.", field="email")
    return normal


def check_display_name(name: str) -> str:
    """Return the display name with surrounding and repeated spaces removed."""
    clean = " ".join(name.split())
    if not clean:
        raise InvalidInput("A display name is required.", field="display_name")
    if len(clean) > 80:
        raise InvalidInput("A display name is at most 80 characters.", field="display_name")
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
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_secret() -> str:
    return secrets.token_urlsafe(32)


def check_scope(scope: str) -> str:
    if scope not in TOKEN_SCOPES:
        raise InvalidInput(
            f"Unknown token scope '{scope}'; use one of {', '.join(TOKEN_SCOPES)}.",
            field="scope",
        )
    return scope
