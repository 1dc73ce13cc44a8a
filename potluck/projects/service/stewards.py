"""Who stewards a project, and stepping down.

Each operation runs inside the caller's transaction and only flushes; the boundary (request
or command) commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from potluck.errors import Conflict, Forbidden
from potluck.people.models import Peer
from potluck.projects import rules
from potluck.projects.models import Project, Steward
from potluck.projects.service.activity import record


def lock(session: Session, project: Project) -> None:
    # Steward changes are decided on a count of stewards (the last one may not leave), so
    # two of them must not interleave. PostgreSQL needs the row lock; SQLite already
    # serialises writing transactions and SQLAlchemy leaves FOR UPDATE out there.
    session.execute(select(Project.id).where(Project.id == project.id).with_for_update())


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


def require_steward(session: Session, project: Project, peer: Peer, *, doing: str) -> Steward:
    """The peer's stewardship of the project, or ``Forbidden`` saying they cannot ``doing``."""
    stretch = steward_record(session, project, peer)
    if stretch is None:
        raise Forbidden(f"Only stewards of {project.name} can {doing}; you are not one of them.")
    return stretch


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
    lock(session, project)
    stretch = steward_record(session, project, peer)
    if stretch is None:
        raise Conflict(
            f"You are not a steward of {project.name}, so there is nothing to step down from."
        )
    decision = step_down_decision(session, project)
    if not decision.allowed:
        raise Conflict(decision.reason, field="handover_note")
    stretch.ended_at = now
    stretch.handover_note = note
    session.flush()
    summary = f"{peer.display_name} stepped down as steward of {project.name}."
    if note:
        summary += " They left a handover note."
    record(
        session,
        project,
        actor=peer,
        action="steward.stepped_down",
        summary=summary,
        details={"steward_id": peer.id, "handover_note": note},
        now=now,
    )
    return stretch
