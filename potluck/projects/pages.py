"""HTML pages: home, explore, starting and editing a project, its page, and its stewards."""

from __future__ import annotations

from itertools import zip_longest
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from potluck import deps
from potluck.errors import Conflict, InvalidInput, NotFound, PotluckError
from potluck.people.models import Peer
from potluck.projects import rules, service
from potluck.projects.models import Project
from potluck.web.pages import redirect, render

router = APIRouter(include_in_schema=False)

# Shown after a redirect. Only these fixed sentences can appear, so a crafted link cannot
# put words on a Potluck page.
FLASHES = {
    "created": "Your project is live, and you are its first steward.",
    "updated": "Changes saved and added to the activity log.",
    "invited": "Invitation sent. It shows on their home page and on this project's page.",
    "withdrawn": "Invitation withdrawn.",
    "joined": "You are now a steward of this project.",
    "declined": "Invitation declined.",
    "stepped-down": "You have stepped down. Thank you for looking after this project.",
}
LINK_ROWS_SPARE = 2
LINK_ROWS_MIN = 3
LOG_PER_PAGE = 20

# The error kinds a form answers by showing the message next to its field; anything else
# (not allowed, nothing there) is a page of its own.
FORM_ERRORS = (InvalidInput, Conflict)

TextField = Annotated[str, Form()]
ListField = Annotated[list[str] | None, Form()]


def _viewer(session: deps.SessionDep, peer: deps.OptionalPeer) -> Peer | None:
    # An error rolls the request's transaction back, which expires every loaded row; the
    # error page's layout would then fail to show who is signed in. Detached, the peer
    # keeps what was loaded. Services only read its id and name.
    if peer is not None and peer in session:
        session.expunge(peer)
    return peer


Viewer = Annotated[Peer | None, Depends(_viewer)]


def _flash(request: Request) -> str | None:
    return FLASHES.get(request.query_params.get("done", ""))


def _sign_in_first(path: str) -> RedirectResponse:
    return redirect(f"/sign-in?next={quote(path, safe='/')}")


def _errors(error: PotluckError) -> dict[str, str]:
    if isinstance(error, rules.InvalidFields):
        return dict(error.problems)
    return {error.field or "_form": error.detail}


def _link_rows(links: list[tuple[str, str]]) -> list[tuple[str, str]]:
    rows = list(links)
    wanted = min(rules.MAX_LINKS, max(LINK_ROWS_MIN, len(rows) + LINK_ROWS_SPARE))
    return rows + [("", "")] * max(0, wanted - len(rows))


def _submitted_links(labels: list[str] | None, urls: list[str] | None) -> list[tuple[str, str]]:
    return list(zip_longest(labels or [], urls or [], fillvalue=""))


# Home and explore


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: deps.SessionDep, peer: Viewer) -> Response:
    invitations = service.pending_invitations_to(session, peer) if peer else []
    return render(
        request,
        "home.html",
        {"projects": service.recent_projects(session), "invitations": invitations},
    )


@router.get("/explore", response_class=HTMLResponse)
def explore(
    request: Request,
    session: deps.SessionDep,
    _peer: Viewer,
    q: str = "",
    page: int = 1,
    order: service.Order = service.Order.NEWEST,
) -> Response:
    query = rules.normalise_query(q)
    result = service.explore(session, query=query, page=max(1, page), order=order)
    params = {"q": query} if query else {}
    if order is not service.Order.NEWEST:
        params["order"] = order.value
    context = {"result": result, "q": query, "order": order.value, "params": params}
    # htmx asks for the results alone while someone types; a normal visit gets the page, and
    # so does htmx restoring an address from history, which replaces the whole page.
    partial = (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )
    response = render(
        request, "projects/_results.html" if partial else "projects/explore.html", context
    )
    response.headers["Vary"] = "HX-Request"
    return response


# Starting and editing a project


def _project_form(
    request: Request,
    template: str,
    *,
    values: dict[str, str],
    links: list[tuple[str, str]],
    errors: dict[str, str] | None = None,
    project: Project | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        template,
        {
            "values": values,
            "link_rows": _link_rows(links),
            "errors": errors or {},
            "project": project,
            "max_links": rules.MAX_LINKS,
        },
        status_code=status_code,
    )


