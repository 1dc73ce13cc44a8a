"""Request and response shapes of the peers API. A password hash or token secret never
appears in a response, except a new token's secret in the one answer that creates it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from potluck.people import rules
from potluck.people.models import ApiToken, Peer

TokenScope = Literal["read", "read-write"]

# Generous bounds on what is accepted at all; the rules give the precise, friendlier limits.
_EMAIL_FIELD = Field(max_length=320, examples=["ada@example.org"])
_PASSWORD_FIELD = Field(max_length=rules.MAX_PASSWORD_LENGTH, examples=["correct horse battery"])


class SignUp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = _EMAIL_FIELD
    display_name: str = Field(max_length=200, examples=["Ada Lovelace"])
    password: str = Field(
        max_length=rules.MAX_PASSWORD_LENGTH,
        description=f"At least {rules.MIN_PASSWORD_LENGTH} characters.",
    )


class TokenRequest(BaseModel):
    """What a new API token should be called and allowed to do."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200, examples=["laptop backup script"])
    scope: TokenScope = Field(
        default="read", description="'read' can only look; 'read-write' can also change."
    )


class TokenExchange(TokenRequest):
    """Credentials traded for a new API token, for clients that have no browser."""

    email: str = _EMAIL_FIELD
    password: str = _PASSWORD_FIELD


class ProfileChange(BaseModel):
    """A partial update: a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, max_length=200)
    bio: str | None = Field(
        default=None, max_length=4 * rules.MAX_BIO_LENGTH, description="Markdown."
    )


class PublicPeer(BaseModel):
    """What anyone may see of a peer. Never the email."""

    id: int
    display_name: str
    bio: str
    joined_at: datetime

    @classmethod
    def of(cls, peer: Peer) -> PublicPeer:
        return cls(
            id=peer.id, display_name=peer.display_name, bio=peer.bio, joined_at=peer.created_at
        )


class OwnPeer(PublicPeer):
    """What a peer sees of themself."""

    email: str

    @classmethod
    def of(cls, peer: Peer) -> OwnPeer:
        return cls(
            id=peer.id,
            email=peer.email,
            display_name=peer.display_name,
            bio=peer.bio,
            joined_at=peer.created_at,
        )


class Token(BaseModel):
    """An API token as listings show it: enough to recognise it, never its secret."""

    id: int
    name: str
    prefix: str = Field(description="The token's first characters.")
    scope: TokenScope
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> Token:
        return cls.model_validate(token, from_attributes=True)


class NewToken(Token):
    """A token just created. ``secret`` is shown this once; only its hash is kept."""

    secret: str = Field(description="Send as 'Authorization: Bearer <secret>'. Shown once.")

    @classmethod
    def created(cls, token: ApiToken, secret: str) -> NewToken:
        return cls(**Token.of(token).model_dump(), secret=secret)
