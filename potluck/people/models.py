"""Peers, their browser sessions, API tokens and the record of failed sign-ins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from potluck.db import Base


class Peer(Base):
    __tablename__ = "peers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    """Lower-cased and stripped; the sign-in name."""
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(200))
    """Argon2id hash in PHC string format."""
    bio: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[datetime]

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="peer")


class WebSession(Base):
    """A signed-in browser. The cookie carries a random secret; only its hash is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 hex digest of the cookie's secret."""
    peer_id: Mapped[int] = mapped_column(ForeignKey("peers.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    """Set when the peer signs out; the session is then dead even if the cookie survives."""

    peer: Mapped[Peer] = relationship()


class ApiToken(Base):
    """A bearer token for the API. Shown once at creation; only its hash is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("scope IN ('read', 'read-write')", name="scope_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("peers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))
    """The token's first characters, shown in listings so a peer can tell tokens apart."""
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 hex digest of the whole token."""
    scope: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    peer: Mapped[Peer] = relationship(back_populates="tokens")


class SignInFailure(Base):
    """One failed sign-in, kept to throttle guessing per email and per network address."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_email_at", "email", "at"),
        Index("ix_sign_in_failures_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