@router.get("/projects/new", response_class=HTMLResponse)
def new_project(request: Request, peer: Viewer) -> Response:
    if peer is None:
        return _sign_in_first("/projects/new")
    return _project_form(request, "projects/new.html", values={}, links=[])


@router.post("/projects/new", response_class=HTMLResponse, dependencies=[deps.CsrfChecked])
def create_project(
    request: Request,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    peer: Viewer,
    name: TextField = "",
    slug: TextField = "",
    summary: TextField = "",
    licence: TextField = "",
    description: TextField = "",
    link_label: ListField = None,
    link_url: ListField = None,
) -> Response:
    if peer is None:
        return _sign_in_first("/projects/new")
    links = _submitted_links(link_label, link_url)
    try:
        project = service.create_project(
            session,
            creator=peer,
            name=name,
            slug=slug,
            summary=summary,
            licence=licence,
            description=description,
            links=links,
            now=clock.now(),
        )
    except FORM_ERRORS as error:
        session.rollback()
        values = {
            "name": name,
            "slug": slug,
            "summary": summary,
            "licence": licence,
            "description": description,
        }
        return _project_form(
            request,
            "projects/new.html",
            values=values,
            links=links,
            errors=_errors(error),
            status_code=error.status,
        )
    return redirect(f"/projects/{project.slug}?done=created")


def _steward_project(session: Session, slug: str, peer: Peer, *, doing: str) -> Project:
    project = service.get_project(session, slug)
    service.require_steward(session, project, peer, doing=doing)
    return project


@router.get("/projects/{slug}/edit", response_class=HTMLResponse)
def edit_project(request: Request, slug: str, session: deps.SessionDep, peer: Viewer) -> Response:
    if peer is None:
        return _sign_in_first(f"/projects/{slug}/edit")
    project = _steward_project(session, slug, peer, doing="edit it")
    values = {
        "name": project.name,
        "summary": project.summary,
        "licence": project.licence,
        "description": project.description,
    }
    links = [(link.label, link.url) for link in project.links]
    return _project_form(request, "projects/edit.html", values=values, links=links, project=project)


@router.post("/projects/{slug}/edit", response_class=HTMLResponse, dependencies=[deps.CsrfChecked])
def update_project(
    request: Request,
    *,
    slug: str,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    peer: Viewer,
    name: TextField = "",
    summary: TextField = "",
    licence: TextField = "",
    description: TextField = "",
    link_label: ListField = None,
    link_url: ListField = None,
) -> Response:
    if peer is None:
        return _sign_in_first(f"/projects/{slug}/edit")
    project = service.get_project(session, slug)
    links = _submitted_links(link_label, link_url)
    try:
        service.update_project(
            session,
            project,
            editor=peer,
            name=name,
            summary=summary,
            licence=licence,
            description=description,
            links=links,
            now=clock.now(),
        )
    except FORM_ERRORS as error:
        session.rollback()
        values = {
            "name": name,
            "summary": summary,
            "licence": licence,
            "description": description,
        }
        return _project_form(
            request,
            "projects/edit.html",
            values=values,
            links=links,
            errors=_errors(error),
            project=project,
            status_code=error.status,
        )
    return redirect(f"/projects/{project.slug}?done=updated")


# A project's page


@router.get("/projects/{slug}", response_class=HTMLResponse)
def show_project(
    request: Request,
    slug: str,
    session: deps.SessionDep,
    peer: Viewer,
    log: int = 1,
) -> Response:
    project = service.get_project(session, slug)
    log_page = service.activity(session, project, page=max(1, log), per_page=LOG_PER_PAGE)
    return render(
        request,
        "projects/show.html",
        {
            "project": project,
            "stewards": service.active_stewards(session, project),
            "is_steward": service.is_steward(session, project, peer),
            "invitation": service.pending_invitation_for(session, project, peer),
            "log": log_page,
            "flash": _flash(request),
        },
    )


