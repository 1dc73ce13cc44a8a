"""Invitations to steward a project: sent by a steward, answered by the invitee alone.

Each operation runs inside the caller's transaction and only flushes; the boundary (request
or command) commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from potluck.errors import Conflict, Forbidden, InvalidInput, NotFound
from potluck.people import rules as people_rules
from potluck.people.models import Peer
from potluck.projects import rules
from potluck.projects.models import Project, Steward, StewardInvitation
from potluck.projects.service.activity import record
from potluck.projects.service.projects import require_open
from potluck.projects.service.stewards import is_steward, lock, require_steward

PENDING = "pending"
ACCEPTED = "accepted"
DECLINED = "declined"
WITHDRAWN = "withdrawn"


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
    require_open(project)
    # Stewards only, before looking anyone up, so that nobody else can probe for accounts.
    require_steward(session, project, inviter, doing="invite stewards")
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
    record(
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
    require_open(project)
    lock(session, project)
    if is_steward(session, project, peer):
        raise Conflict(f"You are already a steward of {project.name}.")
    invitation.state = ACCEPTED
    invitation.resolved_at = now
    steward = Steward(project_id=project.id, peer_id=peer.id, started_at=now)
    session.add(steward)
    session.flush()
    record(
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
    record(
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
    require_steward(session, project, steward, doing="withdraw invitations")
    _require_pending(invitation)
    invitation.state = WITHDRAWN
    invitation.resolved_at = now
    session.flush()
    record(
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
