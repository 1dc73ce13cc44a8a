"""A project's needs, the form that adds or changes one, and a need's page with its
coverage chart, its pledge form and the "what would I pay" preview."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from potluck import deps
from potluck.errors import Forbidden, InvalidInput
from potluck.people.models import Peer
from potluck.pledges.deps import SettingsDep, pledge_settings
from potluck.pledges.models import FUNDING_RULES, Need
from potluck.pledges.pages.common import (
    FORM_ERRORS,
    PledgeForm,
    PledgeQuery,
    Viewer,
    decimal,
    errors_of,
    is_steward,
    page,
    pledge_errors,
    pledge_terms,
    preview_for,
    sign_in_first,
)
from potluck.pledges.pages.pledges import pledge_page
from potluck.pledges.rules import ACCEPTED, FundingRule
from potluck.pledges.rules.chart import CoveragePoint, coverage_chart
from potluck.pledges.rules.schedule import latest_deadline
from potluck.pledges.service import common, forecast, needs, pledges
from potluck.pledges.service.common import parse_units
from potluck.pledges.settings import PledgeSettings
from potluck.projects import service as projects
from potluck.projects.models import Project
from potluck.web.pages import redirect

router = APIRouter(include_in_schema=False)


# A project's needs


@router.get("/projects/{slug}/needs", response_class=HTMLResponse)
def project_needs(
    request: Request,
    slug: str,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: Viewer,
) -> Response:
    project = projects.get_project(session, slug)
    rows = needs.project_needs(session, project, include_closed=True)
    outlooks = {
        need.id: forecast.outlook(session, need, now=clock.now(), cadence=settings.payday_cadence)
        for need in rows
        if need.closed_at is None
    }
    return page(
        request,
        "pledges/needs.html",
        {
            "project": project,
            "needs": rows,
            "outlooks": outlooks,
            "is_steward": is_steward(session, project, peer),
        },
    )


def need_form(
    request: Request,
    *,
    project: Project,
    need: Need | None,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    locked: bool = False,
) -> Response:
    settings: PledgeSettings = pledge_settings(request)
    now: datetime = request.app.state.clock.now()
    return page(
        request,
        "pledges/need_form.html",
        {
            "today": now.date().isoformat(),
            "latest_deadline": latest_deadline(now, settings.payday_cadence).date().isoformat(),
            "project": project,
            "need": need,
            "values": values,
            "errors": errors or {},
            "funding_rules": FUNDING_RULES,
            "locked": locked,
        },
        status_code=status_code,
    )


def _deadline(text: str) -> datetime | None:
    """A goal's deadline from a date field: the end of that day, UTC."""
    if not text.strip():
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError as error:
        raise InvalidInput(
            f"'{text}' is not a date such as 2026-03-31.", field="deadline"
        ) from error
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def _need_terms(values: dict[str, str]) -> needs.NeedTerms:
    """The need a steward typed, checked field by field so each error sits by its field."""
    currency = needs.currency(values.get("commodity", ""))
    goal = values.get("shape") == "goal"
    amount = parse_units(
        values.get("amount", ""),
        currency,
        field="amount",
        what="The target" if goal else "The cost",
    )
    deadline = _deadline(values.get("deadline", "")) if goal else None
    if goal and deadline is None:
        raise InvalidInput("A one-off goal needs a deadline.", field="deadline")
    return needs.NeedTerms(
        title=values.get("title", ""),
        commodity=currency.code,
        amount=amount,
        per=None if goal else (values.get("per") or "month"),
        deadline=deadline,
        funding=values.get("funding", "open"),
        description=values.get("description", ""),
    )


@router.get("/projects/{slug}/needs/new", response_class=HTMLResponse)
def new_need(
    request: Request,
    slug: str,
    *,
    session: deps.SessionDep,
    peer: Viewer,
) -> Response:
    if peer is None:
        return sign_in_first(f"/projects/{slug}/needs/new")
    project = projects.get_project(session, slug)
    if not is_steward(session, project, peer):
        raise Forbidden(f"Only stewards of {project.name} can add needs; you are not one of them.")
    values = {"shape": "cost", "commodity": "EUR", "per": "month", "funding": "open"}
    return need_form(request, project=project, need=None, values=values)