# Stewards and invitations


def _stewards_page(
    request: Request,
    session: Session,
    project: Project,
    peer: Peer | None,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    steward = service.is_steward(session, project, peer)
    context: dict[str, Any] = {
        "project": project,
        "stewards": service.active_stewards(session, project),
        "former": service.former_stewards(session, project),
        "invitations": service.pending_invitations_of(session, project),
        "is_steward": steward,
        "decision": service.step_down_decision(session, project) if steward else None,
        "values": values or {},
        "errors": errors or {},
        "flash": _flash(request),
    }
    return render(request, "projects/stewards.html", context, status_code=status_code)


@router.get("/projects/{slug}/stewards", response_class=HTMLResponse)
def stewards(request: Request, slug: str, session: deps.SessionDep, peer: Viewer) -> Response:
    return _stewards_page(request, session, service.get_project(session, slug), peer)


@router.post(
    "/projects/{slug}/stewards/invite",
    response_class=HTMLResponse,
    dependencies=[deps.CsrfChecked],
)
def invite_steward(
    request: Request,
    *,
    slug: str,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    peer: Viewer,
    email: TextField = "",
    message: TextField = "",
) -> Response:
    if peer is None:
        return _sign_in_first(f"/projects/{slug}/stewards")
    project = service.get_project(session, slug)
    try:
        service.invite_steward(
            session, project, inviter=peer, email=email, message=message, now=clock.now()
        )
    except (*FORM_ERRORS, NotFound) as error:
        session.rollback()
        return _stewards_page(
            request,
            session,
            project,
            peer,
            values={"email": email, "message": message},
            errors=_errors(error),
            status_code=error.status,
        )
    return redirect(f"/projects/{project.slug}/stewards?done=invited")


@router.post(
    "/projects/{slug}/stewards/step-down",
    response_class=HTMLResponse,
    dependencies=[deps.CsrfChecked],
)
def step_down(
    request: Request,
    *,
    slug: str,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    peer: Viewer,
    handover_note: TextField = "",
) -> Response:
    if peer is None:
        return _sign_in_first(f"/projects/{slug}/stewards")
    project = service.get_project(session, slug)
    try:
        service.step_down(session, project, peer=peer, handover_note=handover_note, now=clock.now())
    except FORM_ERRORS as error:
        session.rollback()
        return _stewards_page(
            request,
            session,
            project,
            peer,
            values={"handover_note": handover_note},
            errors=_errors(error),
            status_code=error.status,
        )
    return redirect(f"/projects/{project.slug}?done=stepped-down")


@router.post(
    "/invitations/{invitation_id}/accept",
    response_class=HTMLResponse,
    dependencies=[deps.CsrfChecked],
)
def accept_invitation(
    invitation_id: int, session: deps.SessionDep, clock: deps.ClockDep, peer: Viewer
) -> Response:
    if peer is None:
        return _sign_in_first("/")
    steward = service.accept_invitation(session, invitation_id, peer=peer, now=clock.now())
    return redirect(f"/projects/{steward.project.slug}?done=joined")


@router.post(
    "/invitations/{invitation_id}/decline",
    response_class=HTMLResponse,
    dependencies=[deps.CsrfChecked],
)
def decline_invitation(
    invitation_id: int, session: deps.SessionDep, clock: deps.ClockDep, peer: Viewer
) -> Response:
    if peer is None:
        return _sign_in_first("/")
    invitation = service.decline_invitation(session, invitation_id, peer=peer, now=clock.now())
    return redirect(f"/projects/{invitation.project.slug}?done=declined")


@router.post(
    "/invitations/{invitation_id}/withdraw",
    response_class=HTMLResponse,
    dependencies=[deps.CsrfChecked],
)
def withdraw_invitation(
    invitation_id: int, session: deps.SessionDep, clock: deps.ClockDep, peer: Viewer
) -> Response:
    if peer is None:
        return _sign_in_first("/")
    invitation = service.withdraw_invitation(session, invitation_id, steward=peer, now=clock.now())
    return redirect(f"/projects/{invitation.project.slug}/stewards?done=withdrawn")
