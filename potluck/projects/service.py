"""Operations on projects, their stewards and invitations to steward.

Each operation runs inside the caller's transaction and only flushes; the boundary (request
or command) commits. Every change appends a line to the project's public activity log in the
same transaction, so a change and its record stand or fall together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from potluck.errors import Conflict, Forbidden, InvalidInput, NotFound
from potluck.people import rules as people_rules
from potluck.people.models import Peer
from potluck.projects import rules
from potluck.projects.models import (
    ActivityEntry,
    Project,
    ProjectLink,
    Steward,
    StewardInvitation,
)

PER_PAGE = 20
MAX_PER_PAGE = 100

PENDING = "pending"
ACCEPTED = "accepted"
DECLINED = "declined"
WITHDRAWN = "withdrawn"

T = TypeVar("T")


class Order(StrEnum):
    NEWEST = "newest"
    NAME = "name"


@dataclass(frozen=True)
class ResultPage(Generic[T]):
    """One page of a longer list, with what is needed to link to the others."""

    items: list[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return rules.page_count(self.total, self.per_page)

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def check_paging(page: int, per_page: int) -> None:
    if page < 1:
        raise InvalidInput(f"Pages are numbered from 1; {page} is not a page.", field="page")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput(
            f"A page holds between 1 and {MAX_PER_PAGE} results; {per_page} was asked for.",
            field="per_page",
        )


def _record(
    session: Session,
    project: Project,
    *,
    actor: Peer | None,
    action: str,
    summary: str,
    details: dict[str, Any],
    now: datetime,
) -> ActivityEntry:
    entry = ActivityEntry(
        project_id=project.id,
        actor_id=actor.id if actor else None,
        action=action,
        summary=summary[:500],
        details=details,
        at=now,
    )
    session.add(entry)
    session.flush()
    return entry


def _lock(session: Session, project: Project) -> None:
    # Steward changes are decided on a count of stewards (the last one may not leave), so
    # two of them must not interleave. PostgreSQL needs the row lock; SQLite already
    # serialises writing transactions and SQLAlchemy leaves FOR UPDATE out there.
    session.execute(select(Project.id).where(Project.id == project.id).with_for_update())


def _require_open(project: Project) -> None:
    if project.archived_at is not None:
        raise Conflict(f"{project.name} is archived and read-only until a new steward adopts it.")


# Projects


def get_project(session: Session, slug: str) -> Project:
    project = session.scalar(
        select(Project)
        .where(Project.slug == slug.strip().lower())
        .options(selectinload(Project.links))
    )
    if project is None:
        raise NotFound(f"No project has the address '{slug}'.")
    return project


def create_project(
    session: Session,
    *,
    creator: Peer,
    name: str,
    summary: str,
    licence: str,
    now: datetime,
    slug: str | None = None,
    description: str = "",
    links: Iterable[tuple[str, str]] = (),
) -> Project:
    """Start a project; its creator becomes its first steward (never its owner).

    An empty ``slug`` is made from the name. Every field's problem is reported at once.
    """
    fields = rules.check_project_fields(
        new_slug=slug or "",
        name=name,
        summary=summary,
        description=description,
        licence=licence,
        links=links,
    )
    assert fields.slug is not None
    assert fields.name is not None
    assert fields.summary is not None
    assert fields.description is not None
    assert fields.licence is not None
    assert fields.links is not None
    clean_slug, clean_name, clean_licence = fields.slug, fields.name, fields.licence
    taken = Conflict(
        f"The address '{clean_slug}' is already taken by another project; choose another.",
        field="slug",
    )
    if session.scalar(select(Project.id).where(Project.slug == clean_slug)) is not None:
        raise taken
    project = Project(
        slug=clean_slug,
        name=clean_name,
        summary=fields.summary,
        description=fields.description,
        licence=clean_licence,
        search_text=rules.search_text(clean_name, fields.summary, clean_slug),
        created_at=now,
        updated_at=now,
        links=_link_rows(fields.links),
    )
    # Two peers may race for one address; the unique index decides, and the loser gets the
    # same answer as if it had lost the check above.
    try:
        with session.begin_nested():
            session.add(project)
            session.flush()
    except IntegrityError as error:
        raise taken from error
    session.add(Steward(project_id=project.id, peer_id=creator.id, started_at=now))
    _record(
        session,
        project,
        actor=creator,
        action="project.created",
        summary=f"{creator.display_name} started {clean_name} and became its first steward.",
        details={
            "slug": clean_slug,
            "name": clean_name,
            "licence": clean_licence,
            "steward_id": creator.id,
        },
        now=now,
    )
    return project


def _link_rows(links: Sequence[rules.Link]) -> list[ProjectLink]:
    return [
        ProjectLink(position=position, label=link.label, url=link.url)
        for position, link in enumerate(links)
    ]


def _link_values(links: Iterable[ProjectLink | rules.Link]) -> list[dict[str, str]]:
    return [{"label": link.label, "url": link.url} for link in links]


_FIELD_WORDS = {
    "name": "name",
    "summary": "summary",
    "description": "description",
    "licence": "licence",
    "links": "links",
}


def update_project(
    session: Session,
    project: Project,
    *,
    editor: Peer,
    now: datetime,
    name: str | None = None,
    summary: str | None = None,
    description: str | None = None,
    licence: str | None = None,
    links: Iterable[tuple[str, str]] | None = None,
    slug: str | None = None,
) -> Project:
    """Change what a steward may change. ``None`` leaves a field as it is.

    The slug is the project's address and cannot change: links to it, pledges' receipts and
    the activity log all point there.
    """
    _require_steward(session, project, editor, doing="edit it")
    _require_open(project)
    if slug is not None and slug.strip().lower() != project.slug:
        raise InvalidInput(
            f"A project's address cannot change; {project.name} stays at '{project.slug}'.",
            field="slug",
        )
    fields = rules.check_project_fields(
        name=name, summary=summary, description=description, licence=licence, links=links
    )
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for key in ("name", "summary", "licence"):
        value = getattr(fields, key)
        if value is not None and value != getattr(project, key):
            before[key], after[key] = getattr(project, key), value
    new_description = None
    if fields.description is not None and fields.description != project.description:
        new_description = fields.description
    new_links = None
    if fields.links is not None and _link_values(fields.links) != _link_values(project.links):
        new_links = fields.links
        before["links"], after["links"] = _link_values(project.links), _link_values(new_links)

    changed = [
        field
        for field in _FIELD_WORDS
        if field in after or (field == "description" and new_description is not None)
    ]
    if not changed:
        return project

    project.name = after.get("name", project.name)
    project.summary = after.get("summary", project.summary)
    project.licence = after.get("licence", project.licence)
    if new_description is not None:
        project.description = new_description
    if new_links is not None:
        project.links = _link_rows(new_links)
    project.search_text = rules.search_text(project.name, project.summary, project.slug)
    project.updated_at = now
    session.flush()
    words = rules.describe_changes([_FIELD_WORDS[field] for field in changed])
    _record(
        session,
        project,
        actor=editor,
        action="project.updated",
        summary=f"{editor.display_name} changed the {words} of {project.name}.",
        # The description can be long; the log says it changed and the page shows it.
        details={"changed": changed, "from": before, "to": after},
        now=now,
    )
    return project


def _search_conditions(query: str | None) -> list[ColumnElement[bool]]:
    return [
        Project.search_text.like(rules.like_pattern(term), escape="\\")
        for term in rules.search_terms(query)
    ]


def explore(
    session: Session,
    *,
    query: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
    order: Order = Order.NEWEST,
) -> ResultPage[Project]:
    """Projects whose name, summary or address contain every word of ``query``.

    Matching ignores case; an empty query lists every project.
    """
    check_paging(page, per_page)
    conditions = _search_conditions(query)
    total = session.scalar(select(func.count()).select_from(Project).where(*conditions)) or 0
    statement = select(Project).where(*conditions)
    if order is Order.NAME:
        statement = statement.order_by(func.lower(Project.name), Project.id)
    else:
        statement = statement.order_by(Project.created_at.desc(), Project.id.desc())
    items = session.scalars(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return ResultPage(items=list(items), page=page, per_page=per_page, total=total)


def recent_projects(session: Session, *, limit: int = 6) -> list[Project]:
    return explore(session, per_page=limit).items


# Stewards


def active_stewards(session: Session, project: Project) -> list[Steward]:
    return list(
        session.scalars(
            select(Steward)
            .where(Steward.project_id == project.id, Steward.ended_at.is_(None))
            .options(joinedload(Steward.peer))
            .order_by(Steward.started_at, Steward.id)
        )
    )


def former_stewards(session: Session, project: Project) -> list[Steward]:
    """Stretches of stewardship that have ended, latest first, with their handover notes."""
    return list(
        session.scalars(
            select(Steward)
            .where(Steward.project_id == project.id, Steward.ended_at.is_not(None))
            .options(joinedload(Steward.peer))
            .order_by(Steward.ended_at.desc(), Steward.id.desc())
        )
    )


def steward_record(session: Session, project: Project, peer: Peer | None) -> Steward | None:
    """The peer's current stretch of stewardship of the project, if they are a steward."""
    if peer is None:
        return None
    return session.scalar(
        select(Steward).where(
            Steward.project_id == project.id,
            Steward.peer_id == peer.id,
            Steward.ended_at.is_(None),
        )
    )


