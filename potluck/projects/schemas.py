"""Request and response shapes of the projects API.

Requests carry plain strings: the rules in ``rules.py`` check and normalise them, so that the
API, the pages and the command line refuse bad input with the same words.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from potluck.people.models import Peer
from potluck.projects.models import ActivityEntry, Project, Steward, StewardInvitation

# Generous ceilings against oversized requests; the real limits live in the rules.
_TEXT = 100_000
_LINE = 1_000


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(max_length=_LINE, examples=["Source code"])
    url: str = Field(max_length=_LINE, examples=["https://codeberg.org/example/tool"])


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=_LINE, examples=["OpenStreetMap Lisbon"])
    summary: str = Field(
        max_length=_LINE, examples=["Keeping Lisbon's map fresh with weekly mapping walks."]
    )
    licence: str = Field(
        max_length=_LINE,
        description="An SPDX licence expression such as 'MIT' or 'MIT OR Apache-2.0'.",
        examples=["ODbL-1.0"],
    )
    slug: str | None = Field(
        default=None,
        max_length=_LINE,
        description="The project's address; made from the name when left out. Never changes.",
        examples=["osm-lisbon"],
    )
    description: str = Field(default="", max_length=_TEXT, description="Markdown.")
    links: list[LinkIn] = Field(default_factory=list, max_length=100)


class ProjectUpdate(BaseModel):
    """Fields left out stay as they are. ``slug`` is accepted only unchanged."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=_LINE)
    summary: str | None = Field(default=None, max_length=_LINE)
    licence: str | None = Field(default=None, max_length=_LINE)
    description: str | None = Field(default=None, max_length=_TEXT)
    links: list[LinkIn] | None = Field(default=None, max_length=100)
    slug: str | None = Field(default=None, max_length=_LINE)


class PeerBrief(BaseModel):
    id: int
    display_name: str

    @classmethod
    def of(cls, peer: Peer) -> PeerBrief:
        return cls(id=peer.id, display_name=peer.display_name)


class LinkOut(BaseModel):
    label: str
    url: str


class StewardOut(BaseModel):
    peer: PeerBrief
    started_at: datetime
    ended_at: datetime | None = None
    handover_note: str = ""

    @classmethod
    def of(cls, steward: Steward) -> StewardOut:
        return cls(
            peer=PeerBrief.of(steward.peer),
            started_at=steward.started_at,
            ended_at=steward.ended_at,
            handover_note=steward.handover_note,
        )


class ProjectCard(BaseModel):
    """A project as it appears in lists."""

    slug: str
    name: str
    summary: str
    licence: str
    created_at: datetime
    archived_at: datetime | None

    @classmethod
    def of(cls, project: Project) -> ProjectCard:
        return cls(
            slug=project.slug,
            name=project.name,
            summary=project.summary,
            licence=project.licence,
            created_at=project.created_at,
            archived_at=project.archived_at,
        )


class ProjectOut(ProjectCard):
    description: str = Field(description="Markdown source.")
    links: list[LinkOut]
    stewards: list[StewardOut]
    updated_at: datetime

    @classmethod
    def full(cls, project: Project, stewards: list[Steward]) -> ProjectOut:
        return cls(
            **ProjectCard.of(project).model_dump(),
            description=project.description,
            links=[LinkOut(label=link.label, url=link.url) for link in project.links],
            stewards=[StewardOut.of(steward) for steward in stewards],
            updated_at=project.updated_at,
        )


class Paged(BaseModel):
    page: int
    per_page: int
    total: int
    pages: int


class ProjectList(Paged):
    items: list[ProjectCard]


class InvitationCreate(BaseModel):
    """Whom to invite: their email or their peer id, exactly one."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(default=None, max_length=_LINE, examples=["ana@example.org"])
    peer_id: int | None = None
    message: str = Field(default="", max_length=_TEXT)


class ProjectRef(BaseModel):
    slug: str
    name: str


class InvitationOut(BaseModel):
    id: int
    project: ProjectRef
    invitee: PeerBrief
    inviter: PeerBrief
    message: str
    state: str = Field(examples=["pending"])
    created_at: datetime
    resolved_at: datetime | None

    @classmethod
    def of(cls, invitation: StewardInvitation) -> InvitationOut:
        return cls(
            id=invitation.id,
            project=ProjectRef(slug=invitation.project.slug, name=invitation.project.name),
            invitee=PeerBrief.of(invitation.invitee),
            inviter=PeerBrief.of(invitation.inviter),
            message=invitation.message,
            state=invitation.state,
            created_at=invitation.created_at,
            resolved_at=invitation.resolved_at,
        )


class StepDownRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handover_note: str = Field(
        default="",
        max_length=_TEXT,
        description="Markdown for whoever coordinates next: what is in flight, where things are.",
    )


class ActivityOut(BaseModel):
    id: int
    action: str = Field(examples=["steward.invited"])
    summary: str
    details: dict[str, Any]
    actor: PeerBrief | None
    at: datetime

    @classmethod
    def of(cls, entry: ActivityEntry) -> ActivityOut:
        return cls(
            id=entry.id,
            action=entry.action,
            summary=entry.summary,
            details=entry.details,
            actor=PeerBrief.of(entry.actor) if entry.actor else None,
            at=entry.at,
        )


class ActivityList(Paged):
    items: list[ActivityOut]
