"""The paydays: the list, and one payday's results with its self-check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from potluck import deps
from potluck.pledges.deps import SettingsDep
from potluck.pledges.pages.common import (
    Viewer,
    page,
)
from potluck.pledges.service import forecast, paydays
from potluck.projects.models import Project

router = APIRouter(include_in_schema=False)


# Paydays


@router.get("/paydays", response_class=HTMLResponse)
def list_paydays(
    request: Request,
    session: deps.SessionDep,
    *,
    clock: deps.ClockDep,
    settings: SettingsDep,
    _peer: Viewer,
) -> Response:
    return page(
        request,
        "pledges/paydays.html",
        {
            "paydays": paydays.list_paydays(session),
            "next_period": forecast.next_period(session, clock.now(), settings.payday_cadence),
        },
    )


@router.get("/paydays/{payday_id}", response_class=HTMLResponse)
def show_payday(
    request: Request,
    *,
    payday_id: int,
    session: deps.SessionDep,
    _peer: Viewer,
) -> Response:
    payday = paydays.get_payday(session, payday_id)
    ids = {entry["project_id"] for entry in payday.check_report}
    slugs = {
        project.id: project
        for project in session.scalars(select(Project).where(Project.id.in_(ids)))
    }
    return page(
        request,
        "pledges/payday.html",
        {
            "payday": payday,
            "uncovered": paydays.uncovered_needs(session, payday),
            "projects": slugs,
        },
    )