def is_steward(session: Session, project: Project, peer: Peer | None) -> bool:
    return steward_record(session, project, peer) is not None


def _require_steward(session: Session, project: Project, peer: Peer, *, doing: str) -> Steward:
    record = steward_record(session, project, peer)
    if record is None:
        raise Forbidden(f"Only stewards of {project.name} can {doing}; you are not one of them.")
    return record


def step_down_decision(session: Session, project: Project) -> rules.StepDownDecision:
    """Whether a current steward of ``project`` may step down now, and why not."""
    return rules.step_down_decision(
        len(active_stewards(session, project)), project_name=project.name
    )


def step_down(
    session: Session, project: Project, *, peer: Peer, now: datetime, handover_note: str = ""
) -> Steward:
    """End the peer's stewardship, leaving a note for whoever coordinates next."""
    note = rules.check_note(handover_note, field="handover_note")
    _lock(session, project)
    record = steward_record(session, project, peer)
    if record is None:
        raise Conflict(
            f"You are not a steward of {project.name}, so there is nothing to step down from."
        )
    decision = step_down_decision(session, project)
    if not decision.allowed:
        raise Conflict(decision.reason, field="handover_note")
    record.ended_at = now
    record.handover_note = note
    session.flush()
    summary = f"{peer.display_name} stepped down as steward of {project.name}."
    if note:
        summary += " They left a handover note."
    _record(
        session,
        project,
        actor=peer,
        action="steward.stepped_down",
        summary=summary,
        details={"steward_id": peer.id, "handover_note": note},
        now=now,
    )
    return record


