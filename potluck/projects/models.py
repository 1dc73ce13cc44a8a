"""Projects, their stewards, invitations to steward, and the append-only activity log.

There is no owner anywhere: a project has stewards, whose rights are limited and logged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from potluck.db import Base
from potluck.people.models import Peer


class Project(Base):
    __tablename__ = "projects"
    # Explore and the home page list the newest projects first.
    __table_args__ = (Index("ix_projects_created_at_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    """Lower-case letters, digits and single hyphens; the project's address."""
    name: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(String(280))
    description: Mapped[str] = mapped_column(Text, default="")
    """Markdown source; rendered and sanitised on display."""
    licence: Mapped[str] = mapped_column(String(200))
    """An SPDX licence expression, validated and normalised."""
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    """Name, summary and slug case-folded by Potluck, so search matches alike on every database."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    archived_at: Mapped[datetime | None]

    links: Mapped[list[ProjectLink]] = relationship(
        back_populates="project", order_by="ProjectLink.position", cascade="all, delete-orphan"
    )
    stewards: Mapped[list[Steward]] = relationship(
        back_populates="project",
        primaryjoin="and_(Steward.project_id == Project.id, Steward.ended_at.is_(None))",
        viewonly=True,
        order_by="Steward.started_at",
    )


class ProjectLink(Base):
    __tablename__ = "project_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    label: Mapped[str] = mapped_column(String(60))
    url: Mapped[str] = mapped_column(String(500))

    project: Mapped[Project] = relationship(back_populates="links")


class Steward(Base):
    """One stretch of stewardship. Ended stretches are kept: the history is public."""

    __tablename__ = "stewards"
    __table_args__ = (
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
        Index(
            "uq_stewards_active",
            "project_id",
            "peer_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("peers.id"), index=True)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    handover_note: Mapped[str] = mapped_column(Text, default="")
    """Markdown left for whoever coordinates next, written when stepping down."""

    project: Mapped[Project] = relationship()
    peer: Mapped[Peer] = relationship()


class StewardInvitation(Base):
    """A steward asks another peer to join; nothing changes until that peer accepts."""

    __tablename__ = "steward_invitations"
    __table_args__ = (
        CheckConstraint(
            "state IN ('pending', 'accepted', 'declined', 'withdrawn')", name="state_known"
        ),
        CheckConstraint("invitee_id <> inviter_id", name="not_self"),
        CheckConstraint("(state = 'pending') = (resolved_at IS NULL)", name="resolved_when_done"),
        Index(
            "uq_steward_invitations_pending",
            "project_id",
            "invitee_id",
            unique=True,
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    invitee_id: Mapped[int] = mapped_column(ForeignKey("peers.id"), index=True)
    inviter_id: Mapped[int] = mapped_column(ForeignKey("peers.id"))
    message: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]

    project: Mapped[Project] = relationship()
    invitee: Mapped[Peer] = relationship(foreign_keys=[invitee_id])
    inviter: Mapped[Peer] = relationship(foreign_keys=[inviter_id])


class ActivityEntry(Base):
    """One line of a project's public activity log. Triggers refuse UPDATE and DELETE."""

    __tablename__ = "activity_entries"
    __table_args__ = (Index("ix_activity_entries_project_id_id", "project_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("peers.id"))
    """Who did it; empty for what the instance did by itself (a payday, an archive)."""
    action: Mapped[str] = mapped_column(String(60))
    """A dotted verb such as ``project.created`` or ``steward.invited``."""
    summary: Mapped[str] = mapped_column(String(500))
    """A sentence a person can read."""
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime]

    actor: Mapped[Peer | None] = relationship()