class NeedFields(BaseModel):
    """What the need form sends, as typed; checked by the needs service."""

    title: str = ""
    shape: str = "cost"
    commodity: str = "EUR"
    amount: str = ""
    per: str = "month"
    deadline: str = ""
    funding: str = "open"
    description: str = ""


NeedForm = Annotated[NeedFields, Form()]


@router.post(
    "/projects/{slug}/needs/new", response_class=HTMLResponse, dependencies=[deps.CsrfChecked]
)
def create_need(
    request: Request,
    *,
    slug: str,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: Viewer,
    form: NeedForm,
) -> Response:
    if peer is None:
        return sign_in_first(f"/projects/{slug}/needs/new")
    project = projects.get_project(session, slug)
    values = form.model_dump()
    try:
        need = needs.create_need(
            session,
            project,
            steward=peer,
            terms=_need_terms(values),
            now=clock.now(),
            cadence=settings.payday_cadence,
        )
    except FORM_ERRORS as error:
        session.rollback()
        return need_form(
            request,
            project=project,
            need=None,
            values=values,
            errors=errors_of(error),
            status_code=error.status,
        )
    return redirect(f"/needs/{need.id}?done=need-added")


@router.get("/needs/{need_id}/edit", response_class=HTMLResponse)
def edit_need(
    request: Request,
    need_id: int,
    *,
    session: deps.SessionDep,
    peer: Viewer,
) -> Response:
    if peer is None:
        return sign_in_first(f"/needs/{need_id}/edit")
    need = needs.get_need(session, need_id)
    project = common.project_of(session, need)
    if not is_steward(session, project, peer):
        raise Forbidden(f"Only stewards of {project.name} can edit needs; you are not one of them.")
    values = {
        "title": need.title,
        "shape": "goal" if need.per is None else "cost",
        "commodity": need.commodity,
        "amount": decimal(need.amount, need.commodity),
        "per": need.per or "month",
        "deadline": need.deadline.date().isoformat() if need.deadline else "",
        "funding": need.funding,
        "description": need.description,
    }
    return need_form(
        request,
        project=project,
        need=need,
        values=values,
        locked=needs.live_pledges(session, need) > 0,
    )


@router.post("/needs/{need_id}/edit", response_class=HTMLResponse, dependencies=[deps.CsrfChecked])
def update_need(
    request: Request,
    *,
    need_id: int,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: Viewer,
    form: NeedForm,
) -> Response:
    if peer is None:
        return sign_in_first(f"/needs/{need_id}/edit")
    need = needs.get_need(session, need_id)
    values = form.model_dump()
    try:
        terms = _need_terms(values)
        if (
            need.deadline is not None
            and terms.deadline is not None
            and terms.deadline.date() == need.deadline.date()
        ):
            # The form shows the day only; an unchanged day keeps the exact deadline.
            terms = needs.NeedTerms(**{**terms.__dict__, "deadline": need.deadline})
        needs.update_need(
            session,
            need,
            steward=peer,
            terms=terms,
            now=clock.now(),
            cadence=settings.payday_cadence,
        )
    except FORM_ERRORS as error:
        session.rollback()
        return need_form(
            request,
            project=common.project_of(session, need),
            need=need,
            values=values,
            errors=errors_of(error),
            status_code=error.status,
            locked=needs.live_pledges(session, need) > 0,
        )
    return redirect(f"/needs/{need.id}?done=need-saved")


@router.post("/needs/{need_id}/close", response_class=HTMLResponse, dependencies=[deps.CsrfChecked])
def close_need(
    need_id: int,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    peer: Viewer,
) -> Response:
    if peer is None:
        return sign_in_first(f"/needs/{need_id}")
    needs.close_need(session, needs.get_need(session, need_id), steward=peer, now=clock.now())
    return redirect(f"/needs/{need_id}?done=need-closed")


# A need's page


def _chart(session: Session, need: Need) -> tuple[Any, list[forecast.HistoryPoint]]:
    history = forecast.coverage_history(session, need.id)
    points = [
        CoveragePoint(
            label=point.period.start.strftime("%b %Y" if _monthly(point) else "%-d %b"),
            cost=point.coverage.cost,
            cleared=point.coverage.cleared,
        )
        for point in history
    ]
    return coverage_chart(points), history


