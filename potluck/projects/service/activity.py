"""The project's public activity log: appending a line, and reading it back.

A change and its line are written in the same transaction, so they stand or fall together.
The database refuses to update or delete a line once written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from potluck.people.models import Peer
from potluck.projects.models import ActivityEntry, Project
from potluck.projects.service.paging import PER_PAGE, ResultPage, check_paging


def record(
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
