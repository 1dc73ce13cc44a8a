"""A donor's pledges: changing one, pausing, resuming, cancelling, and the giving page."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from potluck import deps
from potluck.errors import InvalidInput
from potluck.pledges.deps import SettingsDep
from potluck.pledges.models import Pledge
from potluck.pledges.pages.common import (
    FORM_ERRORS,
    PledgeForm,
    Viewer,
    page,
    pledge_errors,
    pledge_terms,
    pledge_values,
    sign_in_first,
)
from potluck.pledges.service import common, forecast, giving, pledges
from potluck.pledges.settings import PledgeSettings
from potluck.web.pages import redirect

router = APIRouter(include_in_schema=False)


# A donor's pledges


def pledge_page(
    request: Request,
    session: Session,
    pledge: Pledge,
    *,
    now: datetime,
    settings: PledgeSettings,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    preview: forecast.PledgePreview | None = None,
    status_code: int = 200,
) -> Response:
    need = pledges.need_of(session, pledge)
    outlook = forecast.outlook(session, need, now=now, cadence=settings.payday_cadence)
    return page(
        request,
        "pledges/pledge.html",
        {
            "pledge": pledge,
            "need": need,
            "project": common.project_of(session, need),
            "outlook": outlook,
            "next_charge": outlook.charges.get(pledge.id, 0) if pledge.state == "active" else 0,
            "values": values or pledge_values(pledge),
            "errors": errors or {},
            "preview": preview,
            "kinds": [pledge.kind],
        },
        status_code=status_code,
    )


@router.get("/pledges/{pledge_id}", response_class=HTMLResponse)
def show_pledge(
    request: Request,
    pledge_id: int,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: Viewer,
) -> Response:
    if peer is None:
        return sign_in_first(f"/pledges/{pledge_id}")
    pledge = pledges.own_pledge(session, pledge_id, peer)
    return pledge_page(request, session, pledge, now=clock.now(), settings=settings)


@router.post("/pledges/{pledge_id}", response_class=HTMLResponse, dependencies=[deps.CsrfChecked])
def update_pledge(
    request: Request,
    *,
    pledge_id: int,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: Viewer,
    form: PledgeForm,
) -> Response:
    if peer is None:
        return sign_in_first(f"/pledges/{pledge_id}")
    pledge = pledges.own_pledge(session, pledge_id, peer)
    need = pledges.need_of(session, pledge)
    values = form.values(kind=pledge.kind)
    try:
        pledges.update_pledge(
            session,
            pledge,
            donor=peer,
            terms=pledge_terms(need, values),
            now=clock.now(),
            cadence=settings.payday_cadence,
        )
    except FORM_ERRORS as error:
        session.rollback()
        return pledge_page(
            request,
            session,
            pledges.own_pledge(session, pledge_id, peer),
            now=clock.now(),
            settings=settings,
            values=values,
            errors=pledge_errors(error, pledge.kind),
            status_code=error.status,
        )
    return redirect(f"/me/giving?done=pledge-saved#pledge-{pledge.id}")


@router.post(
    "/pledges/{pledge_id}/{action}", response_class=HTMLResponse, dependencies=[deps.CsrfChecked]
)
def change_pledge_state(
    pledge_id: int,
    action: str,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: Viewer,
) -> Response:
    if peer is None:
        return sign_in_first("/me/giving")
    pledge = pledges.own_pledge(session, pledge_id, peer)
    now = clock.now()
    if action == "pause":
        pledges.pause_pledge(session, pledge, donor=peer, now=now)
        done = "paused"
    elif action == "resume":
        pledges.resume_pledge(session, pledge, donor=peer, now=now, cadence=settings.payday_cadence)
        done = "resumed"
    elif action == "cancel":
        pledges.cancel_pledge(session, pledge, donor=peer, now=now)
        done = "cancelled"
    else:
        raise InvalidInput(f"'{action}' is not something a pledge can do.", field="action")
    return redirect(f"/me/giving?done={done}#pledge-{pledge.id}")


@router.get("/me/giving", response_class=HTMLResponse)
def my_giving(
    request: Request,
    session: deps.SessionDep,
    *,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: Viewer,
    cancelled: bool = False,
) -> Response:
    if peer is None:
        return sign_in_first("/me/giving")
    view = giving.giving(
        session,
        peer,
        now=clock.now(),
        cadence=settings.payday_cadence,
        minimum=settings.minimum,
        include_cancelled=cancelled,
    )
    return page(
        request,
        "pledges/giving.html",
        {
            "giving": view,
            "past": giving.past_charges(session, peer),
            "notices": pledges.notices(session, peer),
            "cancelled": cancelled,
        },
    )


@router.post(
    "/me/giving/notices/{notice_id}/dismiss",
    response_class=HTMLResponse,
    dependencies=[deps.CsrfChecked],
)
def dismiss_notice(
    notice_id: int,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    peer: Viewer,
) -> Response:
    if peer is None:
        return sign_in_first("/me/giving")
    pledges.dismiss_notice(session, peer, notice_id, now=clock.now())
    return redirect("/me/giving")