# Invitations


def get_invitation(session: Session, invitation_id: int) -> StewardInvitation:
    invitation = session.get(
        StewardInvitation,
        invitation_id,
        options=[
            joinedload(StewardInvitation.project),
            joinedload(StewardInvitation.invitee),
            joinedload(StewardInvitation.inviter),
        ],
    )
    if invitation is None:
        raise NotFound(f"Invitation {invitation_id} does not exist.")
    return invitation


def _find_invitee(session: Session, *, email: str | None, peer_id: int | None) -> Peer:
    if (email is None or not email.strip()) == (peer_id is None):
        raise InvalidInput(
            "Say whom to invite: give either their email or their peer id.", field="email"
        )
    if peer_id is not None:
        invitee = session.get(Peer, peer_id)
        if invitee is None:
            raise NotFound(f"Peer {peer_id} does not exist.", field="peer_id")
        return invitee
    assert email is not None
    normal = people_rules.normalise_email(email)
    invitee = session.scalar(select(Peer).where(Peer.email == normal))
    if invitee is None:
        raise NotFound(
            f"No peer has the email {normal}; they need a Potluck account before they can "
            "be invited.",
            field="email",
        )
    return invitee


def invite_steward(
    session: Session,
    project: Project,
    *,
    inviter: Peer,
    now: datetime,
    email: str | None = None,
    peer_id: int | None = None,
    message: str = "",
) -> StewardInvitation:
    """Ask another peer, by email or peer id, to become a steward; they accept or decline."""
    _require_open(project)
    # Stewards only, before looking anyone up, so that nobody else can probe for accounts.
    _require_steward(session, project, inviter, doing="invite stewards")
    clean_message = rules.check_note(message, field="message")
    invitee = _find_invitee(session, email=email, peer_id=peer_id)
    if is_steward(session, project, invitee):
        raise Conflict(
            f"{invitee.display_name} is already a steward of {project.name}.", field="email"
        )
    duplicate = Conflict(
        f"{invitee.display_name} already has a pending invitation to steward {project.name}.",
        field="email",
    )
    if _pending_invitation(session, project, invitee) is not None:
        raise duplicate
    invitation = StewardInvitation(
        project_id=project.id,
        invitee_id=invitee.id,
        inviter_id=inviter.id,
        message=clean_message,
        state=PENDING,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(invitation)
            session.flush()
    except IntegrityError as error:
        raise duplicate from error
    _record(
        session,
        project,
        actor=inviter,
        action="steward.invited",
        summary=(
            f"{inviter.display_name} invited {invitee.display_name} to steward {project.name}."
        ),
        details={
            "invitation_id": invitation.id,
            "invitee_id": invitee.id,
            "invitee": invitee.display_name,
        },
        now=now,
    )
    return invitation


def _pending_invitation(
    session: Session, project: Project, invitee: Peer
) -> StewardInvitation | None:
    return session.scalar(
        select(StewardInvitation).where(
            StewardInvitation.project_id == project.id,
            StewardInvitation.invitee_id == invitee.id,
            StewardInvitation.state == PENDING,
        )
    )


def pending_invitation_for(
    session: Session, project: Project, peer: Peer | None
) -> StewardInvitation | None:
    """The invitation to steward ``project`` that awaits ``peer``'s answer, if any."""
    return None if peer is None else _pending_invitation(session, project, peer)


def pending_invitations_to(session: Session, peer: Peer) -> list[StewardInvitation]:
    """Invitations awaiting the peer's answer, newest first."""
    return list(
        session.scalars(
            select(StewardInvitation)
            .where(StewardInvitation.invitee_id == peer.id, StewardInvitation.state == PENDING)
            .options(
                joinedload(StewardInvitation.project),
                joinedload(StewardInvitation.inviter),
                joinedload(StewardInvitation.invitee),
            )
            .order_by(StewardInvitation.created_at.desc(), StewardInvitation.id.desc())
        )
    )


def pending_invitations_of(session: Session, project: Project) -> list[StewardInvitation]:
    """Invitations to steward the project that nobody has answered yet, oldest first."""
    return list(
        session.scalars(
            select(StewardInvitation)
            .where(StewardInvitation.project_id == project.id, StewardInvitation.state == PENDING)
            .options(
                joinedload(StewardInvitation.project),
                joinedload(StewardInvitation.inviter),
                joinedload(StewardInvitation.invitee),
            )
            .order_by(StewardInvitation.created_at, StewardInvitation.id)
        )
    )


def _require_pending(invitation: StewardInvitation) -> None:
    if invitation.state != PENDING:
        raise Conflict(
            f"Invitation {invitation.id} to steward {invitation.project.name} was already "
            f"{invitation.state}."
        )


def _require_invitee(invitation: StewardInvitation, peer: Peer, *, doing: str) -> None:
    if invitation.invitee_id != peer.id:
        raise Forbidden(
            f"Invitation {invitation.id} is addressed to another peer; only they can {doing} it."
        )


def accept_invitation(
    session: Session, invitation_id: int, *, peer: Peer, now: datetime
) -> Steward:
    """The invitee accepts and becomes a steward from now on."""
    invitation = get_invitation(session, invitation_id)
    _require_invitee(invitation, peer, doing="accept")
    _require_pending(invitation)
    project = invitation.project
    _require_open(project)
    _lock(session, project)
    if is_steward(session, project, peer):
        raise Conflict(f"You are already a steward of {project.name}.")
    invitation.state = ACCEPTED
    invitation.resolved_at = now
    steward = Steward(project_id=project.id, peer_id=peer.id, started_at=now)
    session.add(steward)
    session.flush()
    _record(
        session,
        project,
        actor=peer,
        action="steward.joined",
        summary=(
            f"{peer.display_name} accepted {invitation.inviter.display_name}'s invitation "
            f"and became a steward of {project.name}."
        ),
        details={
            "invitation_id": invitation.id,
            "steward_id": peer.id,
            "inviter_id": invitation.inviter_id,
        },
        now=now,
    )
    return steward


def decline_invitation(
    session: Session, invitation_id: int, *, peer: Peer, now: datetime
) -> StewardInvitation:
    invitation = get_invitation(session, invitation_id)
    _require_invitee(invitation, peer, doing="decline")
    _require_pending(invitation)
    invitation.state = DECLINED
    invitation.resolved_at = now
    session.flush()
    _record(
        session,
        invitation.project,
        actor=peer,
        action="steward.declined",
        summary=(
            f"{peer.display_name} declined the invitation to steward {invitation.project.name}."
        ),
        details={"invitation_id": invitation.id, "inviter_id": invitation.inviter_id},
        now=now,
    )
    return invitation


def withdraw_invitation(
    session: Session, invitation_id: int, *, steward: Peer, now: datetime
) -> StewardInvitation:
    """Any current steward may withdraw an unanswered invitation, not only who sent it."""
    invitation = get_invitation(session, invitation_id)
    project = invitation.project
    _require_steward(session, project, steward, doing="withdraw invitations")
    _require_pending(invitation)
    invitation.state = WITHDRAWN
    invitation.resolved_at = now
    session.flush()
    _record(
        session,
        project,
        actor=steward,
        action="steward.invitation_withdrawn",
        summary=(
            f"{steward.display_name} withdrew the invitation for "
            f"{invitation.invitee.display_name} to steward {project.name}."
        ),
        details={"invitation_id": invitation.id, "invitee_id": invitation.invitee_id},
        now=now,
    )
    return invitation


# Activity


def activity(
    session: Session, project: Project, *, page: int = 1, per_page: int = PER_PAGE
) -> ResultPage[ActivityEntry]:
    """The project's activity log, newest first."""
    check_paging(page, per_page)
    total = (
        session.scalar(
            select(func.count())
            .select_from(ActivityEntry)
            .where(ActivityEntry.project_id == project.id)
        )
        or 0
    )
    items = session.scalars(
        select(ActivityEntry)
        .where(ActivityEntry.project_id == project.id)
        .options(joinedload(ActivityEntry.actor))
        .order_by(ActivityEntry.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return ResultPage(items=list(items), page=page, per_page=per_page, total=total)
