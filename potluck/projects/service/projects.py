"""Starting, changing, finding and exploring projects.

Each operation runs inside the caller's transaction and only flushes; the boundary (request
or command) commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from potluck.errors import Conflict, InvalidInput, NotFound
from potluck.people.models import Peer
from potluck.projects import rules
from potluck.projects.models import Project, ProjectLink, Steward
from potluck.projects.service.activity import record
from potluck.projects.service.paging import PER_PAGE, ResultPage, check_paging
from potluck.projects.service.stewards import require_steward


class Order(StrEnum):
    NEWEST = "newest"
    NAME = "name"


def require_open(project: Project) -> None:
    if project.archived_at is not None:
        raise Conflict(f"{project.name} is archived and read-only until a new steward adopts it.")


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
    record(
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
    require_steward(session, project, editor, doing="edit it")
    require_open(project)
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
    record(
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
