"""JSON routes for projects, stewards, invitations and the activity log (under /api/v1)."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Response, status

from potluck import deps, errors
from potluck.projects import service
from potluck.projects.schemas import (
    ActivityList,
    ActivityOut,
    InvitationCreate,
    InvitationOut,
    ProjectCard,
    ProjectCreate,
    ProjectList,
    ProjectOut,
    ProjectUpdate,
    StepDownRequest,
    StewardOut,
)

router = APIRouter(tags=["projects"])

# A bad parameter is refused by FastAPI's validation, which answers in the same shape as
# InvalidInput, and an unknown or revoked token is refused even when reading.
_READ_ERRORS = (errors.NotSignedIn, errors.InvalidInput)
_WRITE_ERRORS = (*_READ_ERRORS, errors.Forbidden, errors.CsrfFailed)
_Item = TypeVar("_Item")

PageQuery = Annotated[int, Query(ge=1, description="Page number, from 1.")]
PerPageQuery = Annotated[int, Query(ge=1, le=service.MAX_PER_PAGE, description="Results per page.")]


def _paging(result: service.ResultPage[_Item]) -> dict[str, int]:
    return {
        "page": result.page,
        "per_page": result.per_page,
        "total": result.total,
        "pages": result.pages,
    }


@router.get(
    "/projects",
    summary="List and search projects",
    responses=errors.responses(*_READ_ERRORS),
)
def list_projects(
    session: deps.SessionDep,
    _peer: deps.OptionalPeer,
    q: Annotated[
        str | None, Query(max_length=1000, description="Words to find in name, summary, slug.")
    ] = None,
    page: PageQuery = 1,
    per_page: PerPageQuery = service.PER_PAGE,
    order: service.Order = service.Order.NEWEST,
) -> ProjectList:
    result = service.explore(session, query=q, page=page, per_page=per_page, order=order)
    return ProjectList(items=[ProjectCard.of(p) for p in result.items], **_paging(result))


@router.post(
    "/projects",
    status_code=status.HTTP_201_CREATED,
    summary="Start a project; you become its first steward",
    responses=errors.responses(*_WRITE_ERRORS, errors.Conflict),
)
def create_project(
    body: ProjectCreate,
    response: Response,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    peer: deps.ApiWriter,
) -> ProjectOut:
    project = service.create_project(
        session,
        creator=peer,
        name=body.name,
        summary=body.summary,
        licence=body.licence,
        slug=body.slug,
        description=body.description,
        links=[(link.label, link.url) for link in body.links],
        now=clock.now(),
    )
    response.headers["Location"] = f"/api/v1/projects/{project.slug}"
    return ProjectOut.full(project, service.active_stewards(session, project))


@router.get(
    "/projects/{slug}",
    summary="One project with its links and current stewards",
    responses=errors.responses(*_READ_ERRORS, errors.NotFound),
)
def get_project(slug: str, session: deps.SessionDep, _peer: deps.OptionalPeer) -> ProjectOut:
    project = service.get_project(session, slug)
    return ProjectOut.full(project, service.active_stewards(session, project))


@router.patch(
    "/projects/{slug}",
    summary="Change a project (stewards only); the slug never changes",
    responses=errors.responses(*_WRITE_ERRORS, errors.NotFound, errors.Conflict),
)
def update_project(
    slug: str,
    body: ProjectUpdate,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    peer: deps.ApiWriter,
) -> ProjectOut:
    project = service.get_project(session, slug)
    service.update_project(
        session,
        project,
        editor=peer,
        name=body.name,
        summary=body.summary,
        description=body.description,
        licence=body.licence,
        links=None if body.links is None else [(link.label, link.url) for link in body.links],
        slug=body.slug,
        now=clock.now(),
    )
    return ProjectOut.full(project, service.active_stewards(session, project))


@router.get(
    "/projects/{slug}/stewards",
    summary="Current stewards of a project",
    responses=errors.responses(*_READ_ERRORS, errors.NotFound),
)
def list_stewards(
    slug: str, session: deps.SessionDep, _peer: deps.OptionalPeer
) -> list[StewardOut]:
    project = service.get_project(session, slug)
    return [StewardOut.of(steward) for steward in service.active_stewards(session, project)]


@router.get(
    "/projects/{slug}/invitations",
    summary="Invitations to steward a project that await an answer",
    responses=errors.responses(*_READ_ERRORS, errors.NotFound),
)
def list_project_invitations(
    slug: str, session: deps.SessionDep, _peer: deps.OptionalPeer
) -> list[InvitationOut]:
    project = service.get_project(session, slug)
    return [InvitationOut.of(i) for i in service.pending_invitations_of(session, project)]


@router.post(
    "/projects/{slug}/invitations",
    status_code=status.HTTP_201_CREATED,
    summary="Invite a peer to steward the project (stewards only)",
    responses=errors.responses(*_WRITE_ERRORS, errors.NotFound, errors.Conflict),
)
def invite_steward(
    slug: str,
    body: InvitationCreate,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    peer: deps.ApiWriter,
) -> InvitationOut:
    project = service.get_project(session, slug)
    invitation = service.invite_steward(
        session,
        project,
        inviter=peer,
        email=body.email,
        peer_id=body.peer_id,
        message=body.message,
        now=clock.now(),
    )
    return InvitationOut.of(service.get_invitation(session, invitation.id))


@router.get(
    "/me/invitations",
    summary="Invitations to steward that await your answer",
    responses=errors.responses(*_READ_ERRORS),
)
def my_invitations(session: deps.SessionDep, peer: deps.CurrentPeer) -> list[InvitationOut]:
    return [InvitationOut.of(i) for i in service.pending_invitations_to(session, peer)]


_ANSWER_ERRORS = (*_WRITE_ERRORS, errors.NotFound, errors.Conflict)


@router.post(
    "/invitations/{invitation_id}/accept",
    summary="Accept an invitation addressed to you and become a steward",
    responses=errors.responses(*_ANSWER_ERRORS),
)
def accept_invitation(
    invitation_id: int, session: deps.SessionDep, clock: deps.ClockDep, peer: deps.ApiWriter
) -> InvitationOut:
    service.accept_invitation(session, invitation_id, peer=peer, now=clock.now())
    return InvitationOut.of(service.get_invitation(session, invitation_id))


@router.post(
    "/invitations/{invitation_id}/decline",
    summary="Decline an invitation addressed to you",
    responses=errors.responses(*_ANSWER_ERRORS),
)
def decline_invitation(
    invitation_id: int, session: deps.SessionDep, clock: deps.ClockDep, peer: deps.ApiWriter
) -> InvitationOut:
    invitation = service.decline_invitation(session, invitation_id, peer=peer, now=clock.now())
    return InvitationOut.of(invitation)


@router.post(
    "/invitations/{invitation_id}/withdraw",
    summary="Withdraw an unanswered invitation (stewards of its project only)",
    responses=errors.responses(*_ANSWER_ERRORS),
)
def withdraw_invitation(
    invitation_id: int, session: deps.SessionDep, clock: deps.ClockDep, peer: deps.ApiWriter
) -> InvitationOut:
    invitation = service.withdraw_invitation(session, invitation_id, steward=peer, now=clock.now())
    return InvitationOut.of(invitation)


@router.post(
    "/projects/{slug}/stewards/me/step-down",
    summary="Step down as a steward, with an optional handover note",
    description="The last steward cannot step down: the project would have nobody to "
    "coordinate it. Invite a successor first.",
    responses=errors.responses(*_WRITE_ERRORS, errors.NotFound, errors.Conflict),
)
def step_down(
    slug: str,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    peer: deps.ApiWriter,
    body: StepDownRequest | None = None,
) -> StewardOut:
    project = service.get_project(session, slug)
    note = body.handover_note if body else ""
    record = service.step_down(session, project, peer=peer, handover_note=note, now=clock.now())
    return StewardOut.of(record)


@router.get(
    "/projects/{slug}/activity",
    summary="A project's public activity log, newest first",
    responses=errors.responses(*_READ_ERRORS, errors.NotFound),
)
def project_activity(
    slug: str,
    session: deps.SessionDep,
    _peer: deps.OptionalPeer,
    page: PageQuery = 1,
    per_page: PerPageQuery = service.PER_PAGE,
) -> ActivityList:
    project = service.get_project(session, slug)
    result = service.activity(session, project, page=page, per_page=per_page)
    return ActivityList(items=[ActivityOut.of(e) for e in result.items], **_paging(result))