def _monthly(point: forecast.HistoryPoint) -> bool:
    return point.period.start.day == 1 and (point.period.end - point.period.start).days >= 28


def need_page(
    request: Request,
    session: Session,
    need: Need,
    *,
    peer: Peer | None,
    now: datetime,
    settings: PledgeSettings,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    preview: forecast.PledgePreview | None = None,
    status_code: int = 200,
) -> Response:
    project = common.project_of(session, need)
    outlook = forecast.outlook(session, need, now=now, cadence=settings.payday_cadence)
    chart, history = _chart(session, need)
    own = None
    if peer is not None:
        own = next(
            (
                item.pledge
                for item in pledges.public_pledges(session, need)
                if item.pledge.donor_id == peer.id
            ),
            None,
        )
    return page(
        request,
        "pledges/need.html",
        {
            "project": project,
            "need": need,
            "outlook": outlook,
            "chart": chart,
            "history": history,
            "public": pledges.public_pledges(session, need),
            "kinds": [kind.kind.value for kind in ACCEPTED[FundingRule(need.funding)]],
            "values": values or {"kind": "", "per": "month"},
            "errors": errors or {},
            "preview": preview,
            "own": own,
            "is_steward": is_steward(session, project, peer),
            "deadline_passed": need.deadline is not None and need.deadline <= now,
        },
        status_code=status_code,
    )


@router.get("/needs/{need_id}", response_class=HTMLResponse)
def show_need(
    request: Request,
    need_id: int,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: Viewer,
) -> Response:
    need = needs.get_need(session, need_id)
    return need_page(request, session, need, peer=peer, now=clock.now(), settings=settings)


@router.post(
    "/needs/{need_id}/pledge", response_class=HTMLResponse, dependencies=[deps.CsrfChecked]
)
def make_pledge(
    request: Request,
    *,
    need_id: int,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: Viewer,
    form: PledgeForm,
) -> Response:
    if peer is None:
        return sign_in_first(f"/needs/{need_id}")
    need = needs.get_need(session, need_id)
    values = form.values()
    try:
        pledges.make_pledge(
            session,
            need,
            donor=peer,
            terms=pledge_terms(need, values),
            now=clock.now(),
            cadence=settings.payday_cadence,
        )
    except FORM_ERRORS as error:
        session.rollback()
        return need_page(
            request,
            session,
            need,
            peer=peer,
            now=clock.now(),
            settings=settings,
            values=values,
            errors=pledge_errors(error, form.kind),
            status_code=error.status,
        )
    return redirect(f"/needs/{need.id}?done=pledged#pledges")


@router.get("/needs/{need_id}/preview", response_class=HTMLResponse)
def preview(
    request: Request,
    need_id: int,
    *,
    session: deps.SessionDep,
    clock: deps.ClockDep,
    settings: SettingsDep,
    peer: Viewer,
    form: PledgeQuery,
    excluding: int | None = None,
) -> Response:
    """What a share or crowdmatch pledge would pay: a fragment for htmx while the peer types,
    the whole need page (or pledge page) for a browser without JavaScript."""
    need = needs.get_need(session, need_id)
    values = form.values()
    if excluding is not None and (
        peer is None or pledges.own_pledge(session, excluding, peer).need_id != need.id
    ):
        excluding = None
    result = None
    errors: dict[str, str] = {}
    try:
        result = preview_for(
            session, need, values, now=clock.now(), settings=settings, excluding=excluding
        )
    except InvalidInput as error:
        errors = pledge_errors(error, form.kind)
    partial = request.headers.get("hx-request") == "true"
    if partial:
        response: Response = page(
            request,
            "pledges/_preview.html",
            {"need": need, "preview": result, "preview_errors": errors, "values": values},
        )
    elif excluding is not None:
        assert peer is not None
        response = pledge_page(
            request,
            session,
            pledges.own_pledge(session, excluding, peer),
            now=clock.now(),
            settings=settings,
            values=values,
            errors=errors,
            preview=result,
        )
    else:
        response = need_page(
            request,
            session,
            need,
            peer=peer,
            now=clock.now(),
            settings=settings,
            values=values,
            errors=errors,
            preview=result,
        )
    response.headers["Vary"] = "HX-Request"
    return response
