"""JSON routes for needs, pledges and paydays (under /api/v1)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.orm import Session

from potluck import deps, errors
from potluck.pledges import schemas
from potluck.pledges.deps import SettingsDep
from potluck.pledges.models import Need, Pledge
from potluck.pledges.service import common, forecast, giving, needs, paydays, pledges
from potluck.pledges.settings import PledgeSettings
from potluck.projects import service as projects

router = APIRouter(tags=["needs, pledges and paydays"])

_WRITE = (errors.NotSignedIn, errors.Forbidden, errors.CsrfFailed)
_BAD = (errors.Conflict, errors.InvalidInput)


def _need_out(
    session: Session, need: Need, *, clock: deps.ClockDep, settings: PledgeSettings
) -> schemas.NeedOut:
    outlook = forecast.outlook(session, need, now=clock.now(), cadence=settings.payday_cadence)
    return schemas.NeedOut.of(need, common.project_of(session, need).slug, outlook)


def _pledge_out(
    session: Session, pledge: Pledge, *, clock: deps.ClockDep, settings: PledgeSettings
) -> schemas.PledgeOut:
    need = pledges.need_of(session, pledge)
    outlook = forecast.outlook(session, need, now=clock.now(), cadence=settings.payday_cadence)
    charge = outlook.charges.get(pledge.id, 0) if pledge.state == "active" else 0
    return schemas.PledgeOut.of(
        pledge, need, common.project_of(session, need).slug, next_charge=charge
    )


# Needs


@router.get(
    "/projects/{slug}/needs",
    summary="A project's needs, with what the next payday would cover",
    responses=errors.responses(errors.NotFound),
)
def list_needs(
    slug: str,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    include_closed: bool = False,
) -> list[schemas.NeedOut]:
    project = projects.get_project(session, slug)
    return [
        _need_out(session, need, clock=clock, settings=settings)
        for need in needs.project_needs(session, project, include_closed=include_closed)
    ]


@router.post(
    "/projects/{slug}/needs",
    status_code=status.HTTP_201_CREATED,
    summary="Add a need to a project (stewards only)",
    responses=errors.responses(*_WRITE, errors.NotFound, *_BAD),
)
def create_need(
    slug: str,
    *,
    body: schemas.NeedIn,
    response: Response,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: deps.ApiWriter,
) -> schemas.NeedOut:
    project = projects.get_project(session, slug)
    need = needs.create_need(
        session,
        project,
        steward=peer,
        terms=needs.NeedTerms(
            title=body.title,
            commodity=body.commodity,
            amount=body.amount,
            per=body.per,
            deadline=body.deadline,
            funding=body.funding,
            description=body.description,
        ),
        now=clock.now(),
        cadence=settings.payday_cadence,
    )
    response.headers["Location"] = f"/api/v1/needs/{need.id}"
    return _need_out(session, need, clock=clock, settings=settings)


@router.get(
    "/needs/{need_id}",
    summary="One need with its coverage now and at the latest payday",
    responses=errors.responses(errors.NotFound),
)
def get_need(
    need_id: int,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
) -> schemas.NeedOut:
    return _need_out(session, needs.get_need(session, need_id), clock=clock, settings=settings)


@router.patch(
    "/needs/{need_id}",
    summary="Change a need (stewards only)",
    responses=errors.responses(*_WRITE, errors.NotFound, *_BAD),
)
def update_need(
    need_id: int,
    *,
    body: schemas.NeedPatch,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: deps.ApiWriter,
) -> schemas.NeedOut:
    need = needs.get_need(session, need_id)
    given = body.model_dump(exclude_unset=True)
    recurring = given.get("per", need.per) is not None
    terms = needs.NeedTerms(
        title=given.get("title", need.title),
        commodity=given.get("commodity", need.commodity),
        amount=given.get("amount", need.amount),
        per=given.get("per", need.per),
        deadline=None
        if recurring and "deadline" not in given
        else given.get("deadline", need.deadline),
        funding=given.get("funding", need.funding),
        description=given.get("description", need.description),
    )
    needs.update_need(
        session, need, steward=peer, terms=terms, now=clock.now(), cadence=settings.payday_cadence
    )
    return _need_out(session, need, clock=clock, settings=settings)


@router.post(
    "/needs/{need_id}/close",
    summary="Close a need (stewards only); its pledges end and their donors are told",
    responses=errors.responses(*_WRITE, errors.NotFound, errors.Conflict),
)
def close_need(
    need_id: int,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: deps.ApiWriter,
) -> schemas.NeedOut:
    need = needs.close_need(
        session, needs.get_need(session, need_id), steward=peer, now=clock.now()
    )
    return _need_out(session, need, clock=clock, settings=settings)


@router.get(
    "/needs/{need_id}/coverage",
    summary="A need's coverage at each payday that cleared it, oldest first",
    responses=errors.responses(errors.NotFound),
)
def coverage_history(
    need_id: int,
    session: deps.SessionDep,
    limit: Annotated[int, Query(ge=1, le=120)] = 24,
) -> list[schemas.CoverageHistoryOut]:
    need = needs.get_need(session, need_id)
    return [
        schemas.CoverageHistoryOut.of(point, need.commodity)
        for point in forecast.coverage_history(session, need.id, limit=limit)
    ]


@router.get(
    "/needs/{need_id}/pledges",
    summary="A need's active pledges; anonymous donors are not named",
    responses=errors.responses(errors.NotFound),
)
def need_pledges(need_id: int, session: deps.SessionDep) -> list[schemas.PublicPledgeOut]:
    need = needs.get_need(session, need_id)
    return [
        schemas.PublicPledgeOut(
            id=item.pledge.id,
            kind=item.pledge.kind,
            donor=item.donor.display_name if item.donor else None,
            donor_id=item.donor.id if item.donor else None,
            amount=item.pledge.amount,
            per=item.pledge.per,
            rate=item.pledge.rate,
            cap=item.pledge.cap,
            created_at=item.pledge.created_at,
        )
        for item in pledges.public_pledges(session, need)
    ]


@router.get(
    "/needs/{need_id}/preview",
    summary="What a share or crowdmatch pledge would pay now, and as others join",
    responses=errors.responses(errors.NotFound, errors.InvalidInput),
)
def preview(
    need_id: int,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    kind: Annotated[str, Query(description="'share' or 'crowdmatch'.")],
    cap: Annotated[int | None, Query(gt=0, description="A share's cap or a limit.")] = None,
    rate: Annotated[int | None, Query(gt=0, description="A crowdmatch rate.")] = None,
    excluding: Annotated[
        int | None, Query(description="Leave out this pledge (yours, when changing it).")
    ] = None,
) -> schemas.PreviewOut:
    need = needs.get_need(session, need_id)
    result = forecast.preview(
        session,
        need,
        kind=kind,
        cap=cap,
        rate=rate,
        excluding=excluding,
        now=clock.now(),
        cadence=settings.payday_cadence,
    )
    return schemas.PreviewOut.of(result)


# Pledges


@router.post(
    "/needs/{need_id}/pledges",
    status_code=status.HTTP_201_CREATED,
    summary="Pledge toward a need",
    responses=errors.responses(*_WRITE, errors.NotFound, *_BAD),
)
def create_pledge(
    need_id: int,
    *,
    body: schemas.PledgeIn,
    response: Response,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: deps.ApiWriter,
) -> schemas.PledgeOut:
    need = needs.get_need(session, need_id)
    pledge = pledges.make_pledge(
        session,
        need,
        donor=peer,
        terms=pledges.PledgeTerms(
            kind=body.kind,
            amount=body.amount,
            per=body.per,
            rate=body.rate,
            cap=body.cap,
            anonymous=body.anonymous,
            commodity=body.commodity,
        ),
        now=clock.now(),
        cadence=settings.payday_cadence,
    )
    response.headers["Location"] = f"/api/v1/pledges/{pledge.id}"
    return _pledge_out(session, pledge, clock=clock, settings=settings)


@router.get(
    "/me/pledges",
    summary="Your giving: every pledge with what it will cost at the next payday",
    responses=errors.responses(errors.NotSignedIn),
)
def my_pledges(
    session: deps.SessionDep,
    *,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: deps.CurrentPeer,
    include_cancelled: bool = False,
) -> schemas.GivingOut:
    return schemas.GivingOut.of(
        giving.giving(
            session,
            peer,
            now=clock.now(),
            cadence=settings.payday_cadence,
            minimum=settings.minimum,
            include_cancelled=include_cancelled,
        )
    )


@router.get(
    "/pledges/{pledge_id}",
    summary="One of your pledges",
    responses=errors.responses(errors.NotSignedIn, errors.Forbidden, errors.NotFound),
)
def get_pledge(
    pledge_id: int,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: deps.CurrentPeer,
) -> schemas.PledgeOut:
    pledge = pledges.own_pledge(session, pledge_id, peer)
    return _pledge_out(session, pledge, clock=clock, settings=settings)


@router.patch(
    "/pledges/{pledge_id}",
    summary="Change one of your pledges; it counts from the next payday",
    responses=errors.responses(*_WRITE, errors.NotFound, *_BAD),
)
def update_pledge(
    pledge_id: int,
    *,
    body: schemas.PledgePatch,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: deps.ApiWriter,
) -> schemas.PledgeOut:
    pledge = pledges.own_pledge(session, pledge_id, peer)
    given = body.model_dump(exclude_unset=True)
    per = given.get("per", pledge.per)
    pledges.update_pledge(
        session,
        pledge,
        donor=peer,
        terms=pledges.PledgeTerms(
            kind=pledge.kind,
            amount=given.get("amount", pledge.amount),
            per=None if per == "once" else per,
            rate=given.get("rate", pledge.rate),
            cap=given.get("cap", pledge.cap),
            anonymous=given.get("anonymous", pledge.anonymous),
        ),
        now=clock.now(),
        cadence=settings.payday_cadence,
    )
    return _pledge_out(session, pledge, clock=clock, settings=settings)


@router.post(
    "/pledges/{pledge_id}/pause",
    summary="Leave a pledge out of paydays until resumed",
    responses=errors.responses(*_WRITE, errors.NotFound, errors.Conflict),
)
def pause_pledge(
    pledge_id: int,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: deps.ApiWriter,
) -> schemas.PledgeOut:
    pledge = pledges.pause_pledge(
        session, pledges.own_pledge(session, pledge_id, peer), donor=peer, now=clock.now()
    )
    return _pledge_out(session, pledge, clock=clock, settings=settings)


@router.post(
    "/pledges/{pledge_id}/resume",
    summary="Count a paused pledge again from the next payday",
    responses=errors.responses(*_WRITE, errors.NotFound, errors.Conflict),
)
def resume_pledge(
    pledge_id: int,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: deps.ApiWriter,
) -> schemas.PledgeOut:
    pledge = pledges.resume_pledge(
        session,
        pledges.own_pledge(session, pledge_id, peer),
        donor=peer,
        now=clock.now(),
        cadence=settings.payday_cadence,
    )
    return _pledge_out(session, pledge, clock=clock, settings=settings)


@router.post(
    "/pledges/{pledge_id}/cancel",
    summary="End a pledge for good; what earlier paydays charged stays charged",
    responses=errors.responses(*_WRITE, errors.NotFound, errors.Conflict),
)
def cancel_pledge(
    pledge_id: int,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: deps.ApiWriter,
) -> schemas.PledgeOut:
    pledge = pledges.cancel_pledge(
        session, pledges.own_pledge(session, pledge_id, peer), donor=peer, now=clock.now()
    )
    return _pledge_out(session, pledge, clock=clock, settings=settings)


# Paydays


@router.get("/paydays", summary="The latest paydays, newest first")
def list_paydays(
    session: deps.SessionDep, limit: Annotated[int, Query(ge=1, le=120)] = 24
) -> list[schemas.PaydayOut]:
    return [schemas.PaydayOut.of(p) for p in paydays.list_paydays(session, limit=limit)]


@router.get(
    "/paydays/preview",
    summary="What the next payday would decide if it ran now (nothing is written)",
    description="Clears the whole instance, so it takes a signed-in peer.",
    responses=errors.responses(errors.NotSignedIn),
)
def preview_payday(
    session: deps.SessionDep,
    *,
    clock: deps.ClockDep,
    settings: SettingsDep,
    _peer: deps.CurrentPeer,
) -> schemas.PaydayPreviewOut:
    result = paydays.preview_payday(session, now=clock.now(), settings=settings)
    return schemas.PaydayPreviewOut(
        period=schemas.PeriodOut.of(result.period), due=result.due, summary=result.plan.summary
    )


@router.get(
    "/paydays/{payday_id}",
    summary="One payday's results and its self-check",
    responses=errors.responses(errors.NotFound),
)
def get_payday(payday_id: int, session: deps.SessionDep) -> schemas.PaydayOut:
    return schemas.PaydayOut.of(paydays.get_payday(session, payday_id), report=True)
